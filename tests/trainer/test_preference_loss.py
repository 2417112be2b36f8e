"""Our DPO and KTO losses against TRL's own loss functions, on the same log-probabilities.

TRL's DPOTrainer.dpo_loss and KTOTrainer.kto_loss are called unbound, on a stand-in for the
trainer that holds only the settings they read (building a real trainer needs a model, a dataset
and an accelerator, and is not what is under test).
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_preference_loss.py
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch
from trl import DPOTrainer, KTOTrainer
from trl.trainer.dpo_config import FDivergenceType

from tunedeck_trainer.methods.dpo import dpo_losses
from tunedeck_trainer.methods.kto import kl_estimate, kto_losses

TOLERANCE = 1e-6
CPU = SimpleNamespace(device=torch.device("cpu"), gather_for_metrics=lambda value: value)


def logps(generator: torch.Generator, count: int) -> torch.Tensor:
    """Sequence log-probabilities as a model gives them: sums of a few dozen token log-probabilities."""
    return -torch.rand(count, generator=generator, dtype=torch.float64).float() * 60 - 5


@pytest.mark.parametrize("beta", [0.1, 0.5, 2.0])
def test_dpo_loss_equals_trl(beta: float) -> None:
    generator = torch.Generator().manual_seed(int(beta * 10))
    chosen, rejected, reference_chosen, reference_rejected = (logps(generator, 16) for _ in range(4))
    trainer = SimpleNamespace(
        beta=beta,
        label_smoothing=0.0,
        reference_free=False,
        f_divergence_type=FDivergenceType.REVERSE_KL,
        f_divergence_params=None,
        loss_type="sigmoid",
        accelerator=CPU,
    )
    theirs, _, _ = DPOTrainer.dpo_loss(trainer, chosen, rejected, reference_chosen, reference_rejected, "sigmoid")
    ours = dpo_losses(chosen, rejected, reference_chosen, reference_rejected, beta)
    assert ours.shape == theirs.shape == (16,)
    assert (ours - theirs).abs().max().item() <= TOLERANCE
    assert ours.std() > 0.01  # the pairs differ: a real comparison, not of constants


@pytest.mark.parametrize(
    ("beta", "desirable_weight", "undesirable_weight", "kl_shift"), [(0.1, 1.0, 1.0, 3.0), (0.5, 1.33, 0.75, 3.0), (0.1, 1.0, 1.0, -3.0)]
)
def test_kto_loss_and_kl_equal_trl(beta: float, desirable_weight: float, undesirable_weight: float, kl_shift: float) -> None:
    generator = torch.Generator().manual_seed(7)
    count = 12
    desirable = torch.rand(count, generator=generator) < 0.5
    policy, reference = logps(generator, count), logps(generator, count)
    # The mismatched pairs: the policy above the reference on average (KL > 0), or below (clamped to 0).
    reference_kl = logps(generator, count)
    policy_kl = reference_kl + kl_shift + torch.randn(count, generator=generator)
    trainer = SimpleNamespace(
        calculate_KL=True,
        accelerator=CPU,
        loss_type="kto",
        beta=beta,
        desirable_weight=desirable_weight,
        undesirable_weight=undesirable_weight,
    )
    theirs, _, _, their_kl = KTOTrainer.kto_loss(
        trainer,
        policy[desirable],
        policy[~desirable],
        policy_kl,
        reference[desirable],
        reference[~desirable],
        reference_kl,
    )
    kl = kl_estimate(policy_kl, reference_kl)
    assert abs(float(kl) - float(their_kl)) <= TOLERANCE
    assert (float(kl) > 0) == (kl_shift > 0)
    ours = kto_losses(policy, reference, desirable, kl, beta, desirable_weight, undesirable_weight)
    # TRL returns the desirable examples' losses first, then the undesirable ones'.
    ordered = torch.cat([ours[desirable], ours[~desirable]])
    assert (ordered - theirs).abs().max().item() <= TOLERANCE
    assert abs(float(ours.mean()) - float(theirs.nanmean())) <= TOLERANCE  # TRL's batch loss


@pytest.mark.parametrize("beta", [0.1, 0.25, 1.0])
def test_orpo_odds_ratio_loss_equals_trl(beta: float) -> None:
    """ORPO's odds-ratio term against TRL's ORPOTrainer.odds_ratio_loss on the same mean log-probabilities."""
    from trl import ORPOTrainer

    from tunedeck_trainer.methods.orpo import log_odds_ratio, odds_ratio_losses

    generator = torch.Generator().manual_seed(int(beta * 100))
    # Mean token log-probabilities (TRL's average_log_prob): below 0, some near it (likely answers), some far.
    chosen = -torch.rand(16, generator=generator) * 3 - 0.01
    rejected = -torch.rand(16, generator=generator) * 3 - 0.01
    trainer = SimpleNamespace(beta=beta, accelerator=CPU)
    theirs, _, _, their_ratio, their_log_odds = ORPOTrainer.odds_ratio_loss(trainer, chosen, rejected)
    ours = odds_ratio_losses(chosen, rejected, beta)
    assert ours.shape == theirs.shape == (16,)
    assert (ours - theirs).abs().max().item() <= TOLERANCE
    assert abs(float(ours.mean() / beta) - float(their_ratio)) <= TOLERANCE
    assert abs(float(log_odds_ratio(chosen, rejected).mean()) - float(their_log_odds)) <= TOLERANCE
    assert ours.std() > 0.01  # the pairs differ: a real comparison, not of constants
