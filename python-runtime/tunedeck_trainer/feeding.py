"""Feeding the training loop: the collated micro-batches of upcoming optimizer steps.

With ``training.dataloaderWorkers`` > 0, torch DataLoader worker processes collate the steps
of the current epoch from a given position on, ``PREFETCH_STEPS`` steps ahead per worker, into
pinned memory on CUDA, so the GPU does not wait while rows are padded and tensors built. With
0, each step is collated in the main process when it is needed. Both hand the loop the same
tensors: collation is deterministic, and the loader draws its seed from a private generator
so the global torch RNG (LoRA dropout) advances exactly as it does without workers.

A loader lives for one epoch from the position it starts at; the trainer restarts it at each
epoch, on resume, and after an out-of-memory retry (from the failed step's start, with smaller
pieces). Everything a worker receives is module-level and picklable: Windows starts workers
with spawn; the method's ``collate_step`` is a method of a plain, picklable object.
"""

from __future__ import annotations

import itertools
import math
import os
import signal
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader, Dataset

from .batches import MicroBatch

# Steps each worker keeps ready. Collating a step takes milliseconds against a GPU step of a
# tenth of a second or more, so two per worker absorb hiccups without holding much pinned memory.
PREFETCH_STEPS = 2

Step = list[list[MicroBatch]]  # one optimizer step: per configured micro-batch, its pieces
# (examples, the step's configured micro-batches of example indices, rows per piece[, the whole
# step's order across ranks]) -> the Step
CollateStep = Callable[..., Step]


def resolve_workers(requested: int | None, device: torch.device) -> int:
    """Worker processes for ``training.dataloaderWorkers``; None (auto) decides by device.

    On CUDA, a quarter of the cores, at least 1 and at most 2: collation is cheap, so one
    worker keeps up and a second covers a slow step, while each worker is a whole process
    with its own copy of torch (hundreds of MB where Windows spawns it). On CPU, 0: every core
    is busy computing the model, and a worker would only take time from it.
    """
    if requested is not None:
        return requested
    if device.type != "cuda":
        return 0
    return min(2, max(1, (os.cpu_count() or 2) // 4))


def describe_workers(workers: int, requested: int | None, device: torch.device) -> str:
    """The terminal line about who collates the batches, naming the setting behind it."""
    setting = f"training.dataloaderWorkers {'auto' if requested is None else requested}"
    if not workers:
        return f"batches are collated in the training process ({setting})"
    pinned = " into pinned memory" if device.type == "cuda" else ""
    return f"{workers} worker process{'es' if workers > 1 else ''} collate the next steps{pinned} ({setting})"


class TokenTable:
    """The examples' token lists as flat int32 tensors plus offsets, for worker processes.

    One column per key of the examples (SFT: input_ids, labels, position_ids; DPO: prompt,
    chosen, rejected; KTO: prompt, completion, label), each with its own offsets. A fork shares
    tensor pages untouched (Python lists would be copied page by page as worker reference counts
    change), and spawn sends tensors through shared memory instead of pickling every token.
    """

    def __init__(self, examples: list[dict[str, list[int]]]) -> None:
        keys = list(examples[0]) if examples else []
        self.count = len(examples)
        self.offsets: dict[str, torch.Tensor] = {}
        self.columns: dict[str, torch.Tensor] = {}
        for key in keys:
            lengths = torch.tensor([len(example[key]) for example in examples], dtype=torch.long)
            self.offsets[key] = torch.cat([torch.zeros(1, dtype=torch.long), lengths.cumsum(0)])
            # numpy.fromiter fills the array straight from the lists, without an interim list of ints.
            self.columns[key] = torch.from_numpy(
                np.fromiter(
                    itertools.chain.from_iterable(example[key] for example in examples),
                    dtype=np.int32,
                    count=int(self.offsets[key][-1]),
                )
            )

    def __len__(self) -> int:
        return self.count

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        found = {}
        for key, column in self.columns.items():
            offsets = self.offsets[key]
            found[key] = column[int(offsets[index]) : int(offsets[index + 1])]
        return found


class EpochSteps(Dataset):
    """Item i: the collated micro-batches of the i-th optimizer step from ``position`` on.

    ``micro`` is the epoch's micro-batches of example indices (distributed.epoch_layout);
    a step takes ``accumulation`` of them, each cut into pieces of ``micro_batch_size`` rows.
    With several ranks (``share``: rank, ranks) they are global micro-batches and this rank
    collates its share of each; the method still sees the whole step's order (KTO pairs on it).
    """

    def __init__(
        self,
        examples: Any,
        micro: list[list[int]],
        position: int,
        accumulation: int,
        micro_batch_size: int,
        collate_step: CollateStep,
        share: tuple[int, int] = (0, 1),
    ) -> None:
        self.examples = examples
        self.micro = micro
        self.position = position
        self.accumulation = accumulation
        self.micro_batch_size = micro_batch_size
        self.collate_step = collate_step
        self.share = share

    def __len__(self) -> int:
        return math.ceil(max(0, len(self.micro) - self.position) / self.accumulation)

    def __getitem__(self, index: int) -> Step:
        first = self.position + index * self.accumulation
        chunks = self.micro[first : first + self.accumulation]
        rank, ranks = self.share
        if ranks == 1:
            return self.collate_step(self.examples, chunks, self.micro_batch_size)
        order = [example for chunk in chunks for example in chunk]
        mine = [chunk[rank::ranks] for chunk in chunks]  # distributed.share
        return self.collate_step(self.examples, mine, self.micro_batch_size, order)


def _whole_step(item: Step) -> Step:
    """The loader's collate_fn: each item already is a whole step."""
    return item


def _leave_signals_to_the_trainer(_worker: int) -> None:
    """Worker start-up: a Ctrl-C or SIGTERM to the process group is for the trainer to act on.

    A worker that died of it would turn a pause into a failed job (torch raises when a worker
    is killed); a forked worker would also echo the signal into the trainer's wakeup socket.
    The trainer shuts its workers down, and they exit by themselves when it is gone.
    """
    signal.set_wakeup_fd(-1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class Feeder:
    """Hands the training loop one optimizer step of micro-batches at a time.

    ``start`` (re)starts at a position of an epoch, ``next`` returns the following step,
    ``close`` stops the workers; use it as a context manager so they stop on every exit.
    """

    def __init__(
        self,
        examples: list[dict[str, list[int]]],
        collate_step: CollateStep,
        accumulation: int,
        workers: int,
        device: torch.device,
        share: tuple[int, int] = (0, 1),
    ) -> None:
        self.workers = workers
        self.share = share
        self.examples: Any = TokenTable(examples) if workers else examples
        self.collate_step = collate_step
        self.accumulation = accumulation
        self.pin = device.type == "cuda"
        self._steps: Iterator[Step] | None = None

    def start(self, micro: list[list[int]], position: int, micro_batch_size: int) -> None:
        """Feeds the steps of the epoch ``micro`` from micro-batch ``position`` on, dropping any prefetched."""
        self.close()
        steps = EpochSteps(self.examples, micro, position, self.accumulation, micro_batch_size, self.collate_step, self.share)
        workers = min(self.workers, len(steps))
        if workers == 0:
            self._steps = (steps[index] for index in range(len(steps)))
            return
        # Workers never tokenize; without this the tokenizers library prints a warning per fork.
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        loader = DataLoader(
            steps,
            batch_size=None,
            num_workers=workers,
            collate_fn=_whole_step,
            pin_memory=self.pin,
            prefetch_factor=PREFETCH_STEPS,
            worker_init_fn=_leave_signals_to_the_trainer,
            # The base seed of the workers comes from this generator, not from the global one
            # that LoRA dropout draws from.
            generator=torch.Generator(),
        )
        self._steps = iter(loader)

    def next(self) -> Step:
        """The next step's micro-batches (pinned on CUDA when workers collate them)."""
        if self._steps is None:
            raise RuntimeError("Feeder.next() before start()")
        return next(self._steps)

    def close(self) -> None:
        """Stops the workers, if any, and forgets prefetched steps."""
        steps, self._steps = self._steps, None
        shutdown = getattr(steps, "_shutdown_workers", None)  # torch's iterator; also run when collected
        if shutdown is not None:
            shutdown()

    def __enter__(self) -> Feeder:
        return self

    def __exit__(self, *_: Any) -> None:
        self.close()
