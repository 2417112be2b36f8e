"""Direct preference optimisation with LoRA (method "dpo"), through TRL's DPOTrainer.

The same set-up as SFT (``loading``: precision, tokenizer, base model, optional 4-bit QLoRA,
LoRA adapter, initFrom) and the same events, written by a TrainerCallback (``dpo_trainer``).
Prompts are rendered with the chat template (``dpo_data``).

The reference model: without initFrom, the base with the adapter disabled (``ref_model=None``
with a peft model), so DPO costs one model in memory. With initFrom (typically an SFT
checkpoint) the policy starts from that checkpoint's adapter, and so does the reference: the
adapter is loaded a second time, frozen, as peft adapter "reference", and TRL switches to it for
the reference pass (``ref_adapter_name``). DPO then moves the policy away from the SFT model,
not from the raw base. The set-up says which reference it uses (a ``log`` event).

Pause and checkpoints use HF Trainer's own checkpoint (adapter, optimizer, scheduler, RNG,
trainer_state.json), published as DIR/checkpoints/<name>/ with a state.json
(``dpo_checkpoints``); ``resumeFrom`` continues through ``resume_from_checkpoint`` from the
checkpoint's step, on the same pairs and schedule (the tests compare its losses with an unbroken
run's; ``dpo_trainer`` works around an accelerate bug that replayed epoch 0's order).

When CUDA runs out of memory (and training.oomRetry allows it), HF Trainer writes its own
checkpoint of the last completed step, the trainer is rebuilt with a smaller micro-batch and
more accumulation (micro-batch x accumulation unchanged) and resumes from that checkpoint, so
the failed step runs again over the same pairs: the sampler's order depends only on data_seed
and the epoch (accelerate's SeedableRandomSampler), and the resume skips optimizer steps x
accumulation micro-batches, i.e. the same pairs at any micro-batch size. Checkpoints record the
micro-batch in use; a resumed job continues with it.

Run through the CLI: python -m tunedeck_trainer train --job-dir DIR (config method "dpo").
Test hooks:
- TUNEDECK_PAUSE_AT_STEP=N acts as if {"cmd":"pause"} arrived during step N.
- TUNEDECK_SIMULATE_OOM_ABOVE_BATCH=N raises torch.cuda.OutOfMemoryError after the forward pass
  of any micro-batch of more than N pairs (on CPU too), to test the retry;
  TUNEDECK_SIMULATE_OOM_FROM_STEP=S only from optimizer step S on (a retry after completed steps).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from trl import DPOConfig

from . import checkpoint as checkpoints
from . import loading, memory, memory_guard, throughput
from .config import JobConfig, resolve_model_path
from .control import Control
from .dpo_checkpoints import publish, trainer_output
from .dpo_data import PreferenceData, load_preference_data, prompt_budget
from .dpo_trainer import POLICY_ADAPTER, REFERENCE_ADAPTER, EventCallback, JobDpoTrainer, finite, rewards
from .errors import TrainerError
from .protocol import EventWriter


def smaller_micro_batch(size: int) -> int | None:
    """The micro-batch to retry with: the largest divisor of ``size`` up to its half (4 -> 2, 6 -> 3,
    5 -> 1); None at 1. A divisor because HF Trainer's micro-batches all have one size, so only then
    does micro-batch x accumulation equal the configured batch exactly."""
    return next((candidate for candidate in range(size // 2, 0, -1) if size % candidate == 0), None)


def _resumed_micro_batch(state: dict[str, Any], batch_size: int) -> int:
    """The micro-batch a checkpoint was taking (lowered by an out-of-memory retry), when it still fits batchSize."""
    saved = state.get("microBatchSize")
    fits = isinstance(saved, int) and 0 < saved <= batch_size and batch_size % saved == 0
    return saved if fits else batch_size


class DpoRecipe:
    """One DPO job: ``setup()``, ``train()``, ``save_adapter()``; raises Paused/Cancelled/TrainerError."""

    def __init__(self, config: JobConfig, job_dir: Path, events: EventWriter, control: Control) -> None:
        self.config = config
        self.job_dir = job_dir
        self.events = events
        self.control = control
        self.step = 0
        self.last_loss: float | None = None
        self.pending_tokens = 0  # counted by training_step, taken by on_step_end
        self.pending_loss = 0.0
        pause_at = os.environ.get("TUNEDECK_PAUSE_AT_STEP", "")
        self.pause_at_step = int(pause_at) if pause_at.strip().isdigit() else None
        simulate = os.environ.get("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "")
        self.simulate_oom_above = int(simulate) if simulate.strip().isdigit() else None
        from_step = os.environ.get("TUNEDECK_SIMULATE_OOM_FROM_STEP", "")
        self.simulate_oom_from_step = int(from_step) if from_step.strip().isdigit() else 1
        # Pairs per forward pass: batchSize, until an out-of-memory retry lowers it.
        self.micro_batch_size = config.training.batch_size
        self.flop_parameters = 0  # N of the MFU formula (throughput.py), from the memory estimate
        self.peak_flops: float | None = None
        self.oom_at: tuple[int, int] = (0, 0)  # pairs and longest sequence of the micro-batch in flight
        self.resume_folder: Path | None = None
        self.reference_folder: Path | None = None  # initFrom, when it is the reference
        self.started = False

    # --- setup -----------------------------------------------------------------------------

    def setup(self) -> None:
        """Loads data, model, adapter and reference, and builds the DPOTrainer."""
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
        if resume is not None:
            self.micro_batch_size = _resumed_micro_batch(resume[1], training.batch_size)

        self.control.phase = "loading_data"
        self.events.emit("heartbeat", phase="loading_data")
        self.tokenizer = loading.load_tokenizer(self.model_path)
        self.data: PreferenceData = load_preference_data(config, self.job_dir, self.tokenizer)
        data = self.data
        self.events.emit(
            "dataset", format=data.format, examples=len(data.train), skipped=data.skipped,
            truncated=data.truncated, validationExamples=len(data.validation),
        )
        print(f"[tunedeck] dataset: {len(data.train)} preference pairs, {len(data.validation)} held out, "
              f"{data.skipped} rows skipped, {data.truncated} truncated to {training.max_seq_length} tokens", flush=True)

        ignored = [name for name, on in (("training.trainOnInputs", training.train_on_inputs),) if on]
        if ignored:
            self._log("warning", f"{' and '.join(ignored)} do not apply to DPO (it learns from the answers only); ignored")

        self.control.phase = "loading_model"
        self.events.emit("heartbeat", phase="loading_model")
        cuda = self.precision.device.type == "cuda"
        # A DPO forward pass runs chosen and rejected together: two sequences a pair.
        self.flop_parameters = memory_guard.report_estimate(
            config, self.model_path, max(1, data.longest), cuda=cuda, quantized=self.quantized,
            micro_batch_size=2 * self.micro_batch_size, events=self.events, log=self._log,
            compute_bytes=2 if self.quantized and cuda else self.precision.dtype.itemsize,
        )
        if cuda:
            self.peak_flops = throughput.peak_flops(torch.cuda.get_device_name(self.precision.device))
        how = "4-bit NF4" if self.quantized else self.precision.name
        print(f"[tunedeck] loading {self.model_path} on {self.precision.device} ({how})", flush=True)
        model = loading.load_model(
            self.model_path, self.precision, quantization=config.model.quantization,
            gradient_checkpointing=training.gradient_checkpointing,
        )
        self.model = loading.apply_lora(model, config.lora)
        if init_folder is not None:
            loading.load_adapter_weights(self.model, init_folder, "initFrom")
            self._load_reference(init_folder)
        else:
            self._log("info", f"DPO reference: the base model {self.model_path} with the adapter disabled")
        batches = math.ceil(len(data.train) / training.batch_size)
        # HF Trainer's count: an epoch's last accumulation group may be short.
        self.steps_per_epoch = max(1, math.ceil(batches / training.gradient_accumulation))
        self.total_steps = training.max_steps or max(1, math.ceil(training.epochs * self.steps_per_epoch))
        self.callback = EventCallback(self)
        self.trainer: JobDpoTrainer | None = self._build_trainer()
        if resume is not None:
            self.resume_folder, state = resume
            self.step = int(state.get("step", 0))
            if state.get("configHash") != config.hash():
                self._log("warning", f"resuming {self.resume_folder.name} with a changed config")
            reference = str(self.reference_folder) if self.reference_folder else None
            if "reference" in state and state["reference"] != reference:
                self._log("warning", f"resuming {self.resume_folder.name} with another DPO reference than it was "
                          f"trained against ({state['reference'] or 'the base model'}); initFrom sets the reference")
            print(f"[tunedeck] resuming from {self.resume_folder.name} at step {self.step}", flush=True)
            if self.micro_batch_size < training.batch_size:
                self._log("info", f"continuing with micro-batches of {self.micro_batch_size} pairs and gradient "
                          f"accumulation {self._accumulation()}, as before the pause (an out-of-memory retry had "
                          "lowered them)")

    def _load_reference(self, folder: Path) -> None:
        """Loads initFrom's adapter a second time, frozen, as the reference, with its own adapter_config.json
        so that the reference is exactly that checkpoint's model."""
        try:
            result = self.model.load_adapter(str(folder), adapter_name=REFERENCE_ADAPTER, is_trainable=False)
        except Exception as error:  # peft raises many kinds for a folder that is not a fitting adapter
            raise TrainerError(f"initFrom: cannot load {folder} as the DPO reference: {error}", "initFrom") from error
        if result.missing_keys:
            missing = result.missing_keys[0]
            raise TrainerError(f"initFrom: {folder} does not fit as the DPO reference (missing {missing})", "initFrom")
        self.model.set_adapter(POLICY_ADAPTER)  # peft trains the active adapter; the reference stays frozen
        self.model.train()  # load_adapter left the model in eval mode
        self.reference_folder = folder
        self._log("info", f"DPO reference: the initFrom checkpoint {folder} (its adapter, frozen); "
                  "the policy starts equal to it")
        saved, ours = self.model.peft_config[REFERENCE_ADAPTER], self.model.peft_config[POLICY_ADAPTER]
        if (saved.lora_alpha, saved.use_rslora, saved.use_dora) != (ours.lora_alpha, ours.use_rslora, ours.use_dora):
            self._log("warning", f"initFrom: {folder} was trained with lora.alpha {saved.lora_alpha}, rslora "
                      f"{saved.use_rslora}, dora {saved.use_dora}; this job's differ, so the policy does not start "
                      "equal to the reference. Set lora.alpha, lora.rslora and lora.dora as that job had them")

    def _accumulation(self) -> int:
        """Gradient accumulation for the micro-batch in use: the configured effective batch, unchanged."""
        training = self.config.training
        return training.gradient_accumulation * (training.batch_size // self.micro_batch_size)

    def _build_trainer(self) -> JobDpoTrainer:
        from datasets import Dataset, disable_progress_bars
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        training = self.config.training
        cuda = self.precision.device.type == "cuda"
        reference = self.reference_folder is not None
        arguments = DPOConfig(
            output_dir=str(trainer_output(self.job_dir)),
            beta=self.config.dpo.beta,
            learning_rate=training.learning_rate,
            num_train_epochs=float(training.epochs),
            max_steps=self.total_steps,
            per_device_train_batch_size=self.micro_batch_size,
            per_device_eval_batch_size=self.micro_batch_size,
            gradient_accumulation_steps=self._accumulation(),
            warmup_ratio=training.warmup_ratio,
            weight_decay=training.weight_decay,
            lr_scheduler_type="linear",
            max_grad_norm=1.0,  # as SFT
            seed=training.seed,
            data_seed=training.seed,
            bf16=cuda and self.precision.dtype == torch.bfloat16,
            fp16=cuda and self.precision.dtype == torch.float16,
            use_cpu=not cuda,
            optim="adamw_torch_fused" if cuda else "adamw_torch",
            # loading.load_model already set up recomputation (and QLoRA's k-bit preparation).
            gradient_checkpointing=False,
            logging_strategy="steps",
            logging_steps=training.log_every,
            eval_strategy="no",  # the callback asks for evals at epoch ends and at the last step
            save_strategy="no",  # the callback asks for saves (pause, periodic, named)
            report_to="none",
            disable_tqdm=True,
            dataloader_pin_memory=cuda,
            max_length=training.max_seq_length,
            max_prompt_length=prompt_budget(training.max_seq_length),
            max_completion_length=None,
            truncation_mode="keep_start",  # the prompt's end is kept by max_prompt_length; answers lose their ends
            model_adapter_name=POLICY_ADAPTER if reference else None,
            ref_adapter_name=REFERENCE_ADAPTER if reference else None,
        )
        disable_progress_bars()  # TRL's dataset maps would draw bars into the job's terminal log
        train = Dataset.from_list(self.data.train)
        validation = Dataset.from_list(self.data.validation) if self.data.validation else None
        trainer = JobDpoTrainer(
            model=self.model, ref_model=None, args=arguments, train_dataset=train, eval_dataset=validation,
            processing_class=self.tokenizer, callbacks=[self.callback], recipe=self,
        )
        for noisy in (PrinterCallback, ProgressCallback):
            trainer.remove_callback(noisy)  # we print our own lines
        return trainer

    def _log(self, level: str, message: str) -> None:
        print(f"[tunedeck] {level}: {message}", flush=True)
        self.events.emit("log", level=level, message=message)

    # --- training --------------------------------------------------------------------------

    def train(self) -> None:
        """Runs DPOTrainer to totalSteps (from the resumed checkpoint's step when resuming), retrying a
        step that runs out of CUDA memory with smaller micro-batches."""
        resume, resume_step = self.resume_folder, self.step
        while not self._train_from(resume):
            resume, resume_step = self._recover_from_oom(resume, resume_step)
        self.step = self.trainer.state.global_step

    def _train_from(self, checkpoint: Path | None) -> bool:
        """Trains to the end; False when CUDA ran out of memory (returning drops the traceback, and with
        it the failed step's graph and activations)."""
        try:
            self.trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
        except torch.cuda.OutOfMemoryError:
            return False
        return True

    def _recover_from_oom(self, resume: Path | None, resume_step: int) -> tuple[Path | None, int]:
        """Emits the oom event and fails, or rebuilds the trainer with a smaller micro-batch; returns the
        checkpoint (and its step) that the rebuilt trainer continues from."""
        training, trainer = self.config.training, self.trainer
        pairs, width = self.oom_at
        pairs, width = pairs or self.micro_batch_size, width or training.max_seq_length  # (0, 0): before any step
        failed = trainer.state.global_step + 1
        self.model.zero_grad(set_to_none=True)
        if self.reference_folder is not None:
            self.model.set_adapter(POLICY_ADAPTER)  # an error inside TRL's reference pass leaves the reference active
        memory_guard.free_memory()
        smaller = smaller_micro_batch(self.micro_batch_size) if training.oom_retry else None
        accumulation = training.gradient_accumulation * (training.batch_size // smaller) if smaller else None
        self.events.emit(
            "oom", step=failed, batchSize=self.micro_batch_size, maxSeqLength=width, retry=smaller is not None,
            newBatchSize=smaller, newGradientAccumulation=accumulation,
        )
        if smaller is None:
            why = "training.oomRetry is off" if self.micro_batch_size > 1 else "the micro-batch is already 1 pair"
            raise TrainerError(
                f"training.batchSize: CUDA ran out of memory in DPO step {failed} at a micro-batch of {pairs} pairs "
                f"({2 * pairs} sequences of up to {width} tokens; {why}); lower training.batchSize (raising "
                f"training.gradientAccumulation keeps the effective batch) or training.maxSeqLength (now "
                f'{training.max_seq_length}), or turn on training.gradientCheckpointing or model.quantization "4bit"',
                "training.batchSize",
            )
        self._log("warning", (
            f"CUDA ran out of memory in DPO step {failed} at {self.micro_batch_size} pairs x {width} tokens; retrying "
            f"with micro-batches of {smaller} pairs and gradient accumulation {accumulation} (same effective batch). "
            f"Set training.batchSize {smaller} and training.gradientAccumulation {accumulation} to start there next time"
        ))
        self.micro_batch_size = smaller
        if trainer.state.global_step > resume_step:
            resume, resume_step = self._checkpoint_for_retry(), trainer.state.global_step
        self.callback.forget_pending_saves()
        self.pending_tokens, self.pending_loss = 0, 0.0
        self.trainer = trainer = None  # its optimizer and dataloader go before the new ones are made
        memory_guard.free_memory()
        self.trainer = self._build_trainer()
        return resume, resume_step

    def _checkpoint_for_retry(self) -> Path:
        """HF Trainer's own checkpoint of the last completed step (adapter, optimizer, scheduler, RNG, step),
        in the hidden trainer output folder, for the rebuilt trainer to resume from."""
        trainer = self.trainer
        output = trainer_output(self.job_dir)
        shutil.rmtree(output, ignore_errors=True)  # an earlier retry's checkpoint, already resumed from
        trainer.state.train_batch_size = self.micro_batch_size  # the new one, or HF warns of a mismatch on resume
        trainer._save_checkpoint(trainer.model, trial=None)  # what HF's own save_strategy calls
        return output / f"checkpoint-{trainer.state.global_step}"

    def emit_started(self) -> None:
        """The started event, once the trainer knows the step it starts from (not again after a retry)."""
        if self.started:
            return
        self.started = True
        trainable = sum(parameter.numel() for parameter in self.model.parameters() if parameter.requires_grad)
        self.events.emit(
            "started", step=self.step, totalSteps=self.total_steps, epochs=float(self.config.training.epochs),
            examples=len(self.data.train), device=str(self.precision.device), dtype=self.precision.name,
            trainableParams=trainable, totalParams=sum(parameter.numel() for parameter in self.model.parameters()),
            method="dpo", beta=self.config.dpo.beta,
        )

    def emit_step(self, state: Any, loss: float, logs: dict[str, Any], tokens: int, per_second: float) -> None:
        """One step event (and its console line) from HF Trainer's logs."""
        lr = finite(logs.get("learning_rate")) or 0.0
        grad_norm = finite(logs.get("grad_norm"))
        epoch = max(0.0, finite(state.epoch) or 0.0)
        found = rewards(logs)
        utilisation = throughput.mfu(per_second, self.flop_parameters, self.peak_flops, throughput.DPO_FLOPS_PER_PARAMETER)
        extra = {}
        if self.precision.device.type == "cuda":
            extra["peakMemoryMb"] = round(torch.cuda.max_memory_allocated(self.precision.device) / memory.MB, 1)
        self.events.emit(
            "step", step=state.global_step, totalSteps=self.total_steps, loss=loss, lr=lr, gradNorm=grad_norm,
            tokens=tokens, epoch=epoch, tokensPerSecond=per_second, mfu=utilisation, **found, **extra,
        )
        norm = f"{grad_norm:.3f}" if grad_norm is not None else "n/a"
        accuracy = f" | reward acc {found['rewardsAccuracy']:.2f}" if "rewardsAccuracy" in found else ""
        margin = f" margin {found['rewardMargin']:.3f}" if "rewardMargin" in found else ""
        print(f"step {state.global_step}/{self.total_steps} | loss {loss:.4f} | lr {lr:.2e} | grad {norm} | "
              f"{per_second:,.0f} tok/s{accuracy}{margin} | epoch {epoch:.2f}", flush=True)

    def publish(self, source: Path, kind: str, name: str, *, keep_source: bool) -> None:
        """Publishes HF's checkpoint folder as checkpoint ``name`` and emits its event."""
        self.control.phase = "saving"
        lora = self.config.lora
        state = {
            "step": self.step, "epoch": finite(self.trainer.state.epoch) or 0.0, "loss": self.last_loss,
            "kind": kind, "method": "dpo", "time": time.time(), "baseModel": str(self.model_path),
            "loraRank": lora.rank, "loraAlpha": lora.alpha,
            "targetModules": lora.target_modules if isinstance(lora.target_modules, str) else list(lora.target_modules),
            "configHash": self.config.hash(), "totalSteps": self.total_steps,
            # What an out-of-memory retry changed; a resumed job continues with these.
            "microBatchSize": self.micro_batch_size, "gradientAccumulation": self._accumulation(),
            "reference": str(self.reference_folder) if self.reference_folder else None,  # None: the base model
        }
        folder, size = publish(self.job_dir, source, name, state, keep_source=keep_source)
        self.events.emit("checkpoint", step=self.step, name=name, kind=kind, path=str(folder), loss=self.last_loss, bytes=size)
        print(f"[tunedeck] saved {kind} checkpoint {name} ({size / 1e6:.1f} MB)", flush=True)
        self.control.phase = "training"

    def save_adapter(self) -> Path:
        """Writes the policy adapter and tokenizer to DIR/adapter (via adapter.tmp, renamed when whole)."""
        self.control.phase = "saving"
        # Only the policy: never the frozen reference adapter.
        final = checkpoints.publish_adapter(self.job_dir, self.model, self.tokenizer, selected_adapters=[POLICY_ADAPTER])
        shutil.rmtree(trainer_output(self.job_dir), ignore_errors=True)  # the model card HF left behind
        return final
