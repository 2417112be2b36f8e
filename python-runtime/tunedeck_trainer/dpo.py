"""Direct preference optimisation with LoRA (method "dpo"), through TRL's DPOTrainer.

The same set-up as SFT (``loading``: precision, tokenizer, base model, optional 4-bit QLoRA,
LoRA adapter, initFrom) and the same events, written by a TrainerCallback. The reference
model is the base with the adapter disabled (``ref_model=None`` with a peft model), so DPO
costs one model in memory. Prompts are rendered with the chat template (``dpo_data``).

Pause and checkpoints use HF Trainer's own checkpoint (adapter, optimizer, scheduler, RNG,
trainer_state.json), published as DIR/checkpoints/<name>/ with a state.json
(``dpo_checkpoints``); ``resumeFrom`` continues through ``resume_from_checkpoint`` from the
checkpoint's step. Resuming is not bit-exact like SFT's loop, but it continues the schedule.

Run through the CLI: python -m tunedeck_trainer train --job-dir DIR (config method "dpo").
Test hook: TUNEDECK_PAUSE_AT_STEP=N acts as if {"cmd":"pause"} arrived during step N.
"""

from __future__ import annotations

import math
import os
import shutil
import time
from pathlib import Path
from typing import Any

import torch
from transformers import TrainerCallback
from trl import DPOConfig, DPOTrainer

from . import checkpoint as checkpoints
from . import loading
from .config import JobConfig, resolve_model_path, resolve_path
from .control import Control
from .dpo_checkpoints import publish, trainer_output
from .dpo_data import PreferenceData, load_preference_data, prompt_budget
from .errors import Cancelled, Paused, TrainerError
from .protocol import EventWriter


class _DpoTrainer(DPOTrainer):
    """DPOTrainer that counts the tokens each micro-batch feeds the model and stops on cancel."""

    def __init__(self, *args: Any, recipe: DpoRecipe, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recipe = recipe

    def training_step(self, model: Any, inputs: dict[str, Any], num_items_in_batch: Any = None) -> torch.Tensor:
        self.recipe.pending_tokens += _sequence_tokens(inputs, self.max_length)
        loss = super().training_step(model, inputs, num_items_in_batch)
        # Divided by the accumulation steps already, so a step's micro-batches add up to its mean loss.
        self.recipe.pending_loss += float(loss)
        if self.recipe.control.cancel.is_set():
            raise Cancelled(self.state.global_step)
        return loss


def _sequence_tokens(inputs: dict[str, Any], max_length: int | None) -> int:
    """Non-padding tokens of prompt+chosen and prompt+rejected, as truncated for the forward pass."""
    prompt = inputs["prompt_attention_mask"].sum(dim=1)
    total = 0
    for side in ("chosen", "rejected"):
        lengths = prompt + inputs[f"{side}_attention_mask"].sum(dim=1)
        if max_length is not None:
            lengths = lengths.clamp(max=max_length)
        total += int(lengths.sum())
    return total


def _finite(value: Any) -> float | None:
    """A plain float, or None for a missing, NaN or infinite value (events are strict JSON)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


class _EventCallback(TrainerCallback):
    """Turns HF Trainer's hooks into protocol events, checkpoints and control."""

    def __init__(self, recipe: DpoRecipe) -> None:
        self.recipe = recipe
        self.window_start = time.perf_counter()
        self.window_tokens = 0
        self.step_tokens = 0
        self.window_losses: list[float] = []  # unrounded step losses since the last step event
        self.saves: list[tuple[str, str]] = []  # (kind, name) to publish after this step's save

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        recipe = self.recipe
        recipe.step = state.global_step
        recipe.emit_started()
        recipe.control.step = state.global_step
        recipe.control.phase = "training"
        recipe.control.training.set()
        self.window_start = time.perf_counter()

    def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        recipe = self.recipe
        step = state.global_step
        recipe.step = recipe.control.step = step
        self.step_tokens, recipe.pending_tokens = recipe.pending_tokens, 0
        self.window_tokens += self.step_tokens
        self.window_losses.append(recipe.pending_loss)
        recipe.pending_loss = 0.0
        if recipe.control.cancel.is_set():
            raise Cancelled(step)
        last = step >= recipe.total_steps
        if last:
            control.should_log = True
        if recipe.data.validation and (last or step % recipe.steps_per_epoch == 0):
            control.should_evaluate = True
            recipe.control.phase = "evaluating"  # back to training in on_evaluate
        training = recipe.config.training
        if training.checkpoint_every and step % training.checkpoint_every == 0:
            self.saves.append(("periodic", f"step-{step}"))
        while not recipe.control.checkpoints.empty():
            self.saves.append(("named", recipe.control.checkpoints.get()))
        if recipe.pause_at_step is not None and step == recipe.pause_at_step:
            print(f"[tunedeck] test hook: pausing at step {step}", flush=True)
            recipe.control.pause.set()
        if recipe.control.pause.is_set() and not last:
            self.saves.append(("pause", f"pause-{step}"))
        if self.saves:
            control.should_save = True  # HF saves checkpoint-N after logging and evaluating; on_save publishes it

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if not logs or "loss" not in logs:
            return  # eval metrics arrive through on_evaluate; the end-of-training summary is not a step
        recipe = self.recipe
        # HF rounds its logged loss to 4 decimals; ours is the same mean over the logged steps, unrounded.
        losses, self.window_losses = self.window_losses, []
        loss = _finite(sum(losses) / len(losses) if losses else logs["loss"])
        if loss is None:
            raise TrainerError(
                f"training.learningRate: the loss became {logs['loss']} at step {state.global_step}; "
                "lower the learning rate (or dpo.beta)", "training.learningRate",
            )
        now = time.perf_counter()
        per_second = self.window_tokens / max(now - self.window_start, 1e-9)
        self.window_start, self.window_tokens = now, 0
        recipe.last_loss = loss
        recipe.emit_step(state, loss, logs, self.step_tokens, per_second)

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: dict[str, Any] | None = None, **kwargs: Any) -> None:
        metrics = metrics or {}
        loss = _finite(metrics.get("eval_loss"))
        if loss is not None:
            extra = _rewards(metrics, "eval_")
            self.recipe.events.emit("eval", step=state.global_step, loss=loss, **extra)
            print(f"eval at step {state.global_step} | loss {loss:.4f}", flush=True)
        self.recipe.control.phase = "training"
        self.window_start = time.perf_counter()  # evaluation time is not training throughput

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        saves, self.saves = self.saves, []
        if not saves:
            return
        source = trainer_output(self.recipe.job_dir) / f"checkpoint-{state.global_step}"
        for index, (kind, name) in enumerate(saves):
            self.recipe.publish(source, kind, name, keep_source=index < len(saves) - 1)
        shutil.rmtree(trainer_output(self.recipe.job_dir), ignore_errors=True)  # HF's model card, nothing more
        training = self.recipe.config.training
        if any(kind == "periodic" for kind, _ in saves):
            for name in checkpoints.prune_periodic(self.recipe.job_dir, training.keep_checkpoints):
                print(f"[tunedeck] removed old checkpoint {name}", flush=True)
        pause = next((name for kind, name in saves if kind == "pause"), None)
        if pause is not None:
            raise Paused(state.global_step, pause)
        self.window_start = time.perf_counter()


def _rewards(logs: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """DPO's reward metrics under our names (beyond protocol.ts; both sides ignore unknown fields)."""
    names = {"rewardsAccuracy": "rewards/accuracies", "rewardMargin": "rewards/margins",
             "rewardChosen": "rewards/chosen", "rewardRejected": "rewards/rejected"}
    found = {ours: _finite(logs.get(prefix + theirs)) for ours, theirs in names.items()}
    return {key: value for key, value in found.items() if value is not None}


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
        self.resume_folder: Path | None = None

    # --- setup -----------------------------------------------------------------------------

    def setup(self) -> None:
        """Loads data, model and adapter, and builds the DPOTrainer."""
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

        ignored = [name for name, on in (("training.packing", training.packing),
                                         ("training.trainOnInputs", training.train_on_inputs)) if on]
        if ignored:
            self._log("warning", f"{' and '.join(ignored)} do not apply to DPO (it learns from the answers only); ignored")

        self.control.phase = "loading_model"
        self.events.emit("heartbeat", phase="loading_model")
        how = "4-bit NF4" if self.quantized else self.precision.name
        print(f"[tunedeck] loading {self.model_path} on {self.precision.device} ({how})", flush=True)
        model = loading.load_model(
            self.model_path, self.precision, quantization=config.model.quantization,
            gradient_checkpointing=training.gradient_checkpointing,
        )
        self.model = loading.apply_lora(model, config.lora)
        if init_folder is not None:
            loading.load_adapter_weights(self.model, init_folder, "initFrom")
        batches = math.ceil(len(data.train) / training.batch_size)
        # HF Trainer's count: an epoch's last accumulation group may be short.
        self.steps_per_epoch = max(1, math.ceil(batches / training.gradient_accumulation))
        self.total_steps = training.max_steps or max(1, math.ceil(training.epochs * self.steps_per_epoch))
        self.trainer = self._build_trainer()
        if resume is not None:
            self.resume_folder, state = resume
            self.step = int(state.get("step", 0))
            if state.get("configHash") != config.hash():
                self._log("warning", f"resuming {self.resume_folder.name} with a changed config")
            print(f"[tunedeck] resuming from {self.resume_folder.name} at step {self.step}", flush=True)

    def _build_trainer(self) -> _DpoTrainer:
        from datasets import Dataset, disable_progress_bars
        from transformers.trainer_callback import PrinterCallback, ProgressCallback

        training = self.config.training
        cuda = self.precision.device.type == "cuda"
        arguments = DPOConfig(
            output_dir=str(trainer_output(self.job_dir)),
            beta=self.config.dpo.beta,
            learning_rate=training.learning_rate,
            num_train_epochs=float(training.epochs),
            max_steps=self.total_steps,
            per_device_train_batch_size=training.batch_size,
            per_device_eval_batch_size=training.batch_size,
            gradient_accumulation_steps=training.gradient_accumulation,
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
        )
        disable_progress_bars()  # TRL's dataset maps would draw bars into the job's terminal log
        train = Dataset.from_list(self.data.train)
        validation = Dataset.from_list(self.data.validation) if self.data.validation else None
        trainer = _DpoTrainer(
            model=self.model, ref_model=None, args=arguments, train_dataset=train, eval_dataset=validation,
            processing_class=self.tokenizer, callbacks=[_EventCallback(self)], recipe=self,
        )
        for noisy in (PrinterCallback, ProgressCallback):
            trainer.remove_callback(noisy)  # we print our own lines
        return trainer

    def _log(self, level: str, message: str) -> None:
        print(f"[tunedeck] {level}: {message}", flush=True)
        self.events.emit("log", level=level, message=message)

    # --- training --------------------------------------------------------------------------

    def train(self) -> None:
        """Runs DPOTrainer to totalSteps (from the resumed checkpoint's step when resuming)."""
        try:
            self.trainer.train(resume_from_checkpoint=str(self.resume_folder) if self.resume_folder else None)
        except torch.cuda.OutOfMemoryError as error:
            # No automatic retry here (SFT's loop has one): say what to change instead.
            training = self.config.training
            failed = self.trainer.state.global_step + 1
            self.events.emit(
                "oom", step=failed, batchSize=training.batch_size, maxSeqLength=training.max_seq_length,
                retry=False, newBatchSize=None, newGradientAccumulation=None,
            )
            raise TrainerError(
                f"training.batchSize: CUDA ran out of memory in DPO step {failed} with {training.batch_size} pairs "
                f"per micro-batch ({2 * training.batch_size} sequences of up to {training.max_seq_length} tokens); "
                "lower training.batchSize (raising training.gradientAccumulation keeps the effective batch) or "
                'training.maxSeqLength, or turn on training.gradientCheckpointing or model.quantization "4bit"',
                "training.batchSize",
            ) from error
        self.step = self.trainer.state.global_step

    def emit_started(self) -> None:
        """The started event, once the trainer knows the step it starts from."""
        trainable = sum(parameter.numel() for parameter in self.model.parameters() if parameter.requires_grad)
        self.events.emit(
            "started", step=self.step, totalSteps=self.total_steps, epochs=float(self.config.training.epochs),
            examples=len(self.data.train), device=str(self.precision.device), dtype=self.precision.name,
            trainableParams=trainable, totalParams=sum(parameter.numel() for parameter in self.model.parameters()),
            method="dpo", beta=self.config.dpo.beta,
        )

    def emit_step(self, state: Any, loss: float, logs: dict[str, Any], tokens: int, per_second: float) -> None:
        """One step event (and its console line) from HF Trainer's logs."""
        lr = _finite(logs.get("learning_rate")) or 0.0
        grad_norm = _finite(logs.get("grad_norm"))
        epoch = max(0.0, _finite(state.epoch) or 0.0)
        rewards = _rewards(logs)
        self.events.emit(
            "step", step=state.global_step, totalSteps=self.total_steps, loss=loss, lr=lr, gradNorm=grad_norm,
            tokens=tokens, epoch=epoch, tokensPerSecond=per_second, **rewards,
        )
        norm = f"{grad_norm:.3f}" if grad_norm is not None else "n/a"
        accuracy = f" | reward acc {rewards['rewardsAccuracy']:.2f}" if "rewardsAccuracy" in rewards else ""
        margin = f" margin {rewards['rewardMargin']:.3f}" if "rewardMargin" in rewards else ""
        print(f"step {state.global_step}/{self.total_steps} | loss {loss:.4f} | lr {lr:.2e} | grad {norm} | "
              f"{per_second:,.0f} tok/s{accuracy}{margin} | epoch {epoch:.2f}", flush=True)

    def publish(self, source: Path, kind: str, name: str, *, keep_source: bool) -> None:
        """Publishes HF's checkpoint folder as checkpoint ``name`` and emits its event."""
        self.control.phase = "saving"
        lora = self.config.lora
        state = {
            "step": self.step, "epoch": _finite(self.trainer.state.epoch) or 0.0, "loss": self.last_loss,
            "kind": kind, "method": "dpo", "time": time.time(), "baseModel": str(self.model_path),
            "loraRank": lora.rank, "loraAlpha": lora.alpha,
            "targetModules": lora.target_modules if isinstance(lora.target_modules, str) else list(lora.target_modules),
            "configHash": self.config.hash(), "totalSteps": self.total_steps,
        }
        folder, size = publish(self.job_dir, source, name, state, keep_source=keep_source)
        self.events.emit("checkpoint", step=self.step, name=name, kind=kind, path=str(folder), loss=self.last_loss, bytes=size)
        print(f"[tunedeck] saved {kind} checkpoint {name} ({size / 1e6:.1f} MB)", flush=True)
        self.control.phase = "training"

    def save_adapter(self) -> Path:
        """Writes the adapter and tokenizer to DIR/adapter (via adapter.tmp, renamed when whole)."""
        self.control.phase = "saving"
        final = self.job_dir / "adapter"
        temporary = self.job_dir / "adapter.tmp"
        if temporary.exists():
            shutil.rmtree(temporary)
        self.model.save_pretrained(temporary)
        self.tokenizer.save_pretrained(temporary)
        if final.exists():
            shutil.rmtree(final)
        os.rename(temporary, final)
        shutil.rmtree(trainer_output(self.job_dir), ignore_errors=True)  # the model card HF left behind
        return final
