"""Direct preference optimisation (method "dpo"): the sigmoid DPO loss of Rafailov et al.

    loss = -log sigmoid(beta * ((policy_chosen - reference_chosen) - (policy_rejected - reference_rejected)))

where each term is a sequence's log-probability summed over its answer tokens. A micro-batch
holds chosen and rejected rows of its pairs together (one forward pass), chosen first; it weighs
its pairs, so a step's loss is the mean over the step's pairs. The reference (forward.py) is the
initFrom checkpoint when set, else the base with the adapter disabled. The step events carry the
reward metrics TRL logs (rewardChosen, rewardRejected, rewardsAccuracy, rewardMargin).
tests/trainer/test_preference_loss.py checks ``dpo_losses`` against TRL's DPOTrainer.dpo_loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..batches import MicroBatch
from ..config import JobConfig
from ..data.job_data import JobData
from ..forward import Forward
from . import Method
from .preference import encode_job_data, encode_pair, ignored_settings, pair_rows


def dpo_losses(
    chosen: torch.Tensor, rejected: torch.Tensor, reference_chosen: torch.Tensor, reference_rejected: torch.Tensor, beta: float
) -> torch.Tensor:
    """The sigmoid DPO loss of each pair from summed sequence log-probabilities."""
    logits = (chosen - rejected) - (reference_chosen - reference_rejected)
    return -F.logsigmoid(beta * logits)


class Dpo(Method):
    """Direct preference optimisation on preference pairs."""

    name = "dpo"
    unit = "pair"
    sequences_per_example = 2

    def __init__(self, config: JobConfig) -> None:
        super().__init__(config)
        self.beta = config.dpo.beta

    def notes(self, config: JobConfig) -> list[tuple[str, str]]:
        return ignored_settings("DPO", config)

    def load_data(self, config: JobConfig, job_dir: Path, tokenizer: Any, packing: bool) -> JobData:
        self.pad_id = tokenizer.pad_token_id
        return encode_job_data(config, job_dir, tokenizer, self.max_seq_length, encode_pair)

    def collate(self, examples: Sequence[Any]) -> MicroBatch:
        return pair_rows(examples, self.pad_id, self.max_seq_length)

    def loss(self, forward: Forward, batch: MicroBatch, prepared: Any) -> tuple[torch.Tensor, dict[str, float]]:
        pairs = batch.examples
        reference = forward.reference_logps(batch)
        policy = forward.sequence_logps(batch)
        losses = dpo_losses(policy[:pairs], policy[pairs:], reference[:pairs], reference[pairs:], self.beta)
        chosen = self.beta * (policy[:pairs] - reference[:pairs]).detach()
        rejected = self.beta * (policy[pairs:] - reference[pairs:]).detach()
        metrics = {
            "chosen": float(chosen.sum()),
            "rejected": float(rejected.sum()),
            "correct": float((chosen > rejected).float().sum()),
            "margin": float((chosen - rejected).sum()),
        }
        return losses.sum(), metrics

    def summary(self, sums: dict[str, float], weight: int, prepared: Any) -> dict[str, float]:
        if not sums:
            return {}
        return {
            "rewardChosen": sums["chosen"] / weight,
            "rewardRejected": sums["rejected"] / weight,
            "rewardsAccuracy": sums["correct"] / weight,
            "rewardMargin": sums["margin"] / weight,
        }

    def describe(self, summary: dict[str, float]) -> str:
        if "rewardsAccuracy" not in summary:
            return ""
        return f" | reward acc {summary['rewardsAccuracy']:.2f} margin {summary['rewardMargin']:.3f}"

    def started_fields(self) -> dict[str, Any]:
        return {"method": self.name, "beta": self.beta}
