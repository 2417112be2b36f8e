"""Odds-ratio preference optimisation (method "orpo", Hong et al. 2024): preference pairs with no
reference model. As TRL's ORPOTrainer computes it, with p the mean log-probability of an answer's
tokens (TRL's average_log_prob) and beta TRL's name for the paper's lambda:

    log_odds = (p_chosen - p_rejected) - (log(1 - exp(p_chosen)) - log(1 - exp(p_rejected)))
    loss     = nll(chosen) - beta * mean(log sigmoid(log_odds))

nll is the cross entropy of the chosen answers' tokens, averaged over those tokens. One difference
from TRL, on purpose: TRL's nll also counts the prompt's tokens; here, as in the paper's L_SFT and
in Tunedeck's SFT (training.trainOnInputs off), only the answer's. A micro-batch holds the chosen
and rejected rows of its pairs (one forward pass) and weighs its pairs; ``prepare`` counts the
step's chosen-answer tokens, so the nll is the mean over every chosen token of the optimizer step
however it is split into micro-batches (accumulation and the out-of-memory retry equal one batch).
tests/trainer/test_preference_loss.py checks ``odds_ratio_losses`` against TRL's odds_ratio_loss.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..batches import IGNORE_INDEX, MicroBatch
from ..config import JobConfig
from ..data.job_data import JobData
from ..forward import Forward
from . import Method, Step
from .preference import encode_job_data, encode_pair, pair_rows


def log_odds_ratio(chosen: torch.Tensor, rejected: torch.Tensor) -> torch.Tensor:
    """log(odds(chosen) / odds(rejected)) from mean token log-probabilities, odds(p) = p / (1 - p)."""
    return (chosen - rejected) - (torch.log1p(-torch.exp(chosen)) - torch.log1p(-torch.exp(rejected)))


def odds_ratio_losses(chosen: torch.Tensor, rejected: torch.Tensor, beta: float) -> torch.Tensor:
    """beta * log sigmoid(log odds ratio) of each pair: what the loss subtracts (TRL's odds_ratio_loss losses)."""
    return beta * F.logsigmoid(log_odds_ratio(chosen, rejected))


def answer_tokens(batch: MicroBatch) -> torch.Tensor:
    """Each row's answer tokens that count (after the causal shift), as sequence_logps sums over them."""
    return (batch.labels[:, 1:] != IGNORE_INDEX).sum(dim=1)


class Orpo(Method):
    """Odds-ratio preference optimisation on preference pairs, without a reference model."""

    name = "orpo"
    unit = "pair"
    sequences_per_example = 2

    def __init__(self, config: JobConfig) -> None:
        super().__init__(config)
        self.beta = self.settings.beta

    def notes(self, config: JobConfig) -> list[tuple[str, str]]:
        if not config.training.train_on_inputs:
            return []
        return [("warning", "training.trainOnInputs does not apply to ORPO (it learns from the chosen answers only); ignored")]

    def load_data(self, config: JobConfig, job_dir: Path, tokenizer: Any, packing: bool) -> JobData:
        self.pad_id = tokenizer.pad_token_id
        return encode_job_data(config, job_dir, tokenizer, self.max_seq_length, encode_pair)

    def collate(self, examples: Sequence[Any]) -> MicroBatch:
        return pair_rows(examples, self.pad_id, self.max_seq_length)

    def prepare(self, forward: Forward, step: Step) -> tuple[int, int]:
        """The step's chosen-answer tokens and pairs: the nll is a mean over the former, the loss over the latter."""
        batches = [batch for pieces in step for batch in pieces]
        tokens = sum(int(answer_tokens(batch)[: batch.examples].sum()) for batch in batches)
        pairs = sum(batch.examples for batch in batches)
        if forward.ranks.world > 1:  # the whole step's, over every rank (distributed.py)
            tokens, pairs = (int(value) for value in forward.ranks.sum([tokens, pairs]))
        return max(1, tokens), pairs

    def loss(self, forward: Forward, batch: MicroBatch, prepared: Any) -> tuple[torch.Tensor, dict[str, float]]:
        step_tokens, step_pairs = prepared
        pairs = batch.examples
        summed = forward.sequence_logps(batch)
        mean = summed / answer_tokens(batch).to(summed)
        chosen, rejected = mean[:pairs], mean[pairs:]
        ratio = odds_ratio_losses(chosen, rejected, self.beta)
        nll = -summed[:pairs].sum()
        # Divided by the step's pairs (its weight) this is nll / step_tokens - mean(ratio), TRL's loss.
        loss = nll * (step_pairs / step_tokens) - ratio.sum()
        log_odds = log_odds_ratio(chosen, rejected).detach()
        chosen_rewards, rejected_rewards = self.beta * chosen.detach(), self.beta * rejected.detach()
        metrics = {
            "chosen": float(chosen_rewards.sum()),
            "rejected": float(rejected_rewards.sum()),
            "correct": float((chosen_rewards > rejected_rewards).float().sum()),
            "margin": float((chosen_rewards - rejected_rewards).sum()),
            "nll": float(nll.detach()),
            "logOdds": float(log_odds.sum()),
        }
        return loss, metrics

    def summary(self, sums: dict[str, float], weight: int, prepared: Any) -> dict[str, float]:
        if not sums:
            return {}
        tokens = prepared[0] if prepared else 1
        return {
            "rewardChosen": sums["chosen"] / weight,
            "rewardRejected": sums["rejected"] / weight,
            "rewardsAccuracy": sums["correct"] / weight,
            "rewardMargin": sums["margin"] / weight,
            "nllLoss": sums["nll"] / tokens,
            "logOddsChosen": sums["logOdds"] / weight,
        }

    def describe(self, summary: dict[str, float]) -> str:
        if "nllLoss" not in summary:
            return ""
        return f" | nll {summary['nllLoss']:.4f} log odds {summary['logOddsChosen']:.3f}"

    def started_fields(self) -> dict[str, Any]:
        return {"method": self.name, "beta": self.beta}
