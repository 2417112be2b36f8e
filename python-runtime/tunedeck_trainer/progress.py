"""What the training loop tells the host and the user as it goes: the started event with the
run's sizes, and each logged step's event and terminal line (loss, learning rate, gradient norm,
tokens/s, MFU, the method's own metrics). Apart from loop.py because it only reads the run's
state and formats it; the events' fields are protocol.ts's.
"""

from __future__ import annotations

from typing import Any

import torch

from . import memory_estimate, throughput
from .feeding import describe_workers


def report_started(training: Any) -> None:
    """The started event, with the run's sizes, before the first step."""
    settings, data = training.config.training, training.data
    training.events.emit(
        "started",
        step=training.step,
        totalSteps=training.total_steps,
        epochs=float(settings.epochs),
        examples=data.packed_from or len(data.train),
        device=str(training.precision.device),
        dtype=training.precision.name,
        trainableParams=sum(p.numel() for p in training.trainable),
        ranks=training.ranks.world,
        totalParams=sum(p.numel() for p in training.model.parameters()),
        **training.method.started_fields(),
    )


def describe_start(training: Any, workers: int) -> None:
    """The terminal lines on data feeding and ranks, once training runs."""
    settings, ranks = training.config.training, training.ranks
    print(f"[tunedeck] data feeding: {describe_workers(workers, settings.dataloader_workers, training.precision.device)}", flush=True)
    if ranks.world > 1:
        print(
            f"[tunedeck] {ranks.world} ranks ({ranks.backend}): global batch {settings.batch_size} x "
            f"{ranks.world} x {settings.gradient_accumulation}",
            flush=True,
        )


def report_step(training: Any, result: Any, grad_norm: float | None, per_second: float, epoch_length: int) -> None:
    """The step event and terminal line of the step just taken (``result``: a loop.StepResult)."""
    # The lr this step used is the one before scheduler.step(): recompute it from the factor.
    lr = training.config.training.learning_rate * training.scheduler.lr_lambdas[0](training.step - 1)
    epoch = training.epoch + training.position / max(1, epoch_length)
    mfu = throughput.mfu(
        per_second / training.ranks.world, training.flop_parameters, training.peak_flops, training.method.flops_per_parameter
    )
    summary = training.method.summary(result.sums, result.weight, result.prepared)
    extra = {}
    if training.precision.device.type == "cuda":
        # Beyond protocol.ts: the allocator's peak so far, read by bench/trainer_throughput.py.
        peak = torch.cuda.max_memory_allocated(training.precision.device)
        extra["peakMemoryMb"] = round(peak / memory_estimate.MB, 1)
    training.events.emit(
        "step",
        step=training.step,
        totalSteps=training.total_steps,
        loss=result.loss,
        lr=lr,
        gradNorm=grad_norm,
        tokens=result.tokens,
        epoch=epoch,
        tokensPerSecond=per_second,
        mfu=mfu,
        **summary,
        **extra,
    )
    norm = f"{grad_norm:.3f}" if grad_norm is not None else "n/a"
    utilisation = f" | MFU {mfu:.1%}" if mfu is not None else ""
    print(
        f"step {training.step}/{training.total_steps} | loss {result.loss:.4f} | lr {lr:.2e} | grad {norm} | "
        f"{per_second:,.0f} tok/s{utilisation}{training.method.describe(summary)} | epoch {epoch:.2f}",
        flush=True,
    )
