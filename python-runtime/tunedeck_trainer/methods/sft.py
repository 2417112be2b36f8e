"""Supervised fine-tuning (method "sft"): next-token cross entropy over the response tokens.

Examples are conversations or text encoded by data.encode (labels mask the prompt unless
training.trainOnInputs), packed several to a row with training.packing. A micro-batch weighs
its label tokens, so a step's loss is the mean over every label token of the step.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..batches import MicroBatch, collate, label_token_count
from ..config import JobConfig
from ..data import pack_examples
from ..data.encode import text_blocks_of
from ..data.job_data import JobData, split_validation
from ..data.job_mix import mixed_encoded
from ..errors import TrainerError
from ..forward import Forward
from . import Method


class Sft(Method):
    """Supervised fine-tuning."""

    name = "sft"
    packs = True

    def load_data(self, config: JobConfig, job_dir: Path, tokenizer: Any, packing: bool) -> JobData:
        self.pad_id = tokenizer.pad_token_id
        training = config.training
        # Every record encoded once (or read from the encoded cache), then split and cut for this job.
        path, data, mix = mixed_encoded(config, job_dir, tokenizer)
        encoded, held = split_validation(data.examples, config.dataset.validation_split, training.seed)
        if data.format == "text":
            return dataclasses.replace(self._text_data(training.max_seq_length, data, encoded, held), mix=mix)
        train, truncated = _cut(encoded, training.max_seq_length)
        validation, held_truncated = _cut(held, training.max_seq_length)
        usable = [example for example in train if label_token_count(example["labels"]) > 0]
        if not usable:
            raise TrainerError(
                f"dataset.path: no example in {path} has a response token left to learn from (check the format and training.maxSeqLength)",
                "dataset.path",
            )
        held_examples = [e for e in validation if label_token_count(e["labels"]) > 0]
        packed_from = 0
        if packing:
            packed_from, usable = len(usable), pack_examples(usable, training.max_seq_length)
        return JobData(
            train=usable,
            validation=held_examples,
            format=data.format,
            skipped=data.skipped,
            truncated=truncated + held_truncated,
            empty=len(train) - (packed_from or len(usable)),
            packed_from=packed_from,
            longest=max(len(example["input_ids"]) for example in usable),
            mix=mix,
        )

    def _text_data(self, max_length: int, data: Any, records: list[Any], held: list[Any]) -> JobData:
        """Continued pre-training: documents concatenated and cut into blocks (already full: no packing)."""
        if max_length < 2:
            raise ValueError(f"max_length must be at least 2 for text blocks, got {max_length}")
        train = text_blocks_of([token for example in records for token in example["input_ids"]], max_length)
        validation = text_blocks_of([token for example in held for token in example["input_ids"]], max_length) if held else []
        if not train:
            raise TrainerError("dataset.path: the text is too short to make one training block of two tokens", "dataset.path")
        return JobData(
            train=train,
            validation=validation,
            format=data.format,
            skipped=data.skipped,
            truncated=0,
            empty=0,
            packed_from=0,
            longest=max(len(block["input_ids"]) for block in train),
        )

    def collate(self, examples: Sequence[Any]) -> MicroBatch:
        return collate(examples, self.pad_id)

    def loss(self, forward: Forward, batch: MicroBatch, prepared: Any) -> tuple[torch.Tensor, dict[str, float]]:
        return forward.loss_sum(batch), {}


def _cut(examples: list[dict[str, list[int]]], max_length: int) -> tuple[list[dict[str, list[int]]], int]:
    """The examples cut to max_length tokens, and how many were cut."""
    cut = [{"input_ids": e["input_ids"][:max_length], "labels": e["labels"][:max_length]} for e in examples]
    return cut, sum(1 for example in examples if len(example["input_ids"]) > max_length)
