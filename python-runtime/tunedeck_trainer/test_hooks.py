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
- ``TUNEDECK_SIMULATE_OOM_MICRO_BATCH=K``: with the first hook, only the K-th micro-batch of a step
  fails (1-based, counting the pieces the step runs), so the error comes after earlier micro-batches
  have accumulated their gradients.
- ``TUNEDECK_SIMULATE_OOM_IN_BACKWARD=1``: with the first hook, fail inside the backward pass instead
  of after the forward pass, once the gradients of the later layers have been added to ``.grad``.
- ``TUNEDECK_SIMULATE_OOM_RANK=R``: with several ranks, only rank R simulates out-of-memory errors,
  so a test sees every rank agree to retry.
- ``TUNEDECK_CUDA_MEMORY_MB=N``: cap this process's GPU memory at N MB
  (``torch.cuda.set_per_process_memory_fraction``), so tests/trainer/test_cuda.py can make a real
  CUDA out-of-memory error with the tiny model.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


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
    simulate_oom_micro_batch: int | None = None
    simulate_oom_in_backward: bool = False

    def simulated_oom(self, examples: int, step: int, micro_batch: int = 1) -> str | None:
        """Why the ``micro_batch``-th micro-batch (of ``examples``) of optimizer step ``step`` should fail
        as out of memory, or None."""
        limit, only = self.simulate_oom_above_batch, self.simulate_oom_micro_batch
        if limit is None or examples <= limit or step < self.simulate_oom_from_step or only not in (None, micro_batch):
            return None
        return f"simulated: {examples} examples > TUNEDECK_SIMULATE_OOM_ABOVE_BATCH={limit}"

    @contextmanager
    def backward(self, model: Any, examples: int, step: int, micro_batch: int) -> Iterator[None]:
        """Around a micro-batch's backward pass (its forward is done): raises CUDA's out-of-memory error
        on entry, or from inside the backward pass, when the hooks above say this micro-batch fails."""
        import torch

        reason = self.simulated_oom(examples, step, micro_batch)
        if reason and not self.simulate_oom_in_backward:
            raise torch.cuda.OutOfMemoryError(reason)  # after the forward pass, like a real one
        handle = None
        if reason:
            # The first trainable tensor is in the first layer, whose gradient comes last: by then the
            # later layers' gradients of this micro-batch are already in .grad.
            def fail(_: Any) -> None:
                raise torch.cuda.OutOfMemoryError(reason + " (in backward)")

            handle = next(p for p in model.parameters() if p.requires_grad).register_hook(fail)
        try:
            yield
        finally:
            if handle is not None:
                handle.remove()


def read_hooks() -> TestHooks:
    """The hooks as the environment sets them now."""
    try:
        delay = float(os.environ.get("TUNEDECK_CHECKPOINT_SAVE_DELAY", "0") or 0)
    except ValueError:
        delay = 0.0
    oom_rank = _whole_number("TUNEDECK_SIMULATE_OOM_RANK")
    this_rank = _whole_number("RANK") or 0  # torchrun's; absent in one process
    return TestHooks(
        pause_at_step=_whole_number("TUNEDECK_PAUSE_AT_STEP"),
        checkpoint_save_delay=max(0.0, delay),
        simulate_oom_above_batch=(_whole_number("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH") if oom_rank in (None, this_rank) else None),
        simulate_oom_from_step=_whole_number("TUNEDECK_SIMULATE_OOM_FROM_STEP") or 1,
        cuda_memory_mb=_whole_number("TUNEDECK_CUDA_MEMORY_MB"),
        simulate_oom_micro_batch=_whole_number("TUNEDECK_SIMULATE_OOM_MICRO_BATCH"),
        simulate_oom_in_backward=os.environ.get("TUNEDECK_SIMULATE_OOM_IN_BACKWARD", "") == "1",
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
