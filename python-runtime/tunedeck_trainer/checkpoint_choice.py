"""Which checkpoint a job resumes (resumeFrom) or starts from (initFrom), and whether it fits this
job: the same base model, LoRA shape and method. Apart from checkpoint.py because it is about the
job's config rather than the folder format, and the runner calls it before importing torch, so a
wrong choice fails in a moment with a message naming the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .checkpoint import checkpoints_dir, list_checkpoints, read_state
from .config import JobConfig, resolve_model_path, resolve_path
from .errors import TrainerError


def check_compatible(state: dict[str, Any], config: JobConfig, job_dir: Path, field: str, where: Path) -> None:
    """Refuses a checkpoint trained on another base model or with another LoRA shape."""
    base = str(resolve_model_path(job_dir, config.model.path).resolve())
    # An adapter imported into the library names its base by hub id, as the job may too.
    if state.get("baseModel") not in (base, config.model.path):
        raise TrainerError(
            f"model.path: checkpoint {where} was trained on {state.get('baseModel')}, this job uses {base}; "
            f"use the same model or another checkpoint ({field})",
            "model.path",
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
            f"{folder} to begin from its adapter",
            "resumeFrom",
        )
    if not isinstance(state.get("position"), int) or not (folder / "rng.pt").is_file():
        raise TrainerError(
            f"resumeFrom: checkpoint {folder.name} was written by an earlier version of the trainer and cannot be "
            f"resumed exactly; start afresh with initFrom {folder} to begin from its adapter",
            "resumeFrom",
        )


def find_init(config: JobConfig, job_dir: Path) -> Path | None:
    """The checkpoint folder named by initFrom, checked against this config."""
    if config.init_from is None:
        if config.init_optimizer:
            raise TrainerError(
                "initOptimizer: continuing an optimizer needs initFrom, the checkpoint it comes from; "
                "set initFrom or set initOptimizer to false",
                "initOptimizer",
            )
        return None
    folder = resolve_path(job_dir, config.init_from)
    state = read_state(folder)
    if state is None:
        raise TrainerError(f"initFrom: {folder} is not a complete checkpoint folder (it needs state.json)", "initFrom")
    check_compatible(state, config, job_dir, "initFrom", folder)
    return folder
