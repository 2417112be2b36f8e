"""Runs one job folder end to end and turns every ending into exactly one final event.

    python -m tunedeck_trainer train --job-dir DIR

Exit codes agree with the last event: 0 completed, 1 failed, 3 paused, 4 cancelled.
Config and path problems are reported before torch is imported, in well under a second.
"""

from __future__ import annotations

import os
import sys
import traceback
from pathlib import Path
from typing import Any

from .checkpoint import remove_partial
from .checkpoint_choice import check_resume_method, find_init, find_resume
from .config import HUB_ID, ConfigError, JobConfig, load_config, resolve_model_path, resolve_path
from .control import Control
from .errors import Cancelled, Paused, TrainerError
from .experiment_logs import attach as attach_logs
from .protocol import EXIT_CODES, EventWriter


def check_paths(config: JobConfig, job_dir: Path) -> None:
    """Fails naming model.path or dataset.path when the folder or file is not there."""
    model = resolve_model_path(job_dir, config.model.path)
    if not model.is_dir():
        if HUB_ID.match(config.model.path):
            # Name the hub id, not the folder of that name inside the job's directory it also tried.
            from .models.catalog import hub_cache_dir

            raise TrainerError(
                f"model.path: the hub id {config.model.path} is not in the Hugging Face cache ({hub_cache_dir()}); "
                "download it on the Models page first (training never downloads), or check the spelling (owner/name)",
                "model.path",
            )
        raise TrainerError(f"model.path: no model folder at {model}; choose a folder that holds config.json", "model.path")
    if not (model / "config.json").is_file():
        raise TrainerError(f"model.path: {model} has no config.json; choose a Hugging Face model folder", "model.path")
    dataset = resolve_path(job_dir, config.dataset.path)
    if not dataset.exists():
        raise TrainerError(f"dataset.path: no file at {dataset}; choose a dataset file", "dataset.path")
    if dataset.is_dir():
        # A folder written by datasets' save_to_disk; the loader says what is wrong with it.
        return
    try:
        with open(dataset, "rb") as handle:
            handle.read(1)
    except OSError as error:
        raise TrainerError(f"dataset.path: cannot read {dataset} ({error.strerror}); check its permissions", "dataset.path") from error


def prepare_selftest_model(config: JobConfig, job_dir: Path, control: Control, events: EventWriter) -> None:
    """Builds the tiny self-test model at model.path when the config asks for it and it is missing."""
    path = resolve_model_path(job_dir, config.model.path)
    if not config.model.selftest or (path / "config.json").exists():
        return
    control.phase = "loading_model"
    events.emit("heartbeat", phase="loading_model")
    print(f"[tunedeck] building the tiny self-test model at {path}", flush=True)
    from .tiny_model import build_tiny_model

    build_tiny_model(path)


def _fail(events: EventWriter, message: str, field: str | None, trace: str | None) -> int:
    print(f"[tunedeck] failed: {message}", file=sys.stderr, flush=True)
    if trace:
        print(trace, file=sys.stderr, flush=True)
    events.emit("failed", error=message, traceback=trace, field=field)
    return EXIT_CODES["failed"]


def run_job(job_dir: str | Path, *, read_stdin: bool = True, handle_signals: bool = True) -> int:
    """Trains the job in ``job_dir``; returns the process exit code."""
    job_dir = Path(job_dir).resolve()
    if not job_dir.is_dir():
        print(f"[tunedeck] --job-dir {job_dir} is not a folder", file=sys.stderr)
        return EXIT_CODES["failed"]
    if "WORLD_SIZE" in os.environ and os.environ["WORLD_SIZE"] != "1":
        from .distributed import start

        return _run_rank(job_dir, start(), read_stdin=read_stdin, handle_signals=handle_signals)
    events = EventWriter(job_dir / "events.jsonl")
    logs = attach_logs(events, job_dir)
    control = Control(events)
    control.start(read_stdin=read_stdin, handle_signals=handle_signals)
    try:
        code = _run(job_dir, events, control)
    finally:
        control.restore_terminal()
    final = events.final
    events.close()
    if logs is not None:
        logs.close()
    return EXIT_CODES[final["type"]] if final else code


def _run_rank(job_dir: Path, ranks: Any, *, read_stdin: bool, handle_signals: bool) -> int:
    """One of several ranks (torchrun's worker): rank 0 writes events and reads control, the others
    stay quiet. An ending every rank reached together (completed, paused, cancelled) exits 0 after
    all ranks met, so torchrun stops none of them early; events.jsonl says which ending it was and
    the launcher (launch.py) exits with its code."""
    from .distributed import PEER_LOST_EXIT, SilentEvents

    events: Any = EventWriter(job_dir / "events.jsonl") if ranks.main else SilentEvents()
    if not ranks.main:
        sys.stdout = open(os.devnull, "w")  # one terminal: rank 0 speaks; errors still reach stderr
    control = Control(events)
    control.start(read_stdin=read_stdin and ranks.main, handle_signals=handle_signals)
    try:
        code = _run(job_dir, events, control, ranks)
    finally:
        control.restore_terminal()
    final = events.final
    events.close()
    if code == PEER_LOST_EXIT:
        return code
    if final is not None and final["type"] != "failed" and ranks.finish():
        return 0
    return EXIT_CODES[final["type"]] if final else code


def _run(job_dir: Path, events: EventWriter, control: Control, ranks: Any = None) -> int:
    from .distributed import PEER_LOST_EXIT, SINGLE, PeerLost

    ranks = ranks or SINGLE
    recipe = None
    try:
        config = load_config(job_dir / "config.json")
        if ranks.main:  # once: the other ranks wait for it
            prepare_selftest_model(config, job_dir, control, events)
        ranks.finish()
        check_paths(config, job_dir)
        find_resume(config, job_dir)
        check_resume_method(config, job_dir)
        find_init(config, job_dir)
        for name in remove_partial(job_dir) if ranks.main else []:
            print(f"[tunedeck] removed {name}, left by an interrupted checkpoint save", flush=True)
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        # Imports torch: after the cheap checks.
        from .loop import Training
        from .test_hooks import cap_cuda_memory, read_hooks

        cap_cuda_memory(read_hooks())
        recipe = Training(config, job_dir, events, control, ranks)
        recipe.setup()
        recipe.train()
        adapter = recipe.save_adapter()
        events.emit("completed", step=recipe.step, adapterPath=str(adapter))
        print(f"[tunedeck] completed {recipe.step} steps; adapter saved to {adapter}", flush=True)
        return EXIT_CODES["completed"]
    except (ConfigError, TrainerError) as error:
        return _fail(events, str(error), error.field, None)
    except Paused as paused:
        events.emit("paused", step=paused.step, checkpoint=paused.name)
        print(f"[tunedeck] paused at step {paused.step}; resume from checkpoint {paused.name}", flush=True)
        return EXIT_CODES["paused"]
    except PeerLost as lost:
        # Another rank died: no event here; the launcher names the rank that died (launch.py).
        print(f"[tunedeck] rank {ranks.rank}: another rank of the job is gone ({lost})", file=sys.stderr, flush=True)
        return PEER_LOST_EXIT
    except (Cancelled, KeyboardInterrupt):
        step = recipe.step if recipe is not None else control.step
        events.emit("cancelled", step=step)
        print(f"[tunedeck] cancelled at step {step}", flush=True)
        return EXIT_CODES["cancelled"]
    except BaseException as error:  # anything else is a bug or an environment problem: keep the traceback
        field = getattr(error, "field", None)
        return _fail(events, f"{type(error).__name__}: {error}", field if isinstance(field, str) else None, traceback.format_exc())
