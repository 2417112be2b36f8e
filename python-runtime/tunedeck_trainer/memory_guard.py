"""What the recipes do about GPU memory: the estimate before the weights load (the memory event,
SFT and DPO), freeing a failed step, and SFT's out-of-memory retry (the oom event, then half the
micro-batch or a clear failure; DPO's is in dpo.py, since HF Trainer sets its batches).

The arithmetic lives in memory.py; this module turns it into events, warnings and errors that
name the config fields to change.
"""

from __future__ import annotations

import gc
import math
from pathlib import Path
from typing import Any, Callable

import torch

from . import memory, throughput
from .config import JobConfig
from .errors import TrainerError
from .protocol import EventWriter

Log = Callable[[str, str], None]  # (level, message): prints and emits a log event
RngState = tuple[torch.Tensor, list[torch.Tensor]]


def report_estimate(config: JobConfig, model_path: Path, longest: int, *, cuda: bool, compute_bytes: int,
                    quantized: bool, micro_batch_size: int, events: EventWriter, log: Log) -> int:
    """Emits the memory event (and a warning when it will not fit), before the weights load.

    ``longest`` is the longest sequence (tokens) a forward pass sees, ``micro_batch_size`` the
    sequences of one forward pass (DPO: two a pair, chosen and rejected). Returns the matmul
    parameter count of the model (N of the MFU formula), 0 when transformers cannot build the
    architecture on the meta device.
    """
    training = config.training
    try:
        meta = memory.meta_model(model_path)
    except Exception as error:  # an architecture transformers cannot build: no estimate
        log("debug", f"no memory estimate: cannot build {model_path} on the meta device ({error})")
        return 0
    flop_parameters = throughput.matmul_parameters(meta)
    checkpointing = training.gradient_checkpointing or quantized
    estimate = memory.estimate_memory(
        meta, rank=config.lora.rank, targets=config.lora.target_modules, batch_size=micro_batch_size,
        seq_length=min(longest, training.max_seq_length), compute_bytes=compute_bytes, quantized=quantized,
        gradient_checkpointing=checkpointing, cuda=cuda,
    )
    del meta
    free = memory.free_cuda_mb()
    total = memory.ceil_mb(estimate.total)
    fits = None if free is None else total <= free
    events.emit(
        "memory", estimatedMb=total, freeMb=None if free is None else round(free, 1), fits=fits,
        detail=estimate.detail(),
    )
    where = f"of {free:,.0f} MB free" if free is not None else "(no GPU to compare with)"
    print(f"[tunedeck] memory estimate: {total:,.0f} MB {where}", flush=True)
    if fits is False:
        log("warning", memory.advice(
            total, free, batch_size=micro_batch_size, seq_length=training.max_seq_length,
            gradient_checkpointing=checkpointing, quantized=quantized,
        ))
    return flop_parameters


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


def recover(config: JobConfig, optimizer: Any, *, failed_step: int, micro_batch_size: int, rows: int, width: int,
            events: EventWriter, log: Log) -> int:
    """Frees the failed attempt and emits the oom event; returns the halved micro-batch size.

    Raises TrainerError naming training.batchSize when the retry is off or the micro-batch is
    already one row.
    """
    training = config.training
    optimizer.zero_grad(set_to_none=True)
    free_memory()
    retry = training.oom_retry and micro_batch_size > 1
    smaller = math.ceil(micro_batch_size / 2) if retry else None
    accumulation = training.gradient_accumulation * math.ceil(training.batch_size / smaller) if smaller else None
    events.emit(
        "oom", step=failed_step, batchSize=micro_batch_size, maxSeqLength=width, retry=retry,
        newBatchSize=smaller, newGradientAccumulation=accumulation,
    )
    if smaller is None:
        why = "training.oomRetry is off" if micro_batch_size > 1 else "the micro-batch is already 1 row"
        raise TrainerError(
            f"training.batchSize: CUDA ran out of memory in step {failed_step} at a micro-batch of {rows} rows x "
            f"{width} tokens ({why}); lower training.batchSize (raising training.gradientAccumulation keeps the "
            f"effective batch) or training.maxSeqLength (now {training.max_seq_length}), or turn on "
            'training.gradientCheckpointing or model.quantization "4bit"', "training.batchSize",
        )
    log("warning", (
        f"CUDA ran out of memory in step {failed_step} at {micro_batch_size} rows x {width} tokens; retrying "
        f"with micro-batches of {smaller} rows and gradient accumulation {accumulation} (same effective batch). "
        f"Set training.batchSize {smaller} and training.gradientAccumulation {accumulation} to start there next time"
    ))
    return smaller
