"""DPO checkpoints: HF Trainer's own checkpoint folder, published as DIR/checkpoints/<name>/.

TRL's DPOTrainer (an HF Trainer) writes ``checkpoint-N`` (adapter, optimizer.pt, scheduler.pt,
rng_state.pth, trainer_state.json) into ``checkpoints/.tmp-_dpo/``, a hidden folder the
checkpoint listing ignores and ``checkpoint.remove_partial`` clears. ``publish`` adds the
state.json the host reads (``complete: true`` written last, ``method: "dpo"``) and renames the
folder into place, so a killed save never leaves anything that looks usable.

Also the torch-free check, run before anything heavy, that a job resumes only from a
checkpoint its own method wrote (an SFT checkpoint holds another optimizer and loop state).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from .checkpoint import checkpoints_dir, commit_checkpoint, find_resume, temporary_folder
from .config import JobConfig
from .errors import TrainerError

# Checkpoint names start with a letter or digit, so no checkpoint can take this folder's name.
TRAINER_OUTPUT = ".tmp-_dpo"
TRAINER_STATE = "trainer_state.json"


def trainer_output(job_dir: Path) -> Path:
    """Where HF Trainer writes its checkpoint-N folders before they are published."""
    return checkpoints_dir(job_dir) / TRAINER_OUTPUT


def checkpoint_method(state: dict[str, Any]) -> str:
    """The method that wrote a checkpoint (older SFT checkpoints carry no ``method``)."""
    method = state.get("method")
    return method if isinstance(method, str) else "sft"


def check_resume_method(config: JobConfig, job_dir: Path) -> None:
    """Fails naming resumeFrom when the checkpoint was written by the other method."""
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
    if written == "dpo" and not (folder / TRAINER_STATE).is_file():
        raise TrainerError(f"resumeFrom: {folder} has no {TRAINER_STATE}; choose another checkpoint", "resumeFrom")


def publish(job_dir: Path, source: Path, name: str, state: dict[str, Any], *, keep_source: bool) -> tuple[Path, int]:
    """Makes ``source`` (an HF checkpoint folder) the complete checkpoint ``name``; returns folder and bytes.

    With ``keep_source`` the folder is copied first (several names saved after the same step).
    """
    temporary = temporary_folder(job_dir, name)
    if keep_source:
        shutil.copytree(source, temporary)
    else:
        os.rename(source, temporary)
    return commit_checkpoint(temporary, name, state)
