"""Checkpoints of a training run (loop.Training): saving one (rank 0 writes it, every rank's random
streams go in), the periodic, requested and pause checkpoints after a step, the final adapter, and
what state.json records, read back on resume. The folder format itself is checkpoint.py; this
module is what the loop saves and when, so loop.py holds only the step loop.

Besides the step and the method it holds the place in the epoch's order twice: ``position``
(global micro-batches consumed, as one process always wrote it) and ``examplesSeen`` with the
rank count, so a resume on another number of ranks continues at the same example
(distributed.resume_place).
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

from . import checkpoint as checkpoints
from . import checkpoint_loading, distributed, loading
from .random_streams import rng_state


def after_step(training: Any) -> None:
    """Periodic and requested checkpoints, and the test hook that pauses at a given step."""
    settings = training.config.training
    if settings.checkpoint_every and training.step % settings.checkpoint_every == 0:
        save(training, "periodic", f"step-{training.step}")
        pruned = checkpoints.prune_periodic(training.job_dir, settings.keep_checkpoints) if training.ranks.main else []
        for name in pruned:
            print(f"[tunedeck] removed old checkpoint {name}", flush=True)
    if training.hooks.pause_at_step is not None and training.step == training.hooks.pause_at_step:
        print(f"[tunedeck] test hook: pausing at step {training.step}", flush=True)
        training.control.pause.set()
    training.agreed.refresh()
    for name in training.agreed.take_checkpoints():
        save(training, "named", name)


def save(training: Any, kind: str, name: str) -> str:
    """Saves checkpoint ``name`` (rank 0 writes it) and emits its event; returns the name."""
    training.control.phase = "saving"
    state = checkpoint_state(training, kind)
    # Every rank's random streams (dropout): a resume on as many ranks continues each exactly.
    streams = training.ranks.gather(rng_state())
    if training.ranks.main:
        folder, size = checkpoints.save_checkpoint(
            training.job_dir,
            name,
            model=training.model,
            optimizer=training.optimizer,
            scheduler=training.scheduler,
            scaler=training.scaler,
            state=state,
            delay=training.hooks.checkpoint_save_delay,
            extra={f"rng-rank{rank}.pt": stream for rank, stream in enumerate(streams) if rank},
        )
        training.events.emit("checkpoint", step=training.step, name=name, kind=kind, path=str(folder), loss=training.last_loss, bytes=size)
        print(f"[tunedeck] saved {kind} checkpoint {name} ({size / 1e6:.1f} MB)", flush=True)
    training.control.phase = "training"
    return name


def save_adapter(training: Any) -> Path:
    """Writes the trained adapter and tokenizer to DIR/adapter (via adapter.tmp, renamed when whole)."""
    training.control.phase = "saving"
    if not training.ranks.main:  # rank 0 writes it; every rank holds the same weights
        return training.job_dir / "adapter"
    return checkpoints.publish_adapter(training.job_dir, training.model, training.tokenizer)


def checkpoint_state(training: Any, kind: str) -> dict[str, Any]:
    """state.json of a checkpoint of ``kind`` taken now."""
    config = training.config
    settings, lora = config.training, config.lora
    count = len(training.data.train)
    epoch, position, offset = training.epoch, training.position, training.offset
    seen = min(count, offset + position * training.global_batch)
    if seen >= count:
        epoch, position, seen = epoch + 1, 0, 0  # the epoch is finished (and evaluated)
    micro = training.micro_batch_size
    return {
        "step": training.step,
        "epoch": epoch,
        "position": position,
        "examplesSeen": seen,
        "ranks": training.ranks.world,
        "loss": training.last_loss,
        "kind": kind,
        "method": training.method.name,
        "time": time.time(),
        "baseModel": str(training.model_path),
        "loraRank": lora.rank,
        "loraAlpha": lora.alpha,
        "targetModules": lora.target_modules if isinstance(lora.target_modules, str) else list(lora.target_modules),
        "configHash": config.hash(),
        "totalSteps": training.total_steps,
        # What an out-of-memory retry changed; a resumed job continues with these.
        "microBatchSize": micro,
        "gradientAccumulation": settings.gradient_accumulation * math.ceil(settings.batch_size / micro),
        # None: the base model
        **({"reference": training._reference_name()} if training.method.uses_reference else {}),
    }


def resume(training: Any, folder: Path, state: dict[str, Any]) -> None:
    """Puts the checkpoint ``folder`` (with its ``state``) into ``training`` before its first step."""
    loading.load_adapter_weights(training.model, folder, "resumeFrom")
    streams = checkpoint_loading.load_training_state(folder, training.optimizer, training.scheduler, training.scaler)
    own = folder / f"rng-rank{training.ranks.rank}.pt"  # each rank's dropout streams, on the same rank count
    if training.ranks.rank and int(state.get("ranks", 1)) == training.ranks.world and own.is_file():
        streams = checkpoint_loading.load_state_file(own)
    training._rng_to_restore = streams
    training.step, training.epoch = int(state["step"]), int(state["epoch"])
    training.position, training.offset = distributed.resume_place(state, training.global_batch, training.config.training.batch_size)
    training.last_loss = state.get("loss")
    if state.get("configHash") != training.config.hash():
        training._log("warning", f"resuming {folder.name} with a changed config; steps will differ from an uninterrupted run")
    reference = training._reference_name()
    if "reference" in state and state["reference"] != reference:
        training._log(
            "warning",
            f"resuming {folder.name} with another reference than it was trained against "
            f"({state['reference'] or 'the base model'}); initFrom sets the reference",
        )
    print(f"[tunedeck] resuming from {folder.name} at step {training.step}", flush=True)
    if training.micro_batch_size < training.config.training.batch_size:
        training._log(
            "info",
            f"continuing with micro-batches of {training.micro_batch_size} "
            f"{training.method.unit}s, as before the pause (an out-of-memory retry had lowered them)",
        )
