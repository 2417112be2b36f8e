"""Whether a model trains on this GPU at the default settings, for LoRA and QLoRA.

Uses the trainer's own estimator (memory_estimate.py) on the meta device, so the figure is the
one the job's memory event will show. A verdict is "fits" (estimate at most TIGHT_SHARE of free
memory), "tight" (fits, but with less than that margin) or "no"; when it is not "fits", the first
of a short list of changes that brings it under TIGHT_SHARE is named, and when none does, the
fewest such GPUs FSDP fits it on (``fsdpGpus``, per_gpu.py).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from ..config import LoraSettings, TrainingSettings
from ..memory_estimate import ceil_mb, estimate_memory, free_cuda_mb, meta_model
from ..per_gpu import fewest_ranks, weight_split

TIGHT_SHARE = 0.9
BF16_BYTES = 2


def _parts(meta: Any, training: TrainingSettings, lora: LoraSettings, quantized: bool, cuda: bool) -> Any:
    return estimate_memory(
        meta,
        rank=lora.rank,
        targets=lora.target_modules,
        batch_size=training.batch_size,
        seq_length=training.max_seq_length,
        compute_bytes=BF16_BYTES,
        quantized=quantized,
        gradient_checkpointing=training.gradient_checkpointing or quantized,
        cuda=cuda,
    )


def _estimate(meta: Any, training: TrainingSettings, lora: LoraSettings, quantized: bool, cuda: bool) -> float:
    return ceil_mb(_parts(meta, training, lora, quantized, cuda).total)


def _fsdp_gpus(meta: Any, training: TrainingSettings, lora: LoraSettings, quantized: bool, cuda: bool, free_mb: float) -> int | None:
    """The fewest GPUs like this one that FSDP fits the model on, at the mildest settings tried
    (per_gpu.py); None when no count up to 64 does."""
    mildest = ([training] + [changed for _, changed in _changes(training)])[-1]
    split = weight_split(meta, compute_bytes=BF16_BYTES, quantized=quantized)
    return fewest_ranks(_parts(meta, mildest, lora, quantized, cuda), split, free_mb * TIGHT_SHARE)


def verdict(estimated_mb: float, free_mb: float | None) -> str | None:
    """ "fits", "tight" or "no" against the free memory; None without a GPU."""
    if free_mb is None:
        return None
    if estimated_mb <= free_mb * TIGHT_SHARE:
        return "fits"
    return "tight" if estimated_mb <= free_mb else "no"


def _changes(training: TrainingSettings) -> list[tuple[str, TrainingSettings]]:
    """Settings to try, mildest first, each with the label the page shows."""
    options = []
    if not training.gradient_checkpointing:
        training = replace(training, gradient_checkpointing=True)
        options.append(("training.gradientCheckpointing on", training))
    if training.batch_size > 1:
        training = replace(training, batch_size=1, gradient_accumulation=training.batch_size * training.gradient_accumulation)
        options.append((f"training.batchSize 1 (gradientAccumulation {training.gradient_accumulation})", training))
    length = training.max_seq_length
    while length > 256:
        length //= 2
        training = replace(training, max_seq_length=length)
        options.append((f"training.maxSeqLength {length} with the changes above", training))
    return options


def settings_from(values: dict[str, Any]) -> tuple[TrainingSettings, LoraSettings]:
    """The estimate's settings from config.json-style keys (a preset's), defaults for the rest."""
    training = values.get("training") or {}
    lora = values.get("lora") or {}
    targets = lora.get("targetModules", LoraSettings.target_modules)
    return (
        replace(
            TrainingSettings(),
            batch_size=int(training.get("batchSize", TrainingSettings.batch_size)),
            max_seq_length=int(training.get("maxSeqLength", TrainingSettings.max_seq_length)),
            gradient_checkpointing=bool(training.get("gradientCheckpointing", False)),
            gradient_accumulation=int(training.get("gradientAccumulation", 1)),
        ),
        replace(
            LoraSettings(),
            rank=int(lora.get("rank", LoraSettings.rank)),
            target_modules=targets if isinstance(targets, str) else tuple(targets),
        ),
    )


def model_fit(
    folder: Path, free_mb: float | None = None, *, cuda: bool | None = None, settings: dict[str, Any] | None = None
) -> dict[str, Any]:
    """LoRA and QLoRA estimates in MB at the default settings (or a preset's), their verdicts and a setting that fits."""
    if cuda is None:
        free_mb = free_cuda_mb() if free_mb is None else free_mb
        cuda = free_mb is not None
    meta = meta_model(folder)
    training, lora = settings_from(settings or {})
    result: dict[str, Any] = {"freeMb": None if free_mb is None else round(free_mb, 1)}
    for key, quantized in (("lora", False), ("qlora", True)):
        estimated = _estimate(meta, training, lora, quantized, cuda)
        entry: dict[str, Any] = {"estimatedMb": estimated, "verdict": verdict(estimated, free_mb), "suggestion": None, "fsdpGpus": None}
        if entry["verdict"] in ("tight", "no"):
            for label, changed in _changes(training):
                if verdict(_estimate(meta, changed, lora, quantized, cuda), free_mb) == "fits":
                    entry["suggestion"] = label
                    break
        if entry["verdict"] == "no" and entry["suggestion"] is None and free_mb is not None:
            entry["fsdpGpus"] = _fsdp_gpus(meta, training, lora, quantized, cuda, free_mb)
        result[key] = entry
    return result
