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

Reading a checkpoint back is checkpoint_loading.py (tensors, safely) and which checkpoint
resumeFrom or initFrom may name is checkpoint_choice.py; the random streams saved in rng.pt are
random_streams.py. Imports torch only inside the functions that need it, so the runner can list
and clean checkpoints before paying for the import.

Test hook: TUNEDECK_CHECKPOINT_SAVE_DELAY (test_hooks.py) sleeps inside the save, after the
weights are written and before state.json, so a test can kill the process mid-save.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from .random_streams import rng_state

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
