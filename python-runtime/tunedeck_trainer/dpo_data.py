"""Preference data for the DPO recipe: read, check, split and render prompt/chosen/rejected text.

The dataset layer (``tunedeck_trainer.data.load_records``) normalises both flat
``{prompt, chosen, rejected}`` rows and the ShareGPT preference shape to
``{"prompt": [messages], "chosen": str, "rejected": str}`` (read, and split by seed, by the same
``loading`` functions as SFT's data). Here the prompt messages are
rendered with the tokenizer's chat template (``add_generation_prompt=True``) so that TRL's
DPOTrainer receives plain text, and we count what ``training.maxSeqLength`` will cut.

Used by ``dpo.py``; tests: ``tests/trainer/test_dpo*.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import JobConfig
from .errors import TrainerError
from .loading import read_records, split_validation


@dataclass
class PreferenceData:
    """Rendered preference rows (``prompt``/``chosen``/``rejected`` text) and the dataset event's counts."""

    train: list[dict[str, str]]
    validation: list[dict[str, str]]
    format: str
    skipped: int
    truncated: int
    longest: int = 0  # tokens of the longest prompt + answer + eos after truncation (memory estimate)


def prompt_budget(max_seq_length: int) -> int:
    """Tokens the prompt may keep (its end): half the sequence, so the answers always have room."""
    return max(1, max_seq_length // 2)


def load_preference_data(config: JobConfig, job_dir: Path, tokenizer: Any) -> PreferenceData:
    """Reads the dataset as preference pairs; fails naming dataset.format when it holds something else."""
    from .data import DEFAULT_CHAT_TEMPLATE

    path, loaded = read_records(config, job_dir)
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
    rows, validation = split_validation(rows, config.dataset.validation_split, config.training.seed)
    measured = [_measure(tokenizer, row, config.training.max_seq_length) for row in rows + validation]
    truncated = sum(cut for cut, _ in measured)
    longest = max((length for _, length in measured), default=0)
    return PreferenceData(rows, validation, loaded.format, int(loaded.skipped), truncated, longest)


def _measure(tokenizer: Any, row: dict[str, str], max_seq_length: int) -> tuple[bool, int]:
    """Whether DPO will cut this pair (the prompt beyond its budget, or prompt + answer + eos beyond
    the limit), and the tokens of its longer side as the forward pass will see it."""
    prompt = len(tokenizer(row["prompt"], add_special_tokens=False)["input_ids"])
    kept = min(prompt, prompt_budget(max_seq_length))
    answer = max(len(tokenizer(row[side], add_special_tokens=False)["input_ids"]) for side in ("chosen", "rejected"))
    return prompt > kept or kept + answer + 1 > max_seq_length, min(max_seq_length, kept + answer + 1)
