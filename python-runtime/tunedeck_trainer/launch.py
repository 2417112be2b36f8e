"""Starting a job on several ranks: this process becomes torchrun's launcher, in the host's pty.

    python -m tunedeck_trainer train --job-dir DIR     (training.gpus asks for more than one rank)
      -> torch.distributed.run --standalone --nproc-per-node N -m tunedeck_trainer train --job-dir DIR

The host starts every job the same way; here training.gpus decides: "all" is every CUDA GPU (one
process on a machine without one), a number N is the first N GPUs (N gloo ranks on CPU, which
the tests use), a list is those GPUs (CUDA_VISIBLE_DEVICES). The workers share this pty: rank 0
prints and reads the control commands from it; a Ctrl-C or SIGTERM here reaches torchrun, which
passes it on to every rank (runner.py, control.py).

Afterwards this process exits with the code of the final event rank 0 wrote. When there is none,
a rank died (killed, crashed): torchrun has stopped the others, and this process writes one
failed event naming that rank and the checkpoint to resume from.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from .config import load_config
from .errors import TrainerError
from .protocol import EXIT_CODES, EventWriter


def rank_count(gpus: Any, cuda_devices: int) -> tuple[int, str | None]:
    """(ranks, CUDA_VISIBLE_DEVICES or None) for training.gpus on a machine with ``cuda_devices`` GPUs."""
    if gpus == "all":
        return max(1, cuda_devices), None
    if isinstance(gpus, int):
        if cuda_devices and gpus > cuda_devices:
            raise TrainerError(
                f"training.gpus: the job asks for {gpus} GPUs and this machine has {cuda_devices}; "
                f'set training.gpus to {cuda_devices} or "all"',
                "training.gpus",
            )
        return gpus, None
    devices = list(gpus)
    if not cuda_devices:
        raise TrainerError(
            f"training.gpus: {devices} names GPUs and this machine has none that CUDA sees; set "
            'training.gpus to "all" (or a number of CPU ranks)',
            "training.gpus",
        )
    missing = [device for device in devices if device >= cuda_devices]
    if missing or len(set(devices)) != len(devices):
        raise TrainerError(f"training.gpus: {devices} must name different GPUs among 0 to {cuda_devices - 1}", "training.gpus")
    return len(devices), ",".join(str(device) for device in devices)


def launch_if_needed(job_dir: Path) -> int | None:
    """Runs the job through torchrun when it asks for several ranks; None when it runs in this process
    (one rank, a worker torchrun started, or a config or path problem that run_job reports)."""
    if "LOCAL_RANK" in os.environ:
        return None
    try:
        config = load_config(job_dir / "config.json")
        if config.training.gpus in ("all", 1) and not _has_cuda_driver():
            return None  # the common case decided without importing torch
        if not config.model.selftest:
            from .runner import check_paths

            check_paths(config, job_dir)  # a path problem: run_job reports it, before torch loads
        import torch

        cuda_devices = torch.cuda.device_count() if torch.cuda.is_available() else 0
        ranks, visible = rank_count(config.training.gpus, cuda_devices)
        if ranks > 1:
            from .sharding import check

            check(config, cuda=cuda_devices > 0)  # QLoRA + FSDP on CPU: refused before any rank starts
    except TrainerError as error:
        if error.field not in ("training.gpus", "training.sharding"):
            return None
        events = EventWriter(job_dir / "events.jsonl")
        events.emit("failed", error=str(error), traceback=None, field=error.field)
        events.close()
        print(f"[tunedeck] failed: {error}", file=sys.stderr, flush=True)
        return EXIT_CODES["failed"]
    except Exception:
        return None
    if ranks == 1:
        return None
    return _launch(job_dir, config, ranks, visible)


def _has_cuda_driver() -> bool:
    # Linux and Windows drivers; elsewhere (macOS) no CUDA at all.
    return os.path.exists("/proc/driver/nvidia") or (os.name == "nt" and bool(os.environ.get("CUDA_PATH")))


def _launch(job_dir: Path, config: Any, ranks: int, visible: str | None) -> int:
    from torch.distributed import run as torchrun
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError

    from .checkpoint import list_checkpoints, remove_partial
    from .control import Control
    from .distributed import PEER_LOST_EXIT
    from .runner import prepare_selftest_model

    events = EventWriter(job_dir / "events.jsonl")
    first_seq = events.seq
    prepare_selftest_model(config, job_dir, Control(events), events)  # once, before the ranks race for it
    events.close()
    for name in remove_partial(job_dir):
        print(f"[tunedeck] removed {name}, left by an interrupted checkpoint save", flush=True)
    if visible is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = visible
    os.environ.setdefault("OMP_NUM_THREADS", "1")  # torchrun's default with several ranks, without its warning
    training = config.training
    print(
        f"[tunedeck] starting {ranks} ranks through torchrun: global batch {training.batch_size} x {ranks} x "
        f"{training.gradient_accumulation} = {training.batch_size * ranks * training.gradient_accumulation}",
        flush=True,
    )
    arguments = [
        "--standalone",
        f"--nproc-per-node={ranks}",
        "--monitor-interval=0.5",
        "-m",
        "tunedeck_trainer",
        "train",
        "--job-dir",
        str(job_dir),
    ]
    died = None
    try:
        torchrun.run(torchrun.parse_args(arguments))
    except ChildFailedError as error:
        # The rank that died first, not the ranks whose collectives then failed or that torchrun stopped.
        failures = sorted(error.failures.items(), key=lambda item: (item[1].exitcode == PEER_LOST_EXIT, item[1].timestamp))
        died = failures[0] if failures else None
    except BaseException as error:  # a signal torchrun turned into an exception after stopping the ranks
        print(f"[tunedeck] torchrun stopped: {type(error).__name__}: {error}", file=sys.stderr, flush=True)
    final = _final_event(job_dir, first_seq)
    if final is not None:
        return EXIT_CODES[final["type"]]
    if died is None:
        how = "the ranks stopped without a result"
    else:
        rank, failure = died
        signal_name = failure.signal_name() if failure.exitcode < 0 else None
        how = (
            f"rank {rank} was killed ({signal_name})"
            if signal_name
            else f"rank {rank} exited with code {failure.exitcode} (its error is in the terminal above)"
        )
    saved = list_checkpoints(job_dir)
    where = (
        f"resume to continue from checkpoint {saved[-1][0].name} (step {saved[-1][1].get('step')})"
        if saved
        else "it saved no checkpoint, so it starts again from step 0"
    )
    message = f"{how}; torchrun stopped the other ranks, so the job ended here: {where}"
    events = EventWriter(job_dir / "events.jsonl")
    events.emit("failed", error=message, traceback=None, field=None)
    events.close()
    print(f"[tunedeck] failed: {message}", file=sys.stderr, flush=True)
    return EXIT_CODES["failed"]


def _final_event(job_dir: Path, after_seq: int) -> dict[str, Any] | None:
    """The final event rank 0 wrote after seq ``after_seq``, if any."""
    import json

    from .protocol import FINAL_TYPES

    try:
        lines = (job_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in reversed(lines):
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or event.get("seq", 0) <= after_seq:
            return None
        if event.get("type") in FINAL_TYPES:
            return event
    return None
