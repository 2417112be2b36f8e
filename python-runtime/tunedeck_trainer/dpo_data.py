"""Preference data for the DPO recipe: read, check, split and render prompt/chosen/rejected text.

The dataset layer (``tunedeck_trainer.data.load_records``) normalises both flat
``{prompt, chosen, rejected}`` rows and the ShareGPT preference shape to
``{"prompt": [messages], "chosen": str, "rejected": str}``. Here the prompt messages are
rendered with the tokenizer's chat template (``add_generation_prompt=True``) so that TRL's
DPOTrainer receives plain text, and we count what ``training.maxSeqLength`` will cut.

Used by ``dpo.py``; tests: ``tests/trainer/test_dpo*.py``.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import JobConfig, resolve_path
from .errors import TrainerError


@dataclass
class PreferenceData:
    """Rendered preference rows (``prompt``/``chosen``/``rejected`` text) and the dataset event's counts."""

    train: list[dict[str, str]]
    validation: list[dict[str, str]]
    format: str
    skipped: int
    truncated: int


def prompt_budget(max_seq_length: int) -> int:
    """Tokens the prompt may keep (its end): half the sequence, so the answers always have room."""
    return max(1, max_seq_length // 2)


def load_preference_data(config: JobConfig, job_dir: Path, tokenizer: Any) -> PreferenceData:
    """Reads the dataset as preference pairs; fails naming dataset.format when it holds something else."""
    from .data import DEFAULT_CHAT_TEMPLATE, DatasetError, load_records

    dataset = config.dataset
    path = resolve_path(job_dir, dataset.path)
    if not path.exists() or not os.access(path, os.R_OK):
        what = "no file" if not path.exists() else "cannot read the file"
        raise TrainerError(f"dataset.path: {what} at {path}; choose a readable dataset file", "dataset.path")
    try:
        loaded = load_records(str(path), format=dataset.format, columns=dict(dataset.columns), bad_rows=dataset.bad_rows)
    except DatasetError as error:
        raise TrainerError(f"dataset.path: {error}", "dataset.path") from error
    except OSError as error:
        raise TrainerError(f"dataset.path: cannot read {path}: {error}", "dataset.path") from error
    if loaded.format != "preference":
        raise TrainerError(
            f'dataset.format: {path} was read as "{loaded.format}" rows, but method "dpo" needs preference pairs: '
            'rows with prompt, chosen and rejected (or ShareGPT conversations with chosen and rejected turns). '
            'Choose such a file and set dataset.format to "preference" or "auto", or set method to "sft" to '
            "train on this file", "dataset.format",
        )
    template = None if getattr(tokenizer, "chat_template", None) else DEFAULT_CHAT_TEMPLATE
    rows = []
    for index, record in enumerate(loaded.records):
        try:
            prompt = tokenizer.apply_chat_template(
                record["prompt"], chat_template=template, tokenize=False, add_generation_prompt=True
            )
        except Exception as error:  # jinja raises its own errors for a template that rejects the roles
            raise TrainerError(
                f"dataset.path: {path} record {index + 1}: the model's chat template cannot render the prompt "
                f"({error}); check the roles of its messages", "dataset.path",
            ) from error
        rows.append({"prompt": prompt, "chosen": record["chosen"], "rejected": record["rejected"]})
    validation: list[dict[str, str]] = []
    if dataset.validation_split > 0 and len(rows) >= 2:
        order = list(range(len(rows)))
        random.Random(config.training.seed).shuffle(order)
        held = min(len(rows) - 1, max(1, round(len(rows) * dataset.validation_split)))
        held_out = set(order[:held])
        validation = [row for index, row in enumerate(rows) if index in held_out]
        rows = [row for index, row in enumerate(rows) if index not in held_out]
    truncated = sum(_truncated(tokenizer, row, config.training.max_seq_length) for row in rows + validation)
    return PreferenceData(rows, validation, loaded.format, int(loaded.skipped), truncated)


def _truncated(tokenizer: Any, row: dict[str, str], max_seq_length: int) -> bool:
    """Whether DPO will cut this pair: the prompt beyond its budget, or prompt + answer + eos beyond the limit."""
    prompt = len(tokenizer(row["prompt"], add_special_tokens=False)["input_ids"])
    kept = min(prompt, prompt_budget(max_seq_length))
    longest = max(len(tokenizer(row[side], add_special_tokens=False)["input_ids"]) for side in ("chosen", "rejected"))
    return prompt > kept or kept + longest + 1 > max_seq_length
