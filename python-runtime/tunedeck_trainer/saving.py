"""What a checkpoint's state.json records of a training run (loop.Training), read back on resume.

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
from . import distributed, loading


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
        "step": training.step, "epoch": epoch, "position": position, "examplesSeen": seen,
        "ranks": training.ranks.world, "loss": training.last_loss, "kind": kind,
        "method": training.method.name, "time": time.time(), "baseModel": str(training.model_path),
        "loraRank": lora.rank, "loraAlpha": lora.alpha,
        "targetModules": lora.target_modules if isinstance(lora.target_modules, str) else list(lora.target_modules),
        "configHash": config.hash(), "totalSteps": training.total_steps,
        # What an out-of-memory retry changed; a resumed job continues with these.
        "microBatchSize": micro,
        "gradientAccumulation": settings.gradient_accumulation * math.ceil(settings.batch_size / micro),
        # None: the base model
        **({"reference": training._reference_name()} if training.method.uses_reference else {}),
    }


def resume(training: Any, folder: Path, state: dict[str, Any]) -> None:
    """Puts the checkpoint ``folder`` (with its ``state``) into ``training`` before its first step."""
    loading.load_adapter_weights(training.model, folder, "resumeFrom")
    streams = checkpoints.load_training_state(folder, training.optimizer, training.scheduler, training.scaler)
    own = folder / f"rng-rank{training.ranks.rank}.pt"  # each rank's dropout streams, on the same rank count
    if training.ranks.rank and int(state.get("ranks", 1)) == training.ranks.world and own.is_file():
        streams = checkpoints.load_state_file(own)
    training._rng_to_restore = streams
    training.step, training.epoch = int(state["step"]), int(state["epoch"])
    training.position, training.offset = distributed.resume_place(
        state, training.global_batch, training.config.training.batch_size)
    training.last_loss = state.get("loss")
    if state.get("configHash") != training.config.hash():
        training._log("warning", f"resuming {folder.name} with a changed config; steps will differ from an "
                      "uninterrupted run")
    reference = training._reference_name()
    if "reference" in state and state["reference"] != reference:
        training._log("warning", f"resuming {folder.name} with another reference than it was trained against "
                      f"({state['reference'] or 'the base model'}); initFrom sets the reference")
    print(f"[tunedeck] resuming from {folder.name} at step {training.step}", flush=True)
    if training.micro_batch_size < training.config.training.batch_size:
        training._log("info", f"continuing with micro-batches of {training.micro_batch_size} "
                      f"{training.method.unit}s, as before the pause (an out-of-memory retry had lowered them)")
