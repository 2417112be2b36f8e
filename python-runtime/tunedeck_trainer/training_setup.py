"""Setting up a training run before its first step (loop.Training.setup): precision, tokenizer, the
method's data, the memory estimate, model, 4-bit, LoRA, initFrom, the reference of DPO and KTO,
optimizer and schedule, and the checkpoint to resume. Apart from loop.py so the loop reads as the
step loop alone; everything here runs once, in this order, and sets the fields the loop uses.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch

from . import (
    checkpoint_choice,
    checkpoint_loading,
    distributed,
    loading,
    memory_estimate,
    saving,
    sharding,
    throughput,
)
from .config import resolve_model_path
from .forward import Forward, disable_dropout
from .schedule import linear_schedule, total_steps


def set_up(training: Any) -> None:
    """Loads data and model (and the reference) into ``training`` (a loop.Training), builds its optimizer
    and schedule, and restores the checkpoint resumeFrom names."""
    config, settings, method = training.config, training.config.training, training.method
    training.precision = loading.resolve_precision(settings.precision)
    training.quantized = config.model.quantization == "4bit"
    if training.quantized:
        from . import quantization

        quantization.check_available()  # before any weights or data are read
    loading.seed_everything(settings.seed)
    training.model_path = resolve_model_path(training.job_dir, config.model.path).resolve()
    resume = checkpoint_choice.find_resume(config, training.job_dir)
    init_folder = checkpoint_choice.find_init(config, training.job_dir)
    if resume is not None and isinstance(resume[1].get("microBatchSize"), int):
        training.micro_batch_size = max(1, min(resume[1]["microBatchSize"], settings.batch_size))

    training.control.phase = "loading_data"
    training.events.emit("heartbeat", phase="loading_data")
    training.tokenizer = loading.load_tokenizer(training.model_path)
    packing = settings.packing and method.packs
    obstacle = loading.packing_obstacle(training.model_path) if packing else None
    if obstacle:
        packing = False
        training._log(
            "warning",
            f"training.packing: {obstacle}; training unpacked (one example per row) instead. "
            "Set training.packing to false to start that way without this warning",
        )
    training.data = data = method.load_data(config, training.job_dir, training.tokenizer, packing)
    examples = data.packed_from or len(data.train)
    training.events.emit(
        "dataset",
        format=data.format,
        examples=examples,
        skipped=data.skipped,
        truncated=data.truncated,
        validationExamples=len(data.validation),
        **({"packedRows": len(data.train)} if data.packed_from else {}),
        **({"mix": data.mix} if data.mix else {}),
    )
    print(
        f"[tunedeck] dataset: {examples} training {method.unit}s ({data.format}), {len(data.validation)} held "
        f"out, {data.skipped} rows skipped, {data.truncated} truncated",
        flush=True,
    )
    if data.empty:
        training._log("warning", f"{data.empty} examples had no response token left to learn from and were dropped")
    if data.packed_from:
        print(
            f"[tunedeck] packing: {data.packed_from} examples in {len(data.train)} rows of up to {settings.max_seq_length} tokens",
            flush=True,
        )
    for level, note in method.notes(config):
        training._log(level, note)

    training.control.phase = "loading_model"
    training.events.emit("heartbeat", phase="loading_model")
    cuda = training.precision.device.type == "cuda"
    training.flop_parameters, training.layout = memory_estimate.report_estimate(
        config,
        training.model_path,
        max(1, data.longest),
        cuda=cuda,
        quantized=training.quantized,
        ranks=training.ranks.world,
        micro_batch_size=training.micro_batch_size * method.sequences_per_example,
        compute_bytes=2 if training.quantized and cuda else training.precision.dtype.itemsize,
        events=training.events,
        log=training._log,
    )
    how = "4-bit NF4" if training.quantized else training.precision.name
    print(f"[tunedeck] loading {training.model_path} on {training.precision.device} ({how})", flush=True)
    model = loading.load_model(
        training.model_path,
        training.precision,
        quantization=config.model.quantization,
        gradient_checkpointing=settings.gradient_checkpointing,
    )
    if not training.flop_parameters and not training.quantized:
        training.flop_parameters = throughput.matmul_parameters(model)
    if cuda:
        training.peak_flops = throughput.peak_flops(torch.cuda.get_device_name(training.precision.device))
    training.model = loading.apply_lora(model, config.lora)
    if init_folder is not None:
        loading.load_adapter_weights(training.model, init_folder, "initFrom")
    training.forward = Forward(training.model, training.precision, training.ranks)
    if method.uses_reference:
        set_up_reference(training, init_folder)
    training.model.train()
    sharding.shard(training)  # FSDP: the base weights split across the ranks
    if training.forward.label_only:
        print("[tunedeck] loss: the output head runs only where a token is learned", flush=True)
    training.trainable = [parameter for parameter in training.model.parameters() if parameter.requires_grad]
    training.total_steps = total_steps(
        len(data.train), training.global_batch, settings.gradient_accumulation, settings.epochs, settings.max_steps
    )
    if resume is not None:
        changed, message = distributed.rank_change(
            resume[1],
            training.ranks.world,
            settings.batch_size,
            settings.gradient_accumulation,
            len(data.train),
            settings.epochs,
            settings.max_steps,
        )
        training.total_steps = changed or training.total_steps
        if message:
            training._log("warning", message)
    fused = {"fused": True} if cuda else {}
    training.optimizer = torch.optim.AdamW(training.trainable, lr=settings.learning_rate, weight_decay=settings.weight_decay, **fused)
    warmup = math.ceil(settings.warmup_ratio * training.total_steps)
    training.scheduler = torch.optim.lr_scheduler.LambdaLR(training.optimizer, linear_schedule(warmup, training.total_steps))
    training.scaler = torch.amp.GradScaler("cuda") if training.precision.scaler else None
    if resume is not None:
        saving.resume(training, *resume)
    elif init_folder is not None and config.init_optimizer:
        carried = checkpoint_loading.continue_optimizer(init_folder, training.optimizer)
        print(f"[tunedeck] optimizer: continuing the state of {init_folder.name} ({carried} parameters)", flush=True)


def set_up_reference(training: Any, init_folder: Path | None) -> None:
    """DPO and KTO: the reference is initFrom's adapter (frozen), else the base; no dropout."""
    if init_folder is not None:
        for warning in training.forward.load_reference(init_folder):
            training._log("warning", warning)
        training._log(
            "info",
            f"{training.method.name.upper()} reference: the initFrom checkpoint {init_folder} (its "
            "adapter, frozen); the policy starts equal to it",
        )
    else:
        training._log("info", f"{training.method.name.upper()} reference: the base model {training.model_path} with the adapter disabled")
    disable_dropout(training.model)
