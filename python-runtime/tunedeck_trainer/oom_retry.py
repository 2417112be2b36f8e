"""The out-of-memory retry of the training loop, for every method.

When CUDA runs out of memory in a step (and training.oomRetry allows it), the loop frees the
failed attempt, emits the oom event and runs the same step again from its start with
micro-batches of half the examples: each configured micro-batch is cut into pieces
(batches.split_chunk), so the effective batch, the data order and the weighted loss stay the
same. At one example it fails with an error naming training.batchSize and what else to change.
"""

from __future__ import annotations

import gc
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch

from .config import JobConfig
from .errors import TrainerError
from .protocol import EventWriter

if TYPE_CHECKING:
    from .feeding import Feeder

Log = Callable[[str, str], None]  # (level, message): prints and emits a log event
RngState = tuple[torch.Tensor, list[torch.Tensor]]


def step_rng(config: JobConfig, micro_batch_size: int) -> RngState | None:
    """The torch RNG states at the start of a step, when an out-of-memory retry may replay it."""
    if not config.training.oom_retry or micro_batch_size <= 1:
        return None
    cuda = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else []
    return torch.get_rng_state(), cuda


def restore_rng(rng: RngState | None) -> None:
    """Puts back what ``step_rng`` took, so the replayed step draws the same dropout masks."""
    if rng is not None:
        torch.set_rng_state(rng[0])
        if rng[1]:
            torch.cuda.set_rng_state_all(rng[1])


def free_memory() -> None:
    """Returns what a failed step held to the allocator: its graph goes with the dropped traceback,
    gc breaks the cycles left, and on CUDA the cached blocks go back to the driver."""
    gc.collect()
    if torch.cuda.is_available():
        torch.cuda.empty_cache()


def recover(
    config: JobConfig,
    optimizer: Any,
    *,
    failed_step: int,
    micro_batch_size: int,
    rows: int,
    width: int,
    events: EventWriter,
    log: Log,
    unit: str = "row",
) -> int:
    """Frees the failed attempt and emits the oom event; returns the halved micro-batch size.

    ``unit`` names an example in messages (row, pair, example). Raises TrainerError naming
    training.batchSize when the retry is off or the micro-batch is already one example.
    """
    training = config.training
    optimizer.zero_grad(set_to_none=True)
    free_memory()
    retry = training.oom_retry and micro_batch_size > 1
    smaller = math.ceil(micro_batch_size / 2) if retry else None
    accumulation = training.gradient_accumulation * math.ceil(training.batch_size / smaller) if smaller else None
    events.emit(
        "oom",
        step=failed_step,
        batchSize=micro_batch_size,
        maxSeqLength=width,
        retry=retry,
        newBatchSize=smaller,
        newGradientAccumulation=accumulation,
    )
    if smaller is None:
        why = "training.oomRetry is off" if micro_batch_size > 1 else f"the micro-batch is already 1 {unit}"
        raise TrainerError(
            f"training.batchSize: CUDA ran out of memory in step {failed_step} at a micro-batch of {rows} {unit}s x "
            f"{width} tokens ({why}); lower training.batchSize (raising training.gradientAccumulation keeps the "
            f"effective batch) or training.maxSeqLength (now {training.max_seq_length}), or turn on "
            'training.gradientCheckpointing or model.quantization "4bit"',
            "training.batchSize",
        )
    log(
        "warning",
        (
            f"CUDA ran out of memory in step {failed_step} at {micro_batch_size} {unit}s x {width} tokens; retrying "
            f"with micro-batches of {smaller} {unit}s and gradient accumulation {accumulation} (same effective batch). "
            f"Set training.batchSize {smaller} and training.gradientAccumulation {accumulation} to start there next time"
        ),
    )
    return smaller


def replay(training: Any, feeder: Feeder, micro: list[list[int]], start: int, rng: RngState | None) -> Any:
    """Runs the step of ``training`` (a loop.Training) that ran out of memory again from its first
    micro-batch ``start`` of the epoch's order ``micro``, with half the examples per forward pass
    each time, until it fits; returns its StepResult. ``rng``: step_rng's streams at the step's start.
    """
    result = None
    while result is None:
        training.micro_batch_size = recover(
            training.config,
            training.optimizer,
            failed_step=training.step + 1,
            micro_batch_size=training.micro_batch_size,
            rows=training.oom_at[0],
            width=training.oom_at[1],
            events=training.events,
            log=training._log,
            unit=training.method.unit,
        )
        training.position = start
        restore_rng(rng)
        feeder.start(micro, start, training.micro_batch_size)  # prefetched steps had the old size
        result = training.forward_backward(feeder.next())
    return result
