"""Training methods: what a batch is and what its loss is. Everything else is the loop (loop.py).

A method (``Method``) loads its dataset into token examples, collates the micro-batches of an
optimizer step, and computes a micro-batch's summed loss. The loop divides each micro-batch's
summed loss by the whole step's weight (``MicroBatch.weight``: SFT's label tokens, DPO's pairs,
KTO's examples), so gradient accumulation, and the out-of-memory retry's smaller pieces, equal
one big batch.

    method_for(config)  ->  methods.sft.Sft | methods.dpo.Dpo | methods.kto.Kto
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence

import torch

from ..batches import MicroBatch, split_chunk
from ..config import JobConfig
from ..data.job_data import JobData
from ..forward import Forward
from ..throughput import LORA_FLOPS_PER_PARAMETER

Step = list[list[MicroBatch]]


class Method:
    """The part of training that differs between methods. Plain and picklable: DataLoader workers
    call ``collate_step``."""

    name = "sft"
    unit = "row"  # what one example of a micro-batch is called in messages
    flops_per_parameter = LORA_FLOPS_PER_PARAMETER  # MFU (throughput.py)
    sequences_per_example = 1  # rows of a forward pass per example (memory estimate)
    packs = False  # whether training.packing applies
    uses_reference = False  # whether the loss compares the policy with a frozen reference

    def __init__(self, config: JobConfig) -> None:
        self.max_seq_length = config.training.max_seq_length
        self.pad_id = 0  # set from the tokenizer by load_data

    def load_data(self, config: JobConfig, job_dir: Path, tokenizer: Any, packing: bool) -> JobData:
        """Reads, splits and tokenises the job's dataset into this method's examples."""
        raise NotImplementedError

    def collate(self, examples: Sequence[Any]) -> MicroBatch:
        """One micro-batch of ``examples`` (token lists or tensors)."""
        raise NotImplementedError

    def collate_step(self, examples: Sequence[Any], chunks: list[list[int]], micro_batch_size: int) -> Step:
        """The micro-batches of one optimizer step: each configured micro-batch (``chunks``, example
        indices) cut into pieces of at most ``micro_batch_size`` examples."""
        return [
            [self.collate([examples[index] for index in piece]) for piece in split_chunk(chunk, micro_batch_size)]
            for chunk in chunks
        ]

    def prepare(self, forward: Forward, step: Step) -> Any:
        """What the losses of a step share, computed before them (KTO: its KL estimate); None here."""
        return None

    def loss(self, forward: Forward, batch: MicroBatch, prepared: Any) -> tuple[torch.Tensor, dict[str, float]]:
        """The micro-batch's summed loss (to be divided by the step's weight) and summed metrics."""
        raise NotImplementedError

    def summary(self, sums: dict[str, float], weight: int, prepared: Any) -> dict[str, float]:
        """Event fields beyond protocol.ts from a step's (or an eval's) summed metrics."""
        return {}

    def describe(self, summary: dict[str, float]) -> str:
        """The console fragment for ``summary``."""
        return ""

    def started_fields(self) -> dict[str, Any]:
        """Fields of the started event beyond protocol.ts."""
        return {"method": self.name}

    def notes(self, config: JobConfig) -> list[tuple[str, str]]:
        """(level, message) about settings this method ignores, for log events."""
        return []


def method_for(config: JobConfig) -> Method:
    """The method config.method names."""
    if config.method == "dpo":
        from .dpo import Dpo

        return Dpo(config)
    if config.method == "kto":
        from .kto import Kto

        return Kto(config)
    from .sft import Sft

    return Sft(config)
