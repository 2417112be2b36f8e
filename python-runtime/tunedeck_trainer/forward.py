"""How the training loop runs the model: autocast, the policy, and the frozen reference.

DPO and KTO measure the policy against a reference model, computed under no_grad:
- with initFrom (typically an SFT checkpoint), that checkpoint's adapter loaded a second time,
  frozen, as peft adapter "reference"; the reference pass switches to it and back, so DPO moves
  the policy away from the SFT model, not from the raw base;
- without initFrom, the base model itself: the same model with the adapter disabled.
Either way the reference costs no second copy of the base weights.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from . import loss
from .batches import MicroBatch
from .errors import TrainerError
from .loading import Precision

POLICY_ADAPTER = "default"  # peft's name for the adapter get_peft_model creates: the one that trains
REFERENCE_ADAPTER = "reference"  # the frozen initFrom adapter, when it is the reference


class Forward:
    """The model of one job and the passes the methods ask for."""

    def __init__(self, model: Any, precision: Precision, ranks: Any = None) -> None:
        from .distributed import SINGLE

        self.model = model
        self.precision = precision
        self.ranks = ranks or SINGLE  # distributed.Ranks: KTO's KL estimate spans every rank's pairs
        self.reference_folder: Path | None = None  # None: the base with the adapter disabled
        self._loss_sum = loss.loss_function(model)

    @property
    def label_only(self) -> bool:
        """Whether the output head runs only at learned positions (see loss.py)."""
        return self._loss_sum is loss.label_only_loss_sum  # FSDP sets the full loss (sharding.py)

    def autocast(self) -> Any:
        """Mixed precision on CUDA (bf16/fp16); nothing in fp32."""
        if not self.precision.autocast:
            return contextlib.nullcontext()
        return torch.autocast(self.precision.device.type, dtype=self.precision.dtype)

    def loss_sum(self, batch: MicroBatch) -> torch.Tensor:
        """SFT: summed next-token cross entropy over the label tokens (fp32)."""
        with self.autocast():
            return self._loss_sum(self.model, batch)

    def sequence_logps(self, batch: MicroBatch) -> torch.Tensor:
        """The policy's summed log-probability of each row's label tokens."""
        with self.autocast():
            return loss.sequence_logps(self.model, batch)

    @torch.no_grad()
    def reference_logps(self, batch: MicroBatch) -> torch.Tensor:
        """The reference's summed log-probability of each row's label tokens."""
        with self._reference():
            return self.sequence_logps(batch)

    @contextlib.contextmanager
    def _reference(self) -> Iterator[None]:
        if self.reference_folder is None:
            with self.model.disable_adapter():
                yield
            return
        self.model.set_adapter(REFERENCE_ADAPTER)
        try:
            yield
        finally:
            # peft's set_adapter also makes the active adapter the trainable one: back to the policy.
            self.model.set_adapter(POLICY_ADAPTER)

    def load_reference(self, folder: Path) -> list[str]:
        """Loads initFrom's adapter a second time, frozen, as the reference; returns warnings to log.

        It keeps its own adapter_config.json, so the reference is exactly that checkpoint's model.
        """
        try:
            result = self.model.load_adapter(str(folder), adapter_name=REFERENCE_ADAPTER, is_trainable=False)
        except Exception as error:  # peft raises many kinds for a folder that is not a fitting adapter
            raise TrainerError(f"initFrom: cannot load {folder} as the reference: {error}", "initFrom") from error
        if result.missing_keys:
            raise TrainerError(f"initFrom: {folder} does not fit as the reference (missing {result.missing_keys[0]})", "initFrom")
        self.model.set_adapter(POLICY_ADAPTER)  # peft trains the active adapter; the reference stays frozen
        self.model.train()  # load_adapter left the model in eval mode
        self.reference_folder = folder
        saved, ours = self.model.peft_config[REFERENCE_ADAPTER], self.model.peft_config[POLICY_ADAPTER]
        if (saved.lora_alpha, saved.use_rslora, saved.use_dora) != (ours.lora_alpha, ours.use_rslora, ours.use_dora):
            return [
                f"initFrom: {folder} was trained with lora.alpha {saved.lora_alpha}, rslora {saved.use_rslora}, "
                f"dora {saved.use_dora}; this job's differ, so the policy does not start equal to the reference. "
                "Set lora.alpha, lora.rslora and lora.dora as that job had them"
            ]
        return []


def disable_dropout(model: Any) -> None:
    """Sets every dropout of the model (LoRA's included) to 0, as TRL does for DPO and KTO: the
    policy and the reference then agree exactly where their weights do."""
    for module in model.modules():
        if isinstance(module, torch.nn.Dropout):
            module.p = 0.0
