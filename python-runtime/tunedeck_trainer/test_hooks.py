"""The environment variables that let tests reach states a CPU run would not (read here, only here).

Each hook is read once per job, when the trainer starts, and does nothing when unset. None of
them is part of the host's contract; the host strips every TUNEDECK_* variable it does not set.

- ``TUNEDECK_PAUSE_AT_STEP=N``: behave as if ``{"cmd":"pause"}`` arrived during optimizer step N.
- ``TUNEDECK_CHECKPOINT_SAVE_DELAY=S``: sleep S seconds inside every checkpoint save, after the
  weights are written and before state.json, so a test can kill the process mid-save.
- ``TUNEDECK_SIMULATE_OOM_ABOVE_BATCH=N``: raise CUDA's out-of-memory error after the forward pass
  of any micro-batch of more than N examples (SFT rows, DPO pairs, KTO examples), on CPU too, to
  exercise the out-of-memory retry.
- ``TUNEDECK_SIMULATE_OOM_FROM_STEP=S``: with the previous hook, only from optimizer step S on, so
  the retry also runs after completed steps (default 1).
- ``TUNEDECK_CUDA_MEMORY_MB=N``: cap this process's GPU memory at N MB
  (``torch.cuda.set_per_process_memory_fraction``), so tests/trainer/test_cuda.py can make a real
  CUDA out-of-memory error with the tiny model.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def _whole_number(name: str) -> int | None:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else None


@dataclass(frozen=True)
class TestHooks:
    """The hooks in effect (None or 0: off)."""

    __test__ = False  # not a pytest test class, whatever its name

    pause_at_step: int | None
    checkpoint_save_delay: float
    simulate_oom_above_batch: int | None
    simulate_oom_from_step: int
    cuda_memory_mb: int | None

    def simulated_oom(self, examples: int, step: int) -> str | None:
        """Why a micro-batch of ``examples`` in optimizer step ``step`` should fail as out of memory, or None."""
        limit = self.simulate_oom_above_batch
        if limit is None or examples <= limit or step < self.simulate_oom_from_step:
            return None
        return f"simulated: {examples} examples > TUNEDECK_SIMULATE_OOM_ABOVE_BATCH={limit}"


def read_hooks() -> TestHooks:
    """The hooks as the environment sets them now."""
    try:
        delay = float(os.environ.get("TUNEDECK_CHECKPOINT_SAVE_DELAY", "0") or 0)
    except ValueError:
        delay = 0.0
    return TestHooks(
        pause_at_step=_whole_number("TUNEDECK_PAUSE_AT_STEP"),
        checkpoint_save_delay=max(0.0, delay),
        simulate_oom_above_batch=_whole_number("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH"),
        simulate_oom_from_step=_whole_number("TUNEDECK_SIMULATE_OOM_FROM_STEP") or 1,
        cuda_memory_mb=_whole_number("TUNEDECK_CUDA_MEMORY_MB"),
    )


def cap_cuda_memory(hooks: TestHooks) -> None:
    """Applies TUNEDECK_CUDA_MEMORY_MB; does nothing without CUDA or without the variable."""
    if hooks.cuda_memory_mb is None:
        return
    import torch

    if torch.cuda.is_available():
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, hooks.cuda_memory_mb * 2**20 / total))
        print(f"[tunedeck] test hook: GPU memory capped at {hooks.cuda_memory_mb} MB", flush=True)
