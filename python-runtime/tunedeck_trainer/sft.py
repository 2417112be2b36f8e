"""Supervised fine-tuning with LoRA: setup, train, save_checkpoint, save_adapter.

A hand-written loop (not HF Trainer) so that pause and resume are exact: a checkpoint taken
after optimizer step N holds the adapter, optimizer, scheduler, RNG and the position inside
the epoch's order, and continuing from it reproduces the uninterrupted run step for step.

The loss of an optimizer step is the mean over every label token of its micro-batches
(each micro-batch's summed loss is divided by the step's total label tokens), so gradient
accumulation equals one bigger batch. Run through the CLI: python -m tunedeck_trainer train.

The micro-batches come from feeding.Feeder: collated ahead in DataLoader worker processes
(training.dataloaderWorkers) or in this process, the same tensors either way. Packed rows
(training.packing) are used only for models whose mask code keeps packed examples apart;
others train unpacked, with a warning.

When CUDA runs out of memory in a micro-batch (and training.oomRetry allows it), the step is
retried from its start with micro-batches of half the rows (memory_guard.py): each configured
micro-batch is cut into pieces (batches.split_chunk), so the effective batch, the data order and
the token-weighted loss stay the same; the feeder restarts at the step with the new size.
Checkpoints record the micro-batch size in use, and a resumed job continues with it.

Test hooks:
- TUNEDECK_PAUSE_AT_STEP=N acts as if {"cmd":"pause"} arrived during step N.
- TUNEDECK_SIMULATE_OOM_ABOVE_BATCH=N raises torch.cuda.OutOfMemoryError after the forward
  pass of any micro-batch with more than N rows (on CPU too), to test the retry.
"""

from __future__ import annotations

import contextlib
import math
import os
import time
from pathlib import Path
from typing import Any

import torch

from . import checkpoint as checkpoints
from . import loading, loss, memory, memory_guard, throughput
from .batches import MicroBatch, collate, epoch_micro_batches, linear_schedule, total_steps
from .config import JobConfig, resolve_model_path
from .control import Control
from .errors import Cancelled, Paused, TrainerError
from .feeding import Feeder, Step, describe_workers, resolve_workers
from .protocol import EventWriter


class SftRecipe:
    """One SFT job: build it with ``setup()``, run ``train()``; raises Paused/Cancelled/TrainerError."""

    def __init__(self, config: JobConfig, job_dir: Path, events: EventWriter, control: Control) -> None:
        self.config = config
        self.job_dir = job_dir
        self.events = events
        self.control = control
        self.step = 0
        self.epoch = 0  # index of the current epoch
        self.position = 0  # micro-batches of that epoch already consumed
        self.last_loss: float | None = None
        self._rng_to_restore: dict[str, Any] | None = None
        pause_at = os.environ.get("TUNEDECK_PAUSE_AT_STEP", "")
        self.pause_at_step = int(pause_at) if pause_at.strip().isdigit() else None
        simulate = os.environ.get("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "")
        self.simulate_oom_above = int(simulate) if simulate.strip().isdigit() else None
        # Rows per forward pass: batchSize, until an out-of-memory retry halves it.
        self.micro_batch_size = config.training.batch_size
        self.flop_parameters = 0  # N of the MFU formula (throughput.py)
        self.peak_flops: float | None = None
        self._oom_at: tuple[int, int] = (0, 0)  # rows and width of the micro-batch in flight

    # --- setup -----------------------------------------------------------------------------

    def setup(self) -> None:
        """Loads data and model, builds optimizer and schedule, restores a checkpoint if asked."""
        config, training = self.config, self.config.training
        self.precision = loading.resolve_precision(training.precision)
        self.quantized = config.model.quantization == "4bit"
        if self.quantized:
            from . import quantization

            quantization.check_available()  # before any weights or data are read
        loading.seed_everything(training.seed)
        self.model_path = resolve_model_path(self.job_dir, config.model.path).resolve()
        resume = checkpoints.find_resume(config, self.job_dir)
        init_folder = checkpoints.find_init(config, self.job_dir)
        if resume is not None and isinstance(resume[1].get("microBatchSize"), int):
            self.micro_batch_size = max(1, min(resume[1]["microBatchSize"], training.batch_size))

        self.control.phase = "loading_data"
        self.events.emit("heartbeat", phase="loading_data")
        self.tokenizer = loading.load_tokenizer(self.model_path)
        packing = training.packing
        obstacle = loading.packing_obstacle(self.model_path) if packing else None
        if obstacle:
            packing = False
            self._log("warning", f"training.packing: {obstacle}; training unpacked (one example per row) instead. "
                      "Set training.packing to false to start that way without this warning")
        self.data = loading.load_data(config, self.job_dir, self.tokenizer, packing=packing)
        data = self.data
        self.events.emit(
            "dataset", format=data.format, examples=data.packed_from or len(data.train), skipped=data.skipped,
            truncated=data.truncated, validationExamples=len(data.validation),
            **({"packedRows": len(data.train)} if data.packed_from else {}),
        )
        print(f"[tunedeck] dataset: {data.packed_from or len(data.train)} training examples ({data.format}), "
              f"{len(data.validation)} held out, {data.skipped} rows skipped, {data.truncated} truncated", flush=True)
        if data.empty:
            self._log("warning", f"{data.empty} examples had no response token left to learn from and were dropped")
        if data.packed_from:
            print(f"[tunedeck] packing: {data.packed_from} examples in {len(data.train)} rows "
                  f"of up to {training.max_seq_length} tokens", flush=True)

        self.control.phase = "loading_model"
        self.events.emit("heartbeat", phase="loading_model")
        cuda = self.precision.device.type == "cuda"
        self.flop_parameters = memory_guard.report_estimate(
            config, self.model_path, max(len(example["input_ids"]) for example in data.train), cuda=cuda,
            quantized=self.quantized, micro_batch_size=self.micro_batch_size,
            compute_bytes=2 if self.quantized and cuda else self.precision.dtype.itemsize, events=self.events, log=self._log,
        )
        how = "4-bit NF4" if self.quantized else self.precision.name
        print(f"[tunedeck] loading {self.model_path} on {self.precision.device} ({how})", flush=True)
        model = loading.load_model(
            self.model_path, self.precision, quantization=config.model.quantization,
            gradient_checkpointing=training.gradient_checkpointing,
        )
        if not self.flop_parameters and not self.quantized:
            self.flop_parameters = throughput.matmul_parameters(model)
        if self.precision.device.type == "cuda":
            self.peak_flops = throughput.peak_flops(torch.cuda.get_device_name(self.precision.device))
        self.model = loading.apply_lora(model, config.lora)
        if init_folder is not None:
            loading.load_adapter_weights(self.model, init_folder, "initFrom")
        self.model.train()
        self.loss_sum = loss.loss_function(self.model)
        if self.loss_sum is loss.label_only_loss_sum:
            print("[tunedeck] loss: the output head runs only where a token is learned", flush=True)
        self.trainable = [parameter for parameter in self.model.parameters() if parameter.requires_grad]
        self.total_steps = total_steps(
            len(data.train), training.batch_size, training.gradient_accumulation, training.epochs, training.max_steps
        )
        fused = {"fused": True} if self.precision.device.type == "cuda" else {}
        self.optimizer = torch.optim.AdamW(
            self.trainable, lr=training.learning_rate, weight_decay=training.weight_decay, **fused
        )
        warmup = math.ceil(training.warmup_ratio * self.total_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, linear_schedule(warmup, self.total_steps))
        self.scaler = torch.amp.GradScaler("cuda") if self.precision.scaler else None
        if resume is not None:
            resume_folder, resume_state = resume
            loading.load_adapter_weights(self.model, resume_folder, "resumeFrom")
            self._rng_to_restore = checkpoints.load_training_state(
                resume_folder, self.optimizer, self.scheduler, self.scaler
            )
            self.step = int(resume_state["step"])
            self.epoch = int(resume_state["epoch"])
            self.position = int(resume_state["position"])
            self.last_loss = resume_state.get("loss")
            if resume_state.get("configHash") != config.hash():
                self._log("warning", f"resuming {resume_folder.name} with a changed config; steps will differ from an uninterrupted run")
            print(f"[tunedeck] resuming from {resume_folder.name} at step {self.step}", flush=True)
            if self.micro_batch_size < training.batch_size:
                self._log("info", f"continuing with micro-batches of {self.micro_batch_size} rows, as before the pause "
                          "(an out-of-memory retry had lowered them)")

    def _log(self, level: str, message: str) -> None:
        print(f"[tunedeck] {level}: {message}", flush=True)
        self.events.emit("log", level=level, message=message)

    # --- training --------------------------------------------------------------------------

    def _autocast(self) -> Any:
        if not self.precision.autocast:
            return contextlib.nullcontext()
        return torch.autocast(self.precision.device.type, dtype=self.precision.dtype)

    def _loss_sum(self, batch: MicroBatch) -> torch.Tensor:
        """Summed next-token cross entropy over the label tokens of one micro-batch (in fp32)."""
        batch = batch.to(self.precision.device)
        with self._autocast():
            return self.loss_sum(self.model, batch)

    def train(self) -> None:
        """Runs optimizer steps until totalSteps, with evals, checkpoints and control in between."""
        training = self.config.training
        data = self.data
        workers = resolve_workers(training.dataloader_workers, self.precision.device)
        self.events.emit(
            "started", step=self.step, totalSteps=self.total_steps, epochs=float(training.epochs),
            examples=data.packed_from or len(data.train), device=str(self.precision.device), dtype=self.precision.name,
            trainableParams=sum(p.numel() for p in self.trainable),
            totalParams=sum(p.numel() for p in self.model.parameters()),
        )
        self.control.phase = "training"
        self.control.step = self.step
        self.control.training.set()
        if self._rng_to_restore is not None:
            # Restored last, right before the first step, so nothing in setup shifts the streams.
            checkpoints.restore_rng(self._rng_to_restore)
        print(f"[tunedeck] data feeding: {describe_workers(workers, training.dataloader_workers, self.precision.device)}",
              flush=True)
        with Feeder(data.train, self.tokenizer.pad_token_id, training.gradient_accumulation, workers,
                    self.precision.device) as feeder:
            self._train_epochs(feeder)

    def _train_epochs(self, feeder: Feeder) -> None:
        training, data = self.config.training, self.data
        last_eval_step = -1
        window_start, window_tokens = time.perf_counter(), 0
        while self.step < self.total_steps:
            micro = epoch_micro_batches(len(data.train), training.batch_size, training.seed, self.epoch)
            feeder.start(micro, self.position, self.micro_batch_size)
            while self.position < len(micro) and self.step < self.total_steps:
                if self.control.pause.is_set():
                    raise Paused(self.step, self._save("pause", f"pause-{self.step}"))
                start, rng = self.position, memory_guard.step_rng(self.config, self.micro_batch_size)
                result = self._forward_backward(feeder.next())
                while result is None:  # CUDA ran out of memory: smaller micro-batches, same step
                    self.micro_batch_size = memory_guard.recover(
                        self.config, self.optimizer, failed_step=self.step + 1, micro_batch_size=self.micro_batch_size,
                        rows=self._oom_at[0], width=self._oom_at[1], events=self.events, log=self._log,
                    )
                    self.position = start
                    memory_guard.restore_rng(rng)
                    feeder.start(micro, start, self.micro_batch_size)  # prefetched steps had the old size
                    result = self._forward_backward(feeder.next())
                loss_total, batches = result
                grad_norm = self._optimizer_step()
                self.step += 1
                self.control.step = self.step
                if not math.isfinite(loss_total):
                    raise TrainerError(
                        f"training.learningRate: the loss became {loss_total} at step {self.step}; "
                        "lower the learning rate", "training.learningRate",
                    )
                self.last_loss = loss_total
                window_tokens += sum(batch.tokens for batch in batches)
                if self.step % training.log_every == 0 or self.step == self.total_steps:
                    now = time.perf_counter()
                    per_second = window_tokens / max(now - window_start, 1e-9)
                    self._emit_step(loss_total, grad_norm, sum(b.tokens for b in batches), per_second, len(micro))
                    window_start, window_tokens = now, 0
                if self.position >= len(micro) and data.validation:
                    self._evaluate()
                    last_eval_step = self.step
                self._after_step()
            if self.position >= len(micro):
                self.epoch, self.position = self.epoch + 1, 0
        if data.validation and last_eval_step != self.step:
            self._evaluate()

    def _forward_backward(self, step: Step) -> tuple[float, list[MicroBatch]] | None:
        """Accumulates the gradients of one optimizer step; None when CUDA ran out of memory.

        Each configured micro-batch of ``step`` comes as pieces of ``micro_batch_size`` rows; every
        piece's summed loss is divided by the label tokens of the whole step, so the pieces add up
        to exactly the loss (and gradient) of the unsplit step.
        """
        batches = [batch for pieces in step for batch in pieces]
        label_total = sum(batch.label_tokens for batch in batches)
        loss_total = 0.0
        try:
            for pieces in step:
                for batch in pieces:
                    self._oom_at = (batch.rows, int(batch.input_ids.shape[1]))
                    loss = self._loss_sum(batch) / label_total
                    if self.simulate_oom_above is not None and batch.rows > self.simulate_oom_above:
                        raise torch.cuda.OutOfMemoryError(
                            f"simulated: {batch.rows} rows > TUNEDECK_SIMULATE_OOM_ABOVE_BATCH={self.simulate_oom_above}"
                        )
                    (self.scaler.scale(loss) if self.scaler else loss).backward()
                    loss_total += float(loss.detach())
                    if self.control.cancel.is_set():
                        raise Cancelled(self.step)
                self.position += 1
        except torch.cuda.OutOfMemoryError:
            # Returning drops this frame, the traceback and with them the graph and activations.
            return None
        return loss_total, batches

    def _optimizer_step(self) -> float | None:
        """Clips to norm 1.0, steps optimizer and schedule; returns the norm before clipping."""
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

    def _emit_step(self, loss: float, grad_norm: float | None, tokens: int, per_second: float, epoch_length: int) -> None:
        # The lr this step used is the one before scheduler.step(): recompute it from the factor.
        lr = self.config.training.learning_rate * self.scheduler.lr_lambdas[0](self.step - 1)
        epoch = self.epoch + self.position / max(1, epoch_length)
        mfu = throughput.mfu(per_second, self.flop_parameters, self.peak_flops)
        extra = {}
        if self.precision.device.type == "cuda":
            # Beyond protocol.ts: the allocator's peak so far, read by bench/trainer_throughput.py.
            extra["peakMemoryMb"] = round(torch.cuda.max_memory_allocated(self.precision.device) / memory.MB, 1)
        self.events.emit(
            "step", step=self.step, totalSteps=self.total_steps, loss=loss, lr=lr, gradNorm=grad_norm,
            tokens=tokens, epoch=epoch, tokensPerSecond=per_second, mfu=mfu, **extra,
        )
        norm = f"{grad_norm:.3f}" if grad_norm is not None else "n/a"
        utilisation = f" | MFU {mfu:.1%}" if mfu is not None else ""
        print(f"step {self.step}/{self.total_steps} | loss {loss:.4f} | lr {lr:.2e} | grad {norm} | "
              f"{per_second:,.0f} tok/s{utilisation} | epoch {epoch:.2f}", flush=True)

    def _after_step(self) -> None:
        """Periodic and requested checkpoints, and the test hook that pauses at a given step."""
        training = self.config.training
        if training.checkpoint_every and self.step % training.checkpoint_every == 0:
            self._save("periodic", f"step-{self.step}")
            for name in checkpoints.prune_periodic(self.job_dir, training.keep_checkpoints):
                print(f"[tunedeck] removed old checkpoint {name}", flush=True)
        while not self.control.checkpoints.empty():
            self._save("named", self.control.checkpoints.get())
        if self.pause_at_step is not None and self.step == self.pause_at_step:
            print(f"[tunedeck] test hook: pausing at step {self.step}", flush=True)
            self.control.pause.set()

    @torch.no_grad()
    def _evaluate(self) -> None:
        """Token-weighted mean loss over the held-out examples (dropout off)."""
        self.control.phase = "evaluating"
        self.model.eval()
        total, count = 0.0, 0
        size = self.micro_batch_size
        for start in range(0, len(self.data.validation), size):
            batch = collate(self.data.validation[start:start + size], self.tokenizer.pad_token_id)
            total += float(self._loss_sum(batch))
            count += batch.label_tokens
        self.model.train()
        self.control.phase = "training"
        loss = total / max(1, count)
        self.events.emit("eval", step=self.step, loss=loss)
        print(f"eval at step {self.step} | loss {loss:.4f}", flush=True)

    def _save(self, kind: str, name: str) -> str:
        """Saves checkpoint ``name`` and emits its event; returns the name."""
        self.control.phase = "saving"
        epoch, position = self.epoch, self.position
        micro_count = math.ceil(len(self.data.train) / self.config.training.batch_size)
        if position >= micro_count:
            epoch, position = epoch + 1, 0  # the epoch is finished (and evaluated)
        lora = self.config.lora
        state = {
            "step": self.step, "epoch": epoch, "position": position, "loss": self.last_loss, "kind": kind,
            "time": time.time(), "baseModel": str(self.model_path), "loraRank": lora.rank, "loraAlpha": lora.alpha,
            "targetModules": lora.target_modules if isinstance(lora.target_modules, str) else list(lora.target_modules),
            "configHash": self.config.hash(), "totalSteps": self.total_steps,
            # What an out-of-memory retry changed; a resumed job continues with these.
            "microBatchSize": self.micro_batch_size,
            "gradientAccumulation": self.config.training.gradient_accumulation
            * math.ceil(self.config.training.batch_size / self.micro_batch_size),
        }
        folder, size = checkpoints.save_checkpoint(
            self.job_dir, name, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
            scaler=self.scaler, state=state,
        )
        self.events.emit("checkpoint", step=self.step, name=name, kind=kind, path=str(folder), loss=self.last_loss, bytes=size)
        print(f"[tunedeck] saved {kind} checkpoint {name} ({size / 1e6:.1f} MB)", flush=True)
        self.control.phase = "training"
        return name

    def save_adapter(self) -> Path:
        """Writes the adapter and tokenizer to DIR/adapter (via adapter.tmp, renamed when whole)."""
        self.control.phase = "saving"
        return checkpoints.publish_adapter(self.job_dir, self.model, self.tokenizer)
