"""Training methods: what a batch is and what its loss is. Everything else is the loop (loop.py).

A method (``Method``) loads its dataset into token examples, collates the micro-batches of an
optimizer step, and computes a micro-batch's summed loss. The loop divides each micro-batch's
summed loss by the whole step's weight (``MicroBatch.weight``: SFT's label tokens, DPO's pairs,
KTO's examples), so gradient accumulation, and the out-of-memory retry's smaller pieces, equal
one big batch.

The methods are declared in electron/shared/methods.ts (contract.py here: label, dataset formats,
reference model, settings section). Each has one module here named after it, whose ``Method``
subclass registers itself by its ``name``; ``method_for`` imports the module the config names:

    method_for(config)  ->  methods.<config.method>.<its Method subclass>(config)
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..batches import MicroBatch, split_chunk
from ..config import JobConfig
from ..contract import METHODS
from ..data.job_data import JobData
from ..errors import TrainerError
from ..forward import Forward
from ..throughput import DPO_FLOPS_PER_PARAMETER, LORA_FLOPS_PER_PARAMETER

Step = list[list[MicroBatch]]

# Method classes by name, filled as their modules are imported (Method.__init_subclass__).
REGISTRY: dict[str, type[Method]] = {}


class Method:
    """The part of training that differs between methods. Plain and picklable: DataLoader workers
    call ``collate_step``."""

    name = ""  # the method's name in the contract's table; a subclass with one registers itself
    unit = "row"  # what one example of a micro-batch is called in messages
    sequences_per_example = 1  # rows of a forward pass per example (memory estimate)
    packs = False  # whether training.packing applies
    # From the contract's table: whether the loss compares the policy with a frozen reference, and
    # so the FLOPs a token costs for MFU (throughput.py): the reference's forward pass adds 2N.
    uses_reference = False
    flops_per_parameter = LORA_FLOPS_PER_PARAMETER

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not cls.name:
            return
        if cls.name not in METHODS:
            raise TypeError(
                f"{cls.__name__}: method {cls.name!r} is not in electron/shared/methods.ts (add it there and run npm run config-schema)"
            )
        cls.uses_reference = METHODS[cls.name].reference
        cls.flops_per_parameter = DPO_FLOPS_PER_PARAMETER if cls.uses_reference else LORA_FLOPS_PER_PARAMETER
        REGISTRY[cls.name] = cls

    def __init__(self, config: JobConfig) -> None:
        self.max_seq_length = config.training.max_seq_length
        self.pad_id = 0  # set from the tokenizer by load_data
        section = METHODS[self.name].section
        # The method's own settings section of config.json (config.dpo, config.orpo, ...); None for none.
        self.settings: Any = getattr(config, section) if section else None

    def load_data(self, config: JobConfig, job_dir: Path, tokenizer: Any, packing: bool) -> JobData:
        """Reads, splits and tokenises the job's dataset into this method's examples."""
        raise NotImplementedError

    def collate(self, examples: Sequence[Any]) -> MicroBatch:
        """One micro-batch of ``examples`` (token lists or tensors)."""
        raise NotImplementedError

    def collate_step(
        self, examples: Sequence[Any], chunks: list[list[int]], micro_batch_size: int, order: Sequence[int] | None = None
    ) -> Step:
        """The micro-batches of one optimizer step: each configured micro-batch (``chunks``, example
        indices) cut into pieces of at most ``micro_batch_size`` examples. ``order``: with several
        ranks, the whole step's examples across them (``chunks`` are this rank's share)."""
        return [[self.collate([examples[index] for index in piece]) for piece in split_chunk(chunk, micro_batch_size)] for chunk in chunks]

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
    """The method config.method names: its module methods/<name>.py registers its class on import."""
    if config.method not in METHODS:
        raise TrainerError(f"method: {config.method!r} is not a training method (one of {', '.join(METHODS)})", "method")
    importlib.import_module(f"{__name__}.{config.method}")
    if config.method not in REGISTRY:
        raise TrainerError(f"method: methods/{config.method}.py registers no method named {config.method!r}", "method")
    return REGISTRY[config.method](config)
