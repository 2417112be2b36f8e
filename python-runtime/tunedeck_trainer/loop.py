"""The training loop every method runs in: set-up, feeding, accumulation, the out-of-memory retry,
checkpoints, pause and resume, evals, events and MFU. A method (methods/) is only how a batch is
built and what its loss is.

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

from . import checkpoint as checkpoints
from . import distributed, held_out, loading, memory_estimate, oom_retry, saving, throughput
from .batches import MicroBatch
from .config import JobConfig, resolve_model_path
from .control import Control
from .errors import Cancelled, Paused, TrainerError
from .feeding import Feeder, Step, describe_workers, resolve_workers
from .forward import Forward, disable_dropout
from .methods import method_for
from .protocol import EventWriter
from .schedule import linear_schedule, total_steps
from .test_hooks import read_hooks


class StepResult:
    """What one optimizer step computed: its loss, its micro-batches and the method's metrics."""

    def __init__(self, loss: float, batches: list[MicroBatch], sums: dict[str, float], prepared: Any, weight: float,
                 tokens: int) -> None:
        self.loss = loss  # loss, weight, tokens and sums: over every rank
        self.batches = batches
        self.sums = sums
        self.prepared = prepared
        self.weight = weight
        self.tokens = tokens


class Training:
    """One job: ``setup()``, ``train()``, ``save_adapter()``; raises Paused/Cancelled/TrainerError."""

    def __init__(self, config: JobConfig, job_dir: Path, events: EventWriter, control: Control,
                 ranks: distributed.Ranks = distributed.SINGLE) -> None:
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
        self._oom_at: tuple[int, int] = (0, 0)  # examples and width of the micro-batch in flight

    # --- setup -----------------------------------------------------------------------------

    def setup(self) -> None:
        """Loads data and model (and the reference), builds optimizer and schedule, restores a checkpoint."""
        config, training, method = self.config, self.config.training, self.method
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
        packing = training.packing and method.packs
        obstacle = loading.packing_obstacle(self.model_path) if packing else None
        if obstacle:
            packing = False
            self._log("warning", f"training.packing: {obstacle}; training unpacked (one example per row) instead. "
                      "Set training.packing to false to start that way without this warning")
        self.data = data = method.load_data(config, self.job_dir, self.tokenizer, packing)
        examples = data.packed_from or len(data.train)
        self.events.emit(
            "dataset", format=data.format, examples=examples, skipped=data.skipped, truncated=data.truncated,
            validationExamples=len(data.validation), **({"packedRows": len(data.train)} if data.packed_from else {}),
        )
        print(f"[tunedeck] dataset: {examples} training {method.unit}s ({data.format}), {len(data.validation)} held "
              f"out, {data.skipped} rows skipped, {data.truncated} truncated", flush=True)
        if data.empty:
            self._log("warning", f"{data.empty} examples had no response token left to learn from and were dropped")
        if data.packed_from:
            print(f"[tunedeck] packing: {data.packed_from} examples in {len(data.train)} rows "
                  f"of up to {training.max_seq_length} tokens", flush=True)
        for level, note in method.notes(config):
            self._log(level, note)

        self.control.phase = "loading_model"
        self.events.emit("heartbeat", phase="loading_model")
        cuda = self.precision.device.type == "cuda"
        self.flop_parameters = memory_estimate.report_estimate(
            config, self.model_path, max(1, data.longest), cuda=cuda, quantized=self.quantized,
            micro_batch_size=self.micro_batch_size * method.sequences_per_example,
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
        if cuda:
            self.peak_flops = throughput.peak_flops(torch.cuda.get_device_name(self.precision.device))
        self.model = loading.apply_lora(model, config.lora)
        if init_folder is not None:
            loading.load_adapter_weights(self.model, init_folder, "initFrom")
        self.forward = Forward(self.model, self.precision, self.ranks)
        if method.uses_reference:
            self._set_up_reference(init_folder)
        self.model.train()
        if self.forward.label_only:
            print("[tunedeck] loss: the output head runs only where a token is learned", flush=True)
        self.trainable = [parameter for parameter in self.model.parameters() if parameter.requires_grad]
        self.total_steps = total_steps(
            len(data.train), self.global_batch, training.gradient_accumulation, training.epochs, training.max_steps
        )
        if resume is not None:
            changed, message = distributed.rank_change(
                resume[1], self.ranks.world, training.batch_size, training.gradient_accumulation, len(data.train),
                training.epochs, training.max_steps)
            self.total_steps = changed or self.total_steps
            if message:
                self._log("warning", message)
        fused = {"fused": True} if cuda else {}
        self.optimizer = torch.optim.AdamW(
            self.trainable, lr=training.learning_rate, weight_decay=training.weight_decay, **fused
        )
        warmup = math.ceil(training.warmup_ratio * self.total_steps)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, linear_schedule(warmup, self.total_steps))
        self.scaler = torch.amp.GradScaler("cuda") if self.precision.scaler else None
        if resume is not None:
            saving.resume(self, *resume)
        elif init_folder is not None and config.init_optimizer:
            carried = checkpoints.continue_optimizer(init_folder, self.optimizer)
            print(f"[tunedeck] optimizer: continuing the state of {init_folder.name} ({carried} parameters)", flush=True)

    def _set_up_reference(self, init_folder: Path | None) -> None:
        """DPO and KTO: the reference is initFrom's adapter (frozen), else the base; no dropout."""
        if init_folder is not None:
            for warning in self.forward.load_reference(init_folder):
                self._log("warning", warning)
            self._log("info", f"{self.method.name.upper()} reference: the initFrom checkpoint {init_folder} (its "
                      "adapter, frozen); the policy starts equal to it")
        else:
            self._log("info", f"{self.method.name.upper()} reference: the base model {self.model_path} with the "
                      "adapter disabled")
        disable_dropout(self.model)

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
        self.events.emit(
            "started", step=self.step, totalSteps=self.total_steps, epochs=float(training.epochs),
            examples=data.packed_from or len(data.train), device=str(self.precision.device), dtype=self.precision.name,
            trainableParams=sum(p.numel() for p in self.trainable), ranks=self.ranks.world,
            totalParams=sum(p.numel() for p in self.model.parameters()), **self.method.started_fields(),
        )
        self.control.phase = "training"
        self.control.step = self.step
        self.control.training.set()
        self.agreed.refresh()
        if self._rng_to_restore is not None:
            # Restored last, right before the first step, so nothing in setup shifts the streams.
            checkpoints.restore_rng(self._rng_to_restore)
        print(f"[tunedeck] data feeding: {describe_workers(workers, training.dataloader_workers, self.precision.device)}",
              flush=True)
        if self.ranks.world > 1:
            print(f"[tunedeck] {self.ranks.world} ranks ({self.ranks.backend}): global batch {training.batch_size} x "
                  f"{self.ranks.world} x {training.gradient_accumulation}", flush=True)
        with Feeder(data.train, self.method.collate_step, training.gradient_accumulation, workers,
                    self.precision.device, (self.ranks.rank, self.ranks.world)) as feeder:
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
                    raise Paused(self.step, self._save("pause", f"pause-{self.step}"))
                start, rng = self.position, oom_retry.step_rng(self.config, self.micro_batch_size)
                result = self._forward_backward(feeder.next())
                while result is None:  # CUDA ran out of memory: smaller micro-batches, same step
                    self.micro_batch_size = oom_retry.recover(
                        self.config, self.optimizer, failed_step=self.step + 1, micro_batch_size=self.micro_batch_size,
                        rows=self._oom_at[0], width=self._oom_at[1], events=self.events, log=self._log,
                        unit=self.method.unit,
                    )
                    self.position = start
                    oom_retry.restore_rng(rng)
                    feeder.start(micro, start, self.micro_batch_size)  # prefetched steps had the old size
                    result = self._forward_backward(feeder.next())
                grad_norm = self._optimizer_step()
                self.step += 1
                self.control.step = self.step
                if not math.isfinite(result.loss):
                    raise TrainerError(
                        f"training.learningRate: the loss became {result.loss} at step {self.step}; "
                        "lower the learning rate", "training.learningRate",
                    )
                self.last_loss = result.loss
                window_tokens += result.tokens
                if self.step % training.log_every == 0 or self.step == self.total_steps:
                    now = time.perf_counter()
                    per_second = window_tokens / max(now - window_start, 1e-9)
                    self._emit_step(result, grad_norm, per_second, len(micro))
                    window_start, window_tokens = now, 0
                if self.position >= len(micro) and data.validation:
                    self._evaluate()
                    last_eval_step = self.step
                self._after_step()
            if self.position >= len(micro):
                self.epoch, self.position, self.offset = self.epoch + 1, 0, 0
        if data.validation and last_eval_step != self.step:
            self._evaluate()

    def _forward_backward(self, step: Step) -> StepResult | None:
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
        loss_total, sums, out_of_memory = 0.0, {}, False
        try:
            prepared = self.method.prepare(self.forward, step)
            run = 0  # micro-batches run so far in this attempt
            for pieces in step:
                for batch in pieces:
                    run += 1
                    self._oom_at = (batch.examples, int(batch.input_ids.shape[1]))
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
        except torch.cuda.OutOfMemoryError:
            # Returning drops this frame, the traceback and with them the graph and activations.
            if self.ranks.world == 1:
                return None
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

    def _emit_step(self, result: StepResult, grad_norm: float | None, per_second: float, epoch_length: int) -> None:
        # The lr this step used is the one before scheduler.step(): recompute it from the factor.
        lr = self.config.training.learning_rate * self.scheduler.lr_lambdas[0](self.step - 1)
        epoch = self.epoch + self.position / max(1, epoch_length)
        mfu = throughput.mfu(per_second / self.ranks.world, self.flop_parameters, self.peak_flops, self.method.flops_per_parameter)
        summary = self.method.summary(result.sums, result.weight, result.prepared)
        extra = {}
        if self.precision.device.type == "cuda":
            # Beyond protocol.ts: the allocator's peak so far, read by bench/trainer_throughput.py.
            extra["peakMemoryMb"] = round(torch.cuda.max_memory_allocated(self.precision.device) / memory_estimate.MB, 1)
        self.events.emit(
            "step", step=self.step, totalSteps=self.total_steps, loss=result.loss, lr=lr, gradNorm=grad_norm,
            tokens=result.tokens, epoch=epoch, tokensPerSecond=per_second, mfu=mfu, **summary, **extra,
        )
        norm = f"{grad_norm:.3f}" if grad_norm is not None else "n/a"
        utilisation = f" | MFU {mfu:.1%}" if mfu is not None else ""
        print(f"step {self.step}/{self.total_steps} | loss {result.loss:.4f} | lr {lr:.2e} | grad {norm} | "
              f"{per_second:,.0f} tok/s{utilisation}{self.method.describe(summary)} | epoch {epoch:.2f}", flush=True)

    def _after_step(self) -> None:
        """Periodic and requested checkpoints, and the test hook that pauses at a given step."""
        training = self.config.training
        if training.checkpoint_every and self.step % training.checkpoint_every == 0:
            self._save("periodic", f"step-{self.step}")
            for name in checkpoints.prune_periodic(self.job_dir, training.keep_checkpoints) if self.ranks.main else []:
                print(f"[tunedeck] removed old checkpoint {name}", flush=True)
        if self.hooks.pause_at_step is not None and self.step == self.hooks.pause_at_step:
            print(f"[tunedeck] test hook: pausing at step {self.step}", flush=True)
            self.control.pause.set()
        self.agreed.refresh()
        for name in self.agreed.take_checkpoints():
            self._save("named", name)

    def _evaluate(self) -> None:
        held_out.evaluate(self)

    def _save(self, kind: str, name: str) -> str:
        """Saves checkpoint ``name`` (rank 0 writes it) and emits its event; returns the name."""
        self.control.phase = "saving"
        state = saving.checkpoint_state(self, kind)
        # Every rank's random streams (dropout): a resume on as many ranks continues each exactly.
        streams = self.ranks.gather(checkpoints.rng_state())
        if self.ranks.main:
            folder, size = checkpoints.save_checkpoint(
                self.job_dir, name, model=self.model, optimizer=self.optimizer, scheduler=self.scheduler,
                scaler=self.scaler, state=state, delay=self.hooks.checkpoint_save_delay,
                extra={f"rng-rank{rank}.pt": stream for rank, stream in enumerate(streams) if rank},
            )
            self.events.emit("checkpoint", step=self.step, name=name, kind=kind, path=str(folder), loss=self.last_loss,
                             bytes=size)
            print(f"[tunedeck] saved {kind} checkpoint {name} ({size / 1e6:.1f} MB)", flush=True)
        self.control.phase = "training"
        return name

    def save_adapter(self) -> Path:
        """Writes the trained adapter and tokenizer to DIR/adapter (via adapter.tmp, renamed when whole)."""
        self.control.phase = "saving"
        if not self.ranks.main:  # rank 0 writes it; every rank holds the same weights
            return self.job_dir / "adapter"
        return checkpoints.publish_adapter(self.job_dir, self.model, self.tokenizer)

    @property
    def global_batch(self) -> int:
        """Examples of one global micro-batch: batchSize on each rank."""
        return self.config.training.batch_size * self.ranks.world
