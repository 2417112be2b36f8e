"""How many optimizer steps a job runs, and the learning rate at each of them."""

from __future__ import annotations

import math
from collections.abc import Callable


def steps_per_epoch(count: int, batch_size: int, accumulation: int) -> int:
    """Optimizer steps in one full epoch (the last may take fewer micro-batches)."""
    return math.ceil(math.ceil(count / batch_size) / accumulation)


def total_steps(count: int, batch_size: int, accumulation: int, epochs: float, max_steps: int | None) -> int:
    """Optimizer steps of the whole run: maxSteps when set, else (a fraction of) the epochs."""
    if max_steps is not None:
        return max_steps
    return max(1, math.ceil(steps_per_epoch(count, batch_size, accumulation) * epochs - 1e-9))


def linear_schedule(warmup: int, total: int) -> Callable[[int], float]:
    """Learning-rate factor: linear warmup over ``warmup`` steps, then linear decay to 0 at ``total``."""

    def factor(step: int) -> float:
        if step < warmup:
            return step / max(1, warmup)
        return max(0.0, (total - step) / max(1, total - warmup))

    return factor
