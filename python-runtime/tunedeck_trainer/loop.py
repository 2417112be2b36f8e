"""The training loop every method runs in: the optimizer steps, with feeding, accumulation, pause,
cancel, evals and checkpoints between them. A method (methods/) is only how a batch is built and
what its loss is. What runs once or around a step lives beside it, so this file reads as the loop:
set-up (training_setup.py), the out-of-memory retry (oom_retry.py), checkpoints and the adapter
(saving.py), the held-out eval (held_out.py), the step events and MFU (progress.py).

    python -m tunedeck_trainer train --job-dir DIR      (runner.py builds a Training and runs it)

Exact pause and resume: a checkpoint taken after optimizer step N holds the adapter, optimizer,
scheduler, RNG and the position inside the epoch's order (batches.epoch_micro_batches), and
continuing from it reproduces the uninterrupted run step for step, for every method.

A step's loss is the sum of its micro-batches' summed losses divided by the step's weight (SFT:
label tokens, DPO: pairs, KTO: examples), so gradient accumulation equals one big batch. When
CUDA runs out of memory (oom_retry.py), the step runs again from its start in smaller pieces of
the same micro-batches; checkpoints record the micro-batch in use and a resumed job keeps it.
"""

from __future__ import annotations

import math
import time
from pathlib import Path
from typing import Any

import torch

from . import distributed, held_out, oom_retry, progress, saving, sharding, training_setup
from .batches import MicroBatch
from .config import JobConfig
from .control import Control
from .errors import Cancelled, Paused, TrainerError
from .feeding import Feeder, Step, resolve_workers
from .methods import method_for
from .protocol import EventWriter
from .random_streams import restore_rng
from .test_hooks import read_hooks


class StepResult:
    """What one optimizer step computed: its loss, its micro-batches and the method's metrics."""

    def __init__(self, loss: float, batches: list[MicroBatch], sums: dict[str, float], prepared: Any, weight: float, tokens: int) -> None:
        self.loss = loss  # loss, weight, tokens and sums: over every rank
        self.batches = batches
        self.sums = sums
        self.prepared = prepared
        self.weight = weight
        self.tokens = tokens


class Training:
    """One job: ``setup()``, ``train()``, ``save_adapter()``; raises Paused/Cancelled/TrainerError."""

    def __init__(
        self, config: JobConfig, job_dir: Path, events: EventWriter, control: Control, ranks: distributed.Ranks = distributed.SINGLE
    ) -> None:
        self.config = config
        self.ranks = ranks  # one process, or this rank of several (distributed.py)
        self.agreed = distributed.AgreedControl(control, ranks)
        self.job_dir = job_dir
        self.events = events
        self.control = control
        self.method = method_for(config)
        self.hooks = read_hooks()
        self.step = 0
        self.epoch = 0  # index of the current epoch
        self.position = 0  # (global) micro-batches of that epoch already consumed
        self.offset = 0  # examples of the epoch's order before its first micro-batch (a resume on another rank count)
        self.last_loss: float | None = None
        self._rng_to_restore: dict[str, Any] | None = None
        # Examples per forward pass: batchSize, until an out-of-memory retry halves it.
        self.micro_batch_size = config.training.batch_size
        self.flop_parameters = 0  # N of the MFU formula (throughput.py)
        self.peak_flops: float | None = None
        self.oom_at: tuple[int, int] = (0, 0)  # examples and width of the micro-batch in flight

    # --- setup -----------------------------------------------------------------------------

    def setup(self) -> None:
        """Loads data and model (and the reference), builds optimizer and schedule, restores a checkpoint."""
        training_setup.set_up(self)

    def _reference_name(self) -> str | None:
        folder = self.forward.reference_folder
        return str(folder) if folder is not None else None

    def _log(self, level: str, message: str) -> None:
        print(f"[tunedeck] {level}: {message}", flush=True)
        self.events.emit("log", level=level, message=message)

    # --- training --------------------------------------------------------------------------

    def train(self) -> None:
        """Runs optimizer steps until totalSteps, with evals, checkpoints and control in between."""
        training, data = self.config.training, self.data
        workers = resolve_workers(training.dataloader_workers, self.precision.device)
        progress.report_started(self)
        self.control.phase = "training"
        self.control.step = self.step
        self.control.training.set()
        self.agreed.refresh()
        if self._rng_to_restore is not None:
            # Restored last, right before the first step, so nothing in setup shifts the streams.
            restore_rng(self._rng_to_restore)
        progress.describe_start(self, workers)
        with Feeder(
            data.train,
            self.method.collate_step,
            training.gradient_accumulation,
            workers,
            self.precision.device,
            (self.ranks.rank, self.ranks.world),
        ) as feeder:
            self._train_epochs(feeder)

    def _train_epochs(self, feeder: Feeder) -> None:
        training, data = self.config.training, self.data
        last_eval_step = -1
        window_start, window_tokens = time.perf_counter(), 0
        while self.step < self.total_steps:
            micro = distributed.epoch_layout(len(data.train), self.global_batch, training.seed, self.epoch, self.offset)
            feeder.start(micro, self.position, self.micro_batch_size)
            while self.position < len(micro) and self.step < self.total_steps:
                if self.agreed.cancel:
                    raise Cancelled(self.step)
                if self.agreed.pause:
                    raise Paused(self.step, saving.save(self, "pause", f"pause-{self.step}"))
                start, rng = self.position, oom_retry.step_rng(self.config, self.micro_batch_size)
                result = self.forward_backward(feeder.next())
                if result is None:  # CUDA ran out of memory: smaller micro-batches, same step
                    result = oom_retry.replay(self, feeder, micro, start, rng)
                grad_norm = self._optimizer_step()
                self.step += 1
                self.control.step = self.step
                if not math.isfinite(result.loss):
                    raise TrainerError(
                        f"training.learningRate: the loss became {result.loss} at step {self.step}; lower the learning rate",
                        "training.learningRate",
                    )
                self.last_loss = result.loss
                window_tokens += result.tokens
                if self.step % training.log_every == 0 or self.step == self.total_steps:
                    now = time.perf_counter()
                    per_second = window_tokens / max(now - window_start, 1e-9)
                    progress.report_step(self, result, grad_norm, per_second, len(micro))
                    window_start, window_tokens = now, 0
                if self.position >= len(micro) and data.validation:
                    held_out.evaluate(self)
                    last_eval_step = self.step
                saving.after_step(self)
            if self.position >= len(micro):
                self.epoch, self.position, self.offset = self.epoch + 1, 0, 0
        if data.validation and last_eval_step != self.step:
            held_out.evaluate(self)

    def forward_backward(self, step: Step) -> StepResult | None:
        """Accumulates the gradients of one optimizer step; None when CUDA ran out of memory.

        Each configured micro-batch of ``step`` comes as pieces of ``micro_batch_size`` examples;
        every piece's summed loss is divided by the weight of the whole step, so the pieces add
        up to exactly the loss (and gradient) of the unsplit step.
        """
        # Token ids are small: the whole step goes to the device at once (KTO's prepare reads all of it).
        step = [[batch.to(self.precision.device) for batch in pieces] for pieces in step]
        batches = [batch for pieces in step for batch in pieces]
        # Summed over the ranks first: each rank's losses are divided by the whole step's weight.
        weight = self.ranks.total(sum(batch.weight for batch in batches))
        missing = sharding.passes_short(self, len(batches))  # FSDP: every rank runs as many passes
        loss_total, sums, out_of_memory = 0.0, {}, False
        try:
            prepared = self.method.prepare(self.forward, step)
            run = 0  # micro-batches run so far in this attempt
            for pieces in step:
                for batch in pieces:
                    run += 1
                    self.oom_at = (batch.examples, int(batch.input_ids.shape[1]))
                    summed, metrics = self.method.loss(self.forward, batch, prepared)
                    loss = summed / weight
                    with self.hooks.backward(self.model, batch.examples, self.step + 1, run):  # tests' simulated OOM
                        (self.scaler.scale(loss) if self.scaler else loss).backward()
                    loss_total += float(loss.detach())
                    for key, value in metrics.items():
                        sums[key] = sums.get(key, 0.0) + value
                    if self.agreed.cancel_mid_step:
                        raise Cancelled(self.step)
                self.position += 1
            sharding.fill(self, missing)
        except torch.cuda.OutOfMemoryError:
            # Returning drops this frame, the traceback and with them the graph and activations.
            if self.ranks.world == 1:
                return None
            sharding.no_retry(self)  # FSDP: the other ranks wait in a layer's all-gather, not for a retry
            out_of_memory = True
        if self.ranks.any(out_of_memory):  # every rank retries, or none
            return None
        loss_total, tokens, sums = self.ranks.combine(loss_total, sum(batch.tokens for batch in batches), sums)
        return StepResult(loss_total, batches, sums, prepared, weight, tokens)

    def _optimizer_step(self) -> float | None:
        """Clips to norm 1.0, steps optimizer and schedule; returns the norm before clipping."""
        self.ranks.reduce_gradients(self.trainable)
        if self.scaler:
            self.scaler.unscale_(self.optimizer)
        norm = float(torch.nn.utils.clip_grad_norm_(self.trainable, 1.0))
        if self.scaler:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.scheduler.step()
        self.optimizer.zero_grad(set_to_none=True)
        return norm if math.isfinite(norm) else None

    def save_adapter(self) -> Path:
        """Writes the trained adapter and tokenizer to DIR/adapter (via adapter.tmp, renamed when whole)."""
        return saving.save_adapter(self)

    @property
    def global_batch(self) -> int:
        """Examples of one global micro-batch: batchSize on each rank."""
        return self.config.training.batch_size * self.ranks.world
