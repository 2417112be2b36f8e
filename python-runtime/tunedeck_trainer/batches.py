"""Deterministic batching: each epoch is a permutation seeded with seed + epoch.

An epoch is a list of micro-batches of ``batchSize`` examples; an optimizer step takes
``gradientAccumulation`` of them (the last step of an epoch may take fewer). The position
inside an epoch (micro-batches consumed) is all a checkpoint needs to continue the same order.
``MicroBatch`` is the tensors of one forward pass for every method (methods/ fill it);
``collate`` builds SFT's.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

IGNORE_INDEX = -100


@dataclass
class MicroBatch:
    """Right-padded tensors for one forward pass, and how much it weighs in its optimizer step.

    ``weight`` is what the step's loss is a mean over: label tokens for SFT, pairs for DPO,
    examples for KTO. A step's loss is the sum of its micro-batches' summed losses divided by
    the step's total weight, so any split into micro-batches gives the same loss and gradient.
    """

    input_ids: torch.Tensor
    attention_mask: torch.Tensor
    labels: torch.Tensor
    tokens: int  # non-padding tokens
    label_tokens: int  # tokens that count towards the loss (after the causal shift)
    # Packed rows: positions restart at 0 for each example; the model is then called without
    # attention_mask and transformers builds a block-diagonal mask from the positions.
    position_ids: torch.Tensor | None = None
    examples: int = 0  # SFT rows, DPO pairs (two rows each), KTO examples; 0: the rows
    weight: int = 0  # 0: label_tokens
    desirable: torch.Tensor | None = None  # KTO: 1 for a desirable completion, 0 for an undesirable one
    kl: MicroBatch | None = None  # KTO: the mismatched prompt/completion rows of its KL estimate

    def __post_init__(self) -> None:
        self.examples = self.examples or int(self.input_ids.shape[0])
        self.weight = self.weight or self.label_tokens

    @property
    def rows(self) -> int:
        """Sequences (rows) in the batch."""
        return int(self.input_ids.shape[0])

    def pin_memory(self) -> MicroBatch:
        """The same batch in page-locked memory (a DataLoader's pin thread calls this)."""
        return self._map(torch.Tensor.pin_memory)

    def to(self, device: torch.device) -> MicroBatch:
        """The same batch on ``device``; to CUDA through pinned memory, without blocking the host."""

        def move(tensor: torch.Tensor) -> torch.Tensor:
            if device.type == "cuda":
                # pin_memory() returns a tensor that is pinned already (from a worker) as it is.
                return tensor.pin_memory().to(device, non_blocking=True)
            return tensor.to(device)

        return self._map(move)

    def _map(self, move: Callable[[torch.Tensor], torch.Tensor]) -> MicroBatch:
        return MicroBatch(
            move(self.input_ids),
            move(self.attention_mask),
            move(self.labels),
            self.tokens,
            self.label_tokens,
            None if self.position_ids is None else move(self.position_ids),
            self.examples,
            self.weight,
            None if self.desirable is None else move(self.desirable),
            None if self.kl is None else self.kl._map(move),
        )


def label_token_count(labels: list[int]) -> int:
    """Tokens of one example that the loss sees: labels after the first position, not masked."""
    return sum(1 for label in labels[1:] if label != IGNORE_INDEX)


def collate(examples: Sequence[dict[str, Sequence[int]]], pad_id: int) -> MicroBatch:
    """Pads examples on the right; padding is masked out of attention and loss.

    Token lists may be Python lists or 1-D tensors (feeding.TokenTable); the result is the same.
    """
    width = max(len(example["input_ids"]) for example in examples)
    input_ids = torch.full((len(examples), width), pad_id, dtype=torch.long)
    attention = torch.zeros((len(examples), width), dtype=torch.long)
    labels = torch.full((len(examples), width), IGNORE_INDEX, dtype=torch.long)
    packed = "position_ids" in examples[0]
    # Padding of a packed row is one more "sequence" (positions from 0) that nothing attends to.
    positions = torch.arange(width).repeat(len(examples), 1) if packed else None
    for row, example in enumerate(examples):
        length = len(example["input_ids"])
        input_ids[row, :length] = torch.as_tensor(example["input_ids"], dtype=torch.long)
        attention[row, :length] = 1
        labels[row, :length] = torch.as_tensor(example["labels"], dtype=torch.long)
        if positions is not None:
            positions[row, :length] = torch.as_tensor(example["position_ids"], dtype=torch.long)
            positions[row, length:] = torch.arange(width - length)
    tokens = int(attention.sum())
    label_tokens = int((labels[:, 1:] != IGNORE_INDEX).sum())
    return MicroBatch(input_ids, attention, labels, tokens, label_tokens, positions)


def epoch_micro_batches(count: int, batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    """Example indices of each micro-batch of ``epoch``, from a generator seeded with seed + epoch."""
    generator = torch.Generator().manual_seed(seed + epoch)
    order = torch.randperm(count, generator=generator).tolist()
    return [order[start : start + batch_size] for start in range(0, count, batch_size)]


def split_chunk(chunk: list[int], micro_batch_size: int) -> list[list[int]]:
    """One configured micro-batch cut, in order, into pieces of at most ``micro_batch_size`` rows.

    After an out-of-memory retry the trainer runs each configured micro-batch as these pieces:
    the data order and the optimizer step's examples stay the same, and when the size divides
    batchSize the pieces are exactly the micro-batches of a job configured with the smaller
    batch and the larger accumulation from the start.
    """
    return [chunk[start : start + micro_batch_size] for start in range(0, len(chunk), micro_batch_size)]
