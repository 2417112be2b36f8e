"""Supervised fine-tuning (method "sft"): next-token cross entropy over the response tokens.

Examples are conversations or text encoded by data.encode (labels mask the prompt unless
training.trainOnInputs), packed several to a row with training.packing. A micro-batch weighs
its label tokens, so a step's loss is the mean over every label token of the step.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from ..batches import MicroBatch, collate, label_token_count
from ..config import JobConfig
from ..data import DatasetError, encode_records, pack_examples
from ..data.encode import text_blocks
from ..data.job_data import JobData, job_records
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
        path, loaded, records, held = job_records(config, job_dir)
        if loaded.format == "text":
            return self._text_data(tokenizer, training.max_seq_length, loaded, records, held)
        try:
            train = encode_records(tokenizer, records, training.max_seq_length, train_on_inputs=training.train_on_inputs)
            validation = encode_records(tokenizer, held, training.max_seq_length,
                                        train_on_inputs=training.train_on_inputs) if held else None
        except DatasetError as error:
            raise TrainerError(f"dataset.path: {error}", "dataset.path") from error
        usable = [example for example in train.examples if label_token_count(example["labels"]) > 0]
        if not usable:
            raise TrainerError(
                f"dataset.path: no example in {path} has a response token left to learn from "
                "(check the format and training.maxSeqLength)", "dataset.path",
            )
        held_examples = [e for e in (validation.examples if validation else []) if label_token_count(e["labels"]) > 0]
        packed_from = 0
        if packing:
            packed_from, usable = len(usable), pack_examples(usable, training.max_seq_length)
        return JobData(
            train=usable, validation=held_examples, format=loaded.format, skipped=int(loaded.skipped),
            truncated=int(train.truncated) + (int(validation.truncated) if validation else 0),
            empty=len(train.examples) - (packed_from or len(usable)), packed_from=packed_from,
            longest=max(len(example["input_ids"]) for example in usable),
        )

    def _text_data(self, tokenizer: Any, max_length: int, loaded: Any, records: list[Any], held: list[Any]) -> JobData:
        """Continued pre-training: documents concatenated and cut into blocks (already full: no packing)."""
        try:
            train = text_blocks(tokenizer, records, max_length)
            validation = text_blocks(tokenizer, held, max_length) if held else []
        except DatasetError as error:
            raise TrainerError(f"dataset.path: {error}", "dataset.path") from error
        if not train:
            raise TrainerError("dataset.path: the text is too short to make one training block of two tokens", "dataset.path")
        return JobData(train=train, validation=validation, format=loaded.format, skipped=int(loaded.skipped),
                       truncated=0, empty=0, packed_from=0, longest=max(len(block["input_ids"]) for block in train))

    def collate(self, examples: Sequence[Any]) -> MicroBatch:
        return collate(examples, self.pad_id)

    def loss(self, forward: Forward, batch: MicroBatch, prepared: Any) -> tuple[torch.Tensor, dict[str, float]]:
        return forward.loss_sum(batch), {}
