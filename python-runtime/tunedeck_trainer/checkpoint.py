"""Checkpoints: DIR/checkpoints/<name>/ with everything needed to continue exactly.

One format for every method. A checkpoint folder holds the trained adapter only
(adapter_model.safetensors + adapter_config.json; never DPO's or KTO's frozen reference),
optimizer.pt, scheduler.pt, scaler.pt (fp16 only), rng.pt and state.json (step, epoch and
position in the epoch's order, method, micro-batch in use). Weights are read with safetensors
and the .pt files with ``torch.load(weights_only=True)`` only: a checkpoint folder is data, and
a pickled object in it is refused rather than run. It is written into
``checkpoints/.tmp-<name>/`` and renamed into place only when whole; state.json with
``"complete": true`` is written last. A loader accepts only a folder whose name does not start
with "." and whose state.json says complete, so a process killed mid-save leaves nothing that
looks usable.

Imports torch only inside the functions that need it, so the runner can check resumeFrom and
initFrom before paying for the import.

Test hook: TUNEDECK_CHECKPOINT_SAVE_DELAY (test_hooks.py) sleeps inside the save, after the
weights are written and before state.json, so a test can kill the process mid-save.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from .config import JobConfig, resolve_model_path, resolve_path
from .errors import TrainerError

STATE_FILE = "state.json"
TRAINED_ADAPTER = "default"  # peft's name for the adapter a job trains (forward.POLICY_ADAPTER)


def checkpoints_dir(job_dir: Path) -> Path:
    """Where a job's checkpoints live."""
    return job_dir / "checkpoints"


def read_state(folder: Path) -> dict[str, Any] | None:
    """The state.json of a complete checkpoint folder, or None when the folder is not one."""
    if folder.name.startswith(".") or not folder.is_dir():
        return None
    try:
        state = json.loads((folder / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if isinstance(state, dict) and state.get("complete") is True else None


def list_checkpoints(job_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every complete checkpoint of a job, oldest step first."""
    root = checkpoints_dir(job_dir)
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else []:
        state = read_state(folder)
        if state is not None:
            found.append((folder, state))
    return sorted(found, key=lambda item: (item[1].get("step", 0), item[0].name))


def rng_state() -> dict[str, Any]:
    """Every random stream the training loop draws from."""
    import numpy as np
    import torch

    kind, keys, position, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "python": random.getstate(),
        # As a tensor and plain numbers, so that torch.load(weights_only=True) reads it back.
        "numpy": (kind, torch.from_numpy(keys.astype(np.int64)), int(position), int(has_gauss), float(cached)),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    """Puts back what ``rng_state`` captured."""
    import numpy as np
    import torch

    random.setstate(state["python"])
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def folder_bytes(folder: Path) -> int:
    """Total size of the files under ``folder``."""
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())


def temporary_folder(job_dir: Path, name: str) -> Path:
    """``checkpoints/.tmp-<name>``, where checkpoint ``name`` is assembled; cleared, not created."""
    root = checkpoints_dir(job_dir)
    root.mkdir(parents=True, exist_ok=True)
    temporary = root / f".tmp-{name}"
    if temporary.exists():
        shutil.rmtree(temporary)  # left by a process killed mid-save
    return temporary


def commit_checkpoint(temporary: Path, name: str, state: dict[str, Any]) -> tuple[Path, int]:
    """Completes a checkpoint assembled in ``temporary`` (see ``temporary_folder``): writes state.json
    with ``complete: true`` last, syncs every file to disk and renames the folder to ``name``.
    Returns the folder and its size in bytes.
    """
    (temporary / STATE_FILE).write_text(json.dumps({**state, "complete": True}, indent=2), encoding="utf-8")
    _fsync_tree(temporary)
    final = temporary.parent / name
    _replace_folder(temporary, final)
    return final, folder_bytes(final)


def _replace_folder(temporary: Path, final: Path) -> None:
    """Renames ``temporary`` to ``final``; an existing ``final`` is moved aside first and deleted after,
    so that at every moment either the old or the new folder is the complete one."""
    retired = None
    if final.exists():
        retired = final.parent / f".old-{final.name}-{uuid.uuid4().hex[:8]}"
        os.rename(final, retired)
    os.rename(temporary, final)
    if retired is not None:
        shutil.rmtree(retired, ignore_errors=True)


def publish_adapter(job_dir: Path, model: Any, tokenizer: Any, **save_options: Any) -> Path:
    """Writes the adapter and tokenizer to DIR/adapter through DIR/adapter.tmp, renamed when whole.

    Only the trained adapter is written (never a frozen reference adapter). A process killed
    mid-save leaves the previous adapter, or none, never a half-written one.
    """
    final = job_dir / "adapter"
    temporary = job_dir / "adapter.tmp"
    if temporary.exists():
        shutil.rmtree(temporary)
    model.save_pretrained(temporary, selected_adapters=[TRAINED_ADAPTER], **save_options)
    tokenizer.save_pretrained(temporary)
    _fsync_tree(temporary)
    _replace_folder(temporary, final)
    return final


def save_checkpoint(
    job_dir: Path,
    name: str,
    *,
    model: Any,
    optimizer: Any,
    scheduler: Any,
    scaler: Any,
    state: dict[str, Any],
    delay: float = 0.0,
    extra: dict[str, Any] | None = None,
) -> tuple[Path, int]:
    """Writes checkpoint ``name`` atomically and returns its folder and size in bytes.

    ``delay``: TUNEDECK_CHECKPOINT_SAVE_DELAY's seconds, slept before state.json is written.
    ``extra``: more files of tensors and plain values (the other ranks' rng-rankN.pt).
    """
    import torch

    temporary = temporary_folder(job_dir, name)
    temporary.mkdir()
    model.save_pretrained(temporary, selected_adapters=[TRAINED_ADAPTER])
    torch.save(optimizer.state_dict(), temporary / "optimizer.pt")
    torch.save(scheduler.state_dict(), temporary / "scheduler.pt")
    if scaler is not None:
        torch.save(scaler.state_dict(), temporary / "scaler.pt")
    torch.save(rng_state(), temporary / "rng.pt")
    for file, value in (extra or {}).items():
        torch.save(value, temporary / file)
    if delay > 0:
        print(f"[tunedeck] test hook: sleeping {delay:g}s inside the checkpoint save", flush=True)
        time.sleep(delay)
    return commit_checkpoint(temporary, name, state)


def remove_partial(job_dir: Path) -> list[str]:
    """Deletes what killed saves left behind (.tmp-* and .old-* folders); returns their names."""
    root = checkpoints_dir(job_dir)
    leftovers = [folder for folder in root.iterdir() if folder.name.startswith((".tmp-", ".old-"))] if root.is_dir() else []
    for folder in leftovers:
        shutil.rmtree(folder, ignore_errors=True)
    return [folder.name for folder in leftovers]


def prune_periodic(job_dir: Path, keep: int) -> list[str]:
    """Deletes all but the newest ``keep`` periodic checkpoints; returns the names deleted."""
    periodic = [(folder, state) for folder, state in list_checkpoints(job_dir) if state.get("kind") == "periodic"]
    doomed = periodic[:-keep] if keep > 0 else periodic
    for folder, _ in doomed:
        # Rename first so a half-deleted folder never looks like a checkpoint.
        trash = folder.parent / f".old-{folder.name}-{uuid.uuid4().hex[:8]}"
        os.rename(folder, trash)
        shutil.rmtree(trash, ignore_errors=True)
    return [folder.name for folder, _ in doomed]


def load_state_file(path: Path, field: str = "resumeFrom") -> Any:
    """A .pt file of tensors and plain values, read with ``weights_only=True``; anything else (a
    pickled object that would run code when loaded) fails naming ``field``."""
    import pickle

    import torch

    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise TrainerError(
            f"{field}: {path} holds pickled objects besides tensors and plain values, so it is not loaded "
            "(checkpoint state is read with torch.load(weights_only=True) only, as loading it otherwise could run "
            "code from the file); choose another checkpoint", field,
        ) from error
    except (RuntimeError, EOFError, OSError) as error:
        raise TrainerError(f"{field}: cannot read {path} ({error}); the checkpoint is damaged, choose another one",
                           field) from error


def load_training_state(folder: Path, optimizer: Any, scheduler: Any, scaler: Any) -> dict[str, Any]:
    """Loads optimizer, scheduler and scaler state; returns the saved RNG state to restore later."""
    optimizer.load_state_dict(load_state_file(folder / "optimizer.pt"))
    scheduler.load_state_dict(load_state_file(folder / "scheduler.pt"))
    if scaler is not None and (folder / "scaler.pt").exists():
        scaler.load_state_dict(load_state_file(folder / "scaler.pt"))
    return load_state_file(folder / "rng.pt")


def continue_optimizer(folder: Path, optimizer: Any) -> int:
    """Loads the optimizer state of checkpoint ``folder`` into this job's fresh optimizer (initOptimizer).

    AdamW's moments and step counts come from the checkpoint; every hyperparameter of the param
    groups (learning rate, betas, weight decay, ...) stays this job's own, so the new schedule
    applies from the first step. Returns how many parameters carried state over.
    """
    saved = load_state_file(folder / "optimizer.pt", "initOptimizer")
    ours = [len(group["params"]) for group in optimizer.param_groups]
    theirs = [len(group["params"]) for group in saved.get("param_groups", [])]
    if ours != theirs:
        raise TrainerError(
            f"initOptimizer: the optimizer of {folder} holds {sum(theirs)} parameters and this job trains {sum(ours)}; "
            "its adapter must have the same shape and method (DoRA adds parameters): set initOptimizer to false "
            "to start a fresh optimizer", "initOptimizer",
        )
    fresh = [{key: value for key, value in group.items() if key != "params"} for group in optimizer.param_groups]
    optimizer.load_state_dict(saved)
    for group, settings in zip(optimizer.param_groups, fresh, strict=True):
        group.update(settings)
    return len(optimizer.state)


def check_compatible(state: dict[str, Any], config: JobConfig, job_dir: Path, field: str, where: Path) -> None:
    """Refuses a checkpoint trained on another base model or with another LoRA shape."""
    base = str(resolve_model_path(job_dir, config.model.path).resolve())
    # An adapter imported into the library names its base by hub id, as the job may too.
    if state.get("baseModel") not in (base, config.model.path):
        raise TrainerError(
            f"model.path: checkpoint {where} was trained on {state.get('baseModel')}, this job uses {base}; "
            f"use the same model or another checkpoint ({field})", "model.path",
        )
    if state.get("loraRank") != config.lora.rank:
        raise TrainerError(
            f"lora.rank: checkpoint {where} has LoRA rank {state.get('loraRank')}, this job asks for "
            f"{config.lora.rank}; set lora.rank to {state.get('loraRank')} or choose another checkpoint ({field})",
            "lora.rank",
        )
    wanted = config.lora.target_modules
    saved = state.get("targetModules")
    if (saved if isinstance(saved, str) else sorted(saved or [])) != (wanted if isinstance(wanted, str) else sorted(wanted)):
        raise TrainerError(
            f"lora.targetModules: checkpoint {where} adapts {saved}, this job asks for "
            f"{wanted if isinstance(wanted, str) else list(wanted)}; make them match ({field})",
            "lora.targetModules",
        )


def find_resume(config: JobConfig, job_dir: Path) -> tuple[Path, dict[str, Any]] | None:
    """The checkpoint folder and state named by resumeFrom, checked against this config."""
    name = config.resume_from
    if name is None:
        return None
    folder = checkpoints_dir(job_dir) / name
    state = read_state(folder)
    if state is None:
        available = ", ".join(found.name for found, _ in list_checkpoints(job_dir)) or "none"
        raise TrainerError(
            f"resumeFrom: no complete checkpoint named {name!r} in {folder.parent} (available: {available})",
            "resumeFrom",
        )
    check_compatible(state, config, job_dir, "resumeFrom", folder)
    return folder, state


def checkpoint_method(state: dict[str, Any]) -> str:
    """The method that wrote a checkpoint (older SFT checkpoints carry no ``method``)."""
    method = state.get("method")
    return method if isinstance(method, str) else "sft"


def check_resume_method(config: JobConfig, job_dir: Path) -> None:
    """Fails naming resumeFrom when the checkpoint was written by another method, or in the format
    of the earlier DPO trainer (HF Trainer's, without the position in the data order)."""
    found = find_resume(config, job_dir)
    if found is None:
        return
    folder, state = found
    written = checkpoint_method(state)
    if written != config.method:
        raise TrainerError(
            f'resumeFrom: checkpoint {folder.name} was written by a "{written}" job and this job\'s method is '
            f'"{config.method}"; resume from a {config.method} checkpoint, or start afresh with initFrom '
            f"{folder} to begin from its adapter", "resumeFrom",
        )
    if not isinstance(state.get("position"), int) or not (folder / "rng.pt").is_file():
        raise TrainerError(
            f"resumeFrom: checkpoint {folder.name} was written by an earlier version of the trainer and cannot be "
            f"resumed exactly; start afresh with initFrom {folder} to begin from its adapter", "resumeFrom",
        )


def find_init(config: JobConfig, job_dir: Path) -> Path | None:
    """The checkpoint folder named by initFrom, checked against this config."""
    if config.init_from is None:
        if config.init_optimizer:
            raise TrainerError("initOptimizer: continuing an optimizer needs initFrom, the checkpoint it comes from; "
                               "set initFrom or set initOptimizer to false", "initOptimizer")
        return None
    folder = resolve_path(job_dir, config.init_from)
    state = read_state(folder)
    if state is None:
        raise TrainerError(f"initFrom: {folder} is not a complete checkpoint folder (it needs state.json)", "initFrom")
    check_compatible(state, config, job_dir, "initFrom", folder)
    return folder
