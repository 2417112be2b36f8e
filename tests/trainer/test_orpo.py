"""ORPO (method "orpo"): its whole loss on the tiny model against TRL's formula on the same logits,
split into micro-batches or not, and a run through the real CLI that learns with no reference model.
(test_preference_loss.py checks the odds-ratio term against TRL's own function; test_preference_resume.py
its exact pause and resume.)
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_orpo.py
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
import torch.nn.functional as F
from trl import ORPOTrainer

from conftest import read_events, run_cli
from test_dpo import dpo_job, write_preferences
from test_dpo_reference import run
from tunedeck_trainer.batches import IGNORE_INDEX
from tunedeck_trainer.protocol import event_errors

TOLERANCE = 1e-6
BETA = 0.25


def orpo_job(job_dir: Path, model: Path, data: Path, **overrides: Any) -> Path:
    """A small ORPO job on the file ``data`` (dpo_job's settings, method and section ORPO's)."""
    return dpo_job(job_dir, model, data, **{"method": "orpo", "orpo": {"beta": BETA}, **overrides})


def trl_loss(model: Any, batch: Any) -> torch.Tensor:
    """TRL's ORPO loss of one micro-batch of pairs (chosen rows first), from the model's logits: the chosen
    answers' mean token cross entropy (Tunedeck leaves out the prompt tokens TRL also counts) minus the
    mean of TRL's odds_ratio_loss on get_batch_logps(average_log_prob=True)."""
    pairs = batch.examples
    with torch.no_grad():
        logits = model(input_ids=batch.input_ids, attention_mask=batch.attention_mask).logits.float()
    mean_logps = ORPOTrainer.get_batch_logps(logits, batch.labels, average_log_prob=True)
    trainer = SimpleNamespace(beta=BETA, accelerator=SimpleNamespace(device=torch.device("cpu")))
    losses, *_ = ORPOTrainer.odds_ratio_loss(trainer, mean_logps[:pairs], mean_logps[pairs:])
    nll = F.cross_entropy(logits[:pairs, :-1].flatten(0, 1), batch.labels[:pairs, 1:].flatten(), ignore_index=IGNORE_INDEX)
    return nll - losses.mean()


@pytest.fixture(scope="module")
def recipe(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Any:
    root = tmp_path_factory.mktemp("orpo-loss")
    job = orpo_job(root / "job", tiny_model, write_preferences(root / "pairs.jsonl", rows=8))
    return run(job, train=False)


def test_orpo_loss_equals_trl_on_the_model(recipe: Any) -> None:
    method, examples = recipe.method, recipe.data.train[:6]
    assert method.name == "orpo" and not method.uses_reference and recipe.forward.reference_folder is None
    whole = method.collate(examples)
    expected = float(trl_loss(recipe.model, whole))
    with torch.no_grad():
        ours = {}
        for split in (6, 4, 1):  # one micro-batch, or pieces of 4 and 2, or six of one pair
            step = method.collate_step(examples, [list(range(6))], split)
            prepared = method.prepare(recipe.forward, step)
            summed = sum(float(method.loss(recipe.forward, batch, prepared)[0]) for batch in step[0])
            ours[split] = summed / sum(batch.weight for batch in step[0])
    print(f"orpo: TRL {expected:.6f}, ours {ours}")
    assert all(abs(value - expected) <= TOLERANCE for value in ours.values()), (expected, ours)
    assert expected > 0.5  # the untrained model's cross entropy: a real value, not a constant


def test_orpo_learns_without_a_reference(tmp_path: Path, tiny_model: Path) -> None:
    job = orpo_job(
        tmp_path / "learn",
        tiny_model,
        write_preferences(tmp_path / "pairs.jsonl"),
        dataset={"validationSplit": 0.125},
        training={"maxSteps": 16, "learningRate": 0.005},
    )
    result = run_cli(job)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    events = read_events(job)
    assert all(event_errors(event) == [] for event in events)
    started = next(event for event in events if event["type"] == "started")
    assert (started["method"], started["beta"]) == ("orpo", BETA)
    assert not any("reference" in event.get("message", "") for event in events if event["type"] == "log")
    steps = [event for event in events if event["type"] == "step"]
    assert [event["step"] for event in steps] == list(range(1, 17))
    first, last = steps[0], steps[-1]
    assert last["loss"] < first["loss"] - 0.5, (first["loss"], last["loss"])
    assert last["rewardMargin"] > first["rewardMargin"] and last["rewardsAccuracy"] == 1.0
    assert {"nllLoss", "logOddsChosen"} <= last.keys()
    assert any(event["type"] == "eval" for event in events) and events[-1]["type"] == "completed"
