"""Reading a checkpoint's training state back: optimizer, scheduler, scaler and random streams, and
initOptimizer's carried-over AdamW moments. Apart from checkpoint.py (which writes the folders)
because loading is where a checkpoint folder is untrusted input: every .pt file is read with
``torch.load(weights_only=True)``, and a pickled object is refused naming the field that chose it.

Imports torch only inside the functions that need it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .errors import TrainerError


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
            "code from the file); choose another checkpoint",
            field,
        ) from error
    except (RuntimeError, EOFError, OSError) as error:
        raise TrainerError(f"{field}: cannot read {path} ({error}); the checkpoint is damaged, choose another one", field) from error


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
            "to start a fresh optimizer",
            "initOptimizer",
        )
    fresh = [{key: value for key, value in group.items() if key != "params"} for group in optimizer.param_groups]
    optimizer.load_state_dict(saved)
    for group, settings in zip(optimizer.param_groups, fresh, strict=True):
        group.update(settings)
    return len(optimizer.state)
