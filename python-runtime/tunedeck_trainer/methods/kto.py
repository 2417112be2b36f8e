"""Kahneman-Tversky optimisation (method "kto") on unpaired feedback: each example is a prompt, one
completion and a label saying whether the completion is desirable.

As TRL's KTOTrainer computes it (loss_type "kto"), with r = policy - reference log-probability of
the completion (summed over its tokens) and z the KL estimate:

    desirable:    desirableWeight   * (1 - sigmoid(beta * (r - z)))
    undesirable:  undesirableWeight * (1 - sigmoid(beta * (z - r)))

z is estimated from mismatched pairs: each example's prompt with the completion of the example
before it in the step (the first takes the last one's), TRL's rotation by one. z is the mean of
policy - reference over those pairs, detached and clamped at 0. The pairs and the estimate span
the whole optimizer step (all its micro-batches), computed before the step's losses, so gradient
accumulation and the out-of-memory retry's smaller pieces equal one big batch, and the pairing
depends only on the step's examples, which a resume reproduces. A micro-batch weighs its
examples: a step's loss is the mean over its examples (TRL's mean over a batch).
tests/trainer/test_preference_loss.py checks ``kto_losses`` and ``kl_estimate`` against TRL's kto_loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ..batches import MicroBatch, split_chunk
from ..config import JobConfig
from ..data.job_data import JobData
from ..errors import TrainerError
from ..forward import Forward
from . import Method, Step
from .preference import Encoded, Tokenizing, answer_rows, encode_job_data, ignored_settings


def kl_estimate(policy: torch.Tensor, reference: torch.Tensor) -> torch.Tensor:
    """KTO's reference point: mean policy - reference log-probability of the mismatched pairs,
    detached, at least 0."""
    return (policy - reference).mean().detach().clamp(min=0)


def kto_losses(
    policy: torch.Tensor,
    reference: torch.Tensor,
    desirable: torch.Tensor,
    kl: torch.Tensor,
    beta: float,
    desirable_weight: float,
    undesirable_weight: float,
) -> torch.Tensor:
    """Each example's weighted KTO loss (``desirable``: a boolean tensor, one per example)."""
    ratio = policy - reference
    good = desirable_weight * (1 - torch.sigmoid(beta * (ratio - kl)))
    bad = undesirable_weight * (1 - torch.sigmoid(beta * (kl - ratio)))
    return torch.where(desirable, good, bad)


class Kto(Method):
    """Kahneman-Tversky optimisation on feedback rows."""

    name = "kto"
    unit = "example"

    def __init__(self, config: JobConfig) -> None:
        super().__init__(config)
        self.beta = config.kto.beta
        self.desirable_weight = config.kto.desirable_weight
        self.undesirable_weight = config.kto.undesirable_weight
        training = config.training
        if training.batch_size * training.gradient_accumulation < 2:
            raise TrainerError(
                "training.batchSize: KTO estimates its KL term from the other examples of an optimizer step, so a "
                "step needs at least 2 (training.batchSize x training.gradientAccumulation is 1); raise either",
                "training.batchSize",
            )

    def notes(self, config: JobConfig) -> list[tuple[str, str]]:
        return ignored_settings("KTO", config)

    def load_data(self, config: JobConfig, job_dir: Path, tokenizer: Any, packing: bool) -> JobData:
        self.pad_id = tokenizer.pad_token_id

        def encode(tokens: Tokenizing, record: dict[str, Any], index: int) -> Encoded:
            prompt, cut = tokens.prompt(record, index)
            completion = tokens.answer(record["completion"])
            example = {"prompt": prompt, "completion": completion, "label": [int(record["label"])]}
            return example, cut or not tokens.fits(prompt, completion), len(prompt) + len(completion)

        return encode_job_data(config, job_dir, tokenizer, self.max_seq_length, encode)

    def collate(self, examples: Sequence[Any]) -> MicroBatch:
        """Examples without KL rows (``collate_step`` adds them)."""
        return self._rows(examples, None)

    def _rows(self, examples: Sequence[Any], partners: Sequence[Any] | None) -> MicroBatch:
        desirable = torch.tensor([int(example["label"][0]) for example in examples], dtype=torch.bool)
        kl = None
        if partners is not None:  # each example's prompt with its partner's completion
            mismatched = [(example["prompt"], partner["completion"]) for example, partner in zip(examples, partners, strict=True)]
            kl = answer_rows(mismatched, self.pad_id, self.max_seq_length)
        rows = [(example["prompt"], example["completion"]) for example in examples]
        return answer_rows(rows, self.pad_id, self.max_seq_length, examples=len(examples), weight=len(examples), desirable=desirable, kl=kl)

    def collate_step(
        self, examples: Sequence[Any], chunks: list[list[int]], micro_batch_size: int, order: Sequence[int] | None = None
    ) -> Step:
        # With several ranks ``order`` is the whole step's, so the pairs are one process's.
        order = list(order) if order is not None else [index for chunk in chunks for index in chunk]
        # TRL's rotation by one: example k of the step pairs with the completion of example k - 1.
        partner = dict(zip(order, order[-1:] + order[:-1], strict=True))
        return [
            [
                self._rows([examples[index] for index in piece], [examples[partner[index]] for index in piece])
                for piece in split_chunk(chunk, micro_batch_size)
            ]
            for chunk in chunks
        ]

    def prepare(self, forward: Forward, step: Step) -> torch.Tensor:
        """The KL estimate over every mismatched pair of the step (no gradient, as in TRL)."""
        policy, reference = [], []
        ranks = forward.ranks
        try:
            with torch.no_grad():
                for pieces in step:
                    for batch in pieces:
                        assert batch.kl is not None, "KTO micro-batches come from collate_step"
                        policy.append(forward.sequence_logps(batch.kl))
                        reference.append(forward.reference_logps(batch.kl))
        except torch.cuda.OutOfMemoryError:
            if ranks.world == 1:
                raise
            policy, reference = [], []
            out_of_memory = True
        else:
            out_of_memory = False
        if ranks.world == 1:
            return kl_estimate(torch.cat(policy), torch.cat(reference))
        # Several ranks: the mean over every rank's pairs; an out-of-memory error on any rank is every rank's.
        difference = float(sum((p - r).sum() for p, r in zip(policy, reference, strict=True)))
        total, count, failed = ranks.sum([difference, float(sum(len(p) for p in policy)), float(out_of_memory)])
        if failed:
            raise torch.cuda.OutOfMemoryError("out of memory on another rank during the KL estimate")
        return torch.tensor(total / max(1.0, count), dtype=torch.float32).clamp(min=0)

    def loss(self, forward: Forward, batch: MicroBatch, prepared: Any) -> tuple[torch.Tensor, dict[str, float]]:
        reference = forward.reference_logps(batch)
        policy = forward.sequence_logps(batch)
        assert batch.desirable is not None
        losses = kto_losses(policy, reference, batch.desirable, prepared, self.beta, self.desirable_weight, self.undesirable_weight)
        rewards = self.beta * (policy - reference).detach()
        good = batch.desirable
        metrics = {
            "chosen": float(rewards[good].sum()),
            "chosenCount": float(good.sum()),
            "rejected": float(rewards[~good].sum()),
            "rejectedCount": float((~good).sum()),
        }
        return losses.sum(), metrics

    def summary(self, sums: dict[str, float], weight: int, prepared: Any) -> dict[str, float]:
        found = {"kl": float(prepared)} if prepared is not None else {}
        if sums.get("chosenCount"):
            found["rewardChosen"] = sums["chosen"] / sums["chosenCount"]
        if sums.get("rejectedCount"):
            found["rewardRejected"] = sums["rejected"] / sums["rejectedCount"]
        return found

    def describe(self, summary: dict[str, float]) -> str:
        return f" | kl {summary['kl']:.4f}" if "kl" in summary else ""

    def started_fields(self) -> dict[str, Any]:
        return {
            "method": self.name,
            "beta": self.beta,
            "desirableWeight": self.desirable_weight,
            "undesirableWeight": self.undesirable_weight,
        }
