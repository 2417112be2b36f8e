"""The HF/TRL side of the DPO recipe (``dpo.py``): TRL's DPOTrainer for one job, and the callback
that turns HF Trainer's hooks into protocol events, checkpoints and control.

``JobDpoTrainer`` counts the tokens each micro-batch feeds the model, notes the micro-batch in
flight (for the ``oom`` event), stops on cancel, raises the simulated out-of-memory error of the
test hooks TUNEDECK_SIMULATE_OOM_ABOVE_BATCH and _FROM_STEP (see ``dpo.py``), and saves only the
policy adapter into HF's checkpoints (never the frozen reference adapter; see ``_save``).
"""

from __future__ import annotations

import math
import os
import shutil
import time
from typing import TYPE_CHECKING, Any

import torch
from accelerate import skip_first_batches
from transformers import TrainerCallback
from transformers import trainer as hf_trainer
from trl import DPOTrainer

from . import checkpoint as checkpoints
from .dpo_checkpoints import trainer_output
from .errors import Cancelled, Paused, TrainerError

if TYPE_CHECKING:
    from .dpo import DpoRecipe

POLICY_ADAPTER = "default"  # peft's name for the adapter get_peft_model creates: the one DPO trains
REFERENCE_ADAPTER = "reference"  # the frozen initFrom adapter, when there is one


def _skip_first_batches_in_epoch(dataloader: Any, num_batches: int = 0) -> Any:
    """accelerate's skip_first_batches, keeping the epoch of the loader it skips into.

    accelerate 1.11 builds the skipping DataLoaderShard with ``iteration`` 0, and its ``__iter__``
    then sets the sampler back to epoch 0: a resume inside epoch 2 or later would replay the first
    epoch's order and train on the wrong pairs (fixed upstream in huggingface/accelerate#4071).
    """
    skipped = skip_first_batches(dataloader, num_batches)
    if hasattr(skipped, "iteration") and hasattr(dataloader, "iteration"):
        skipped.iteration = dataloader.iteration
    return skipped


# HF Trainer's resume calls the name in its own module; only DPO runs through HF Trainer here.
hf_trainer.skip_first_batches = _skip_first_batches_in_epoch


class JobDpoTrainer(DPOTrainer):
    """DPOTrainer that reports to its recipe (tokens, loss, the micro-batch in flight) and stops on cancel."""

    def __init__(self, *args: Any, recipe: DpoRecipe, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.recipe = recipe

    def get_train_dataloader(self) -> Any:
        # On resume HF takes the micro-batch from the checkpoint's trainer_state.json; ours (from state.json,
        # or lowered by an out-of-memory retry) is the one in the arguments.
        self._train_batch_size = self.args.train_batch_size
        return super().get_train_dataloader()

    def training_step(self, model: Any, inputs: dict[str, Any], num_items_in_batch: Any = None) -> torch.Tensor:
        lengths = _sequence_lengths(inputs, self.max_length)
        self.recipe.oom_at = (int(inputs["prompt_input_ids"].shape[0]), int(lengths.max()))
        self.recipe.pending_tokens += int(lengths.sum())
        loss = super().training_step(model, inputs, num_items_in_batch)
        # Divided by the accumulation steps already, so a step's micro-batches add up to its mean loss.
        self.recipe.pending_loss += float(loss)
        if self.recipe.control.cancel.is_set():
            raise Cancelled(self.state.global_step)
        return loss

    def compute_loss(
        self, model: Any, inputs: dict[str, Any], return_outputs: bool = False, num_items_in_batch: Any = None
    ) -> Any:
        result = super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        limit, first_step = self.recipe.simulate_oom_above, self.recipe.simulate_oom_from_step
        pairs = int(inputs["prompt_input_ids"].shape[0])
        if limit is not None and pairs > limit and self.state.global_step + 1 >= first_step:
            # After the forward pass, like a real out-of-memory error, so the recovery frees a real graph.
            raise torch.cuda.OutOfMemoryError(f"simulated: {pairs} pairs > TUNEDECK_SIMULATE_OOM_ABOVE_BATCH={limit}")
        return result

    def _save(self, output_dir: str | None = None, state_dict: Any = None) -> None:
        if self.ref_adapter_name is None:
            super()._save(output_dir, state_dict)
            return
        # peft would save the reference adapter into a reference/ subfolder, and HF's resume then loads
        # the subfolders' adapters *instead of* the policy's: save the policy alone (plus the tokenizer).
        output_dir = output_dir or self.args.output_dir
        os.makedirs(output_dir, exist_ok=True)
        self.model.save_pretrained(output_dir, selected_adapters=[POLICY_ADAPTER], safe_serialization=True)
        self.processing_class.save_pretrained(output_dir)


def _sequence_lengths(inputs: dict[str, Any], max_length: int | None) -> torch.Tensor:
    """Non-padding tokens of prompt+chosen and prompt+rejected per pair, as truncated for the forward pass."""
    prompt = inputs["prompt_attention_mask"].sum(dim=1)
    lengths = torch.stack([prompt + inputs[f"{side}_attention_mask"].sum(dim=1) for side in ("chosen", "rejected")])
    return lengths.clamp(max=max_length) if max_length is not None else lengths


def finite(value: Any) -> float | None:
    """A plain float, or None for a missing, NaN or infinite value (events are strict JSON)."""
    if value is None:
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def rewards(logs: dict[str, Any], prefix: str = "") -> dict[str, float]:
    """DPO's reward metrics under our names (beyond protocol.ts; both sides ignore unknown fields)."""
    names = {"rewardsAccuracy": "rewards/accuracies", "rewardMargin": "rewards/margins",
             "rewardChosen": "rewards/chosen", "rewardRejected": "rewards/rejected"}
    found = {ours: finite(logs.get(prefix + theirs)) for ours, theirs in names.items()}
    return {key: value for key, value in found.items() if value is not None}


class EventCallback(TrainerCallback):
    """Turns HF Trainer's hooks into protocol events, checkpoints and control.

    One instance serves every trainer the recipe builds (an out-of-memory retry builds a new one),
    so the step losses and tokens of a logging window survive the rebuild.
    """

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
        # A resumed trainer_state.json may hold the micro-batch from before a retry; later saves hold ours.
        state.train_batch_size = args.train_batch_size
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
        loss = finite(sum(losses) / len(losses) if losses else logs["loss"])
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
        loss = finite(metrics.get("eval_loss"))
        if loss is not None:
            self.recipe.events.emit("eval", step=state.global_step, loss=loss, **rewards(metrics, "eval_"))
            print(f"eval at step {state.global_step} | loss {loss:.4f}", flush=True)
        self.recipe.control.phase = "training"
        self.window_start = time.perf_counter()  # evaluation time is not training throughput

    def on_save(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        saves, self.saves = self.saves, []
        if not saves:
            return
        output = trainer_output(self.recipe.job_dir)
        source = output / f"checkpoint-{state.global_step}"
        for index, (kind, name) in enumerate(saves):
            self.recipe.publish(source, kind, name, keep_source=index < len(saves) - 1)
        shutil.rmtree(output, ignore_errors=True)  # HF's model card, nothing more
        training = self.recipe.config.training
        if any(kind == "periodic" for kind, _ in saves):
            for name in checkpoints.prune_periodic(self.recipe.job_dir, training.keep_checkpoints):
                print(f"[tunedeck] removed old checkpoint {name}", flush=True)
        pause = next((name for kind, name in saves if kind == "pause"), None)
        if pause is not None:
            raise Paused(state.global_step, pause)
        self.window_start = time.perf_counter()

    def forget_pending_saves(self) -> None:
        """Drops the saves of a step whose evaluation ran out of memory; named ones go back in the queue."""
        saves, self.saves = self.saves, []
        for kind, name in saves:
            if kind == "named":
                self.recipe.control.checkpoints.put(name)
