"""DPO's out-of-memory retry, on CPU through the test hook TUNEDECK_SIMULATE_OOM_ABOVE_BATCH (and
TUNEDECK_SIMULATE_OOM_FROM_STEP, to fail after completed steps): the job finishes with half the
micro-batch and twice the accumulation, its losses equal a job configured that way from the
start, and a pause after the retry resumes with the smaller micro-batch.

The recipe runs in this process (as in test_oom.py), which saves a Python start per run.
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_dpo_oom.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from conftest import read_config, read_events, step_losses, train_in_process, write_config
from test_dpo import dpo_job, write_preferences

from tunedeck_trainer.checkpoint import read_state
from tunedeck_trainer.dpo import smaller_micro_batch
from tunedeck_trainer.errors import Paused, TrainerError
from tunedeck_trainer.protocol import event_errors

STEPS = 6
# 16 pairs in batches of 4: an epoch is 4 steps, so the runs cross an epoch boundary.
PAIRS = 16
# Measured on CPU in fp32: a retry at step 1 gives exactly the reference's losses (both run 2 x 2
# from the first step); the retry at step 3 differs by at most 1.8e-7, as much as 4 x 1 and 2 x 2
# differ anyway (a mean of 4 pairs padded to the longest of 4 vs two halved means of 2, summed in
# another order: float32 rounding of a loss near 0.5, carried through the Adam steps). 1e-5 leaves
# 50 times that, and is 3,500 times below the smallest change of the loss between steps (0.035).
TOLERANCE = 1e-5


def job(root: Path, name: str, model: Path, **training: Any) -> Path:
    data = write_preferences(root / "pairs.jsonl", rows=PAIRS)
    settings = {"maxSteps": STEPS, "seed": 5, "batchSize": 4, "gradientAccumulation": 1, **training}
    return dpo_job(root / name, model, data, training=settings)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("dpo-oom")
    mp = pytest.MonkeyPatch()
    try:
        reference = train_in_process(job(root, "reference", tiny_model, batchSize=2, gradientAccumulation=2), save_adapter=True)
        mp.setenv("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "2")
        retried = train_in_process(job(root, "retried", tiny_model), save_adapter=True)
        # Out of memory in step 3, after two completed steps: HF's checkpoint of step 2 carries them over.
        mp.setenv("TUNEDECK_SIMULATE_OOM_FROM_STEP", "3")
        mp.setenv("TUNEDECK_PAUSE_AT_STEP", "5")
        later = job(root, "later", tiny_model)
        with pytest.raises(Paused):
            train_in_process(later, save_adapter=True)
        paused = read_events(later)
        state = read_state(later / "checkpoints" / "pause-5")
        mp.delenv("TUNEDECK_PAUSE_AT_STEP")
        write_config(later, {**read_config(later), "resumeFrom": "pause-5"})
        resumed = train_in_process(later, save_adapter=True)
    finally:
        mp.undo()
    return {"reference": reference, "retried": retried, "paused": paused, "resumed": resumed, "state": state}


def _assert_same_losses(events: list[dict[str, Any]], reference: list[dict[str, Any]]) -> None:
    ours, theirs = step_losses(events), step_losses(reference)
    assert sorted(ours) == list(range(1, STEPS + 1))
    for step in theirs:
        assert ours[step] == pytest.approx(theirs[step], abs=TOLERANCE), (step, ours[step], theirs[step])
    tokens = {e["step"]: e["tokens"] for e in events if e["type"] == "step"}
    assert tokens == {e["step"]: e["tokens"] for e in reference if e["type"] == "step"}  # the same pairs, step by step


def test_the_job_completes_after_an_oom_event_with_a_retry(runs: dict[str, Any]) -> None:
    events = runs["retried"]
    ooms = [event for event in events if event["type"] == "oom"]
    assert len(ooms) == 1
    assert (ooms[0]["step"], ooms[0]["batchSize"], ooms[0]["retry"]) == (1, 4, True)
    assert (ooms[0]["newBatchSize"], ooms[0]["newGradientAccumulation"]) == (2, 2)
    assert 8 <= ooms[0]["maxSeqLength"] <= 128
    assert all(event_errors(event) == [] for event in events)
    assert [event["type"] for event in events].count("started") == 1
    warnings = [e["message"] for e in events if e["type"] == "log" and e["level"] == "warning"]
    assert any("training.batchSize 2" in message and "training.gradientAccumulation 2" in message for message in warnings)


def test_losses_equal_a_job_configured_with_the_smaller_batch(runs: dict[str, Any]) -> None:
    _assert_same_losses(runs["retried"], runs["reference"])


def test_a_retry_after_completed_steps_keeps_them(runs: dict[str, Any]) -> None:
    paused = runs["paused"]
    ooms = [event for event in paused if event["type"] == "oom"]
    assert [(e["step"], e["batchSize"], e["newBatchSize"], e["newGradientAccumulation"]) for e in ooms] == [(3, 4, 2, 2)]
    assert [event["step"] for event in paused if event["type"] == "step"] == [1, 2, 3, 4, 5]
    assert [event["type"] for event in paused].count("started") == 1
    # Steps 1-2 ran with 4-pair micro-batches, 3-5 with 2 after resuming HF's checkpoint of step 2,
    # and the resumed process ran step 6: all as the job configured with 2 x 2 from the start.
    _assert_same_losses(runs["resumed"], runs["reference"])


def test_checkpoints_record_the_micro_batch_and_a_resumed_job_keeps_it(runs: dict[str, Any]) -> None:
    state = runs["state"]
    assert state is not None and (state["step"], state["microBatchSize"], state["gradientAccumulation"]) == (5, 2, 2)
    later = runs["resumed"][len(runs["paused"]):]
    assert not [event for event in later if event["type"] == "oom"]  # the hook is still set: 2 pairs pass
    assert any("micro-batches of 2 pairs" in e["message"] for e in later if e["type"] == "log")


def test_without_retry_the_job_fails_naming_batch_size(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "2")
    job_dir = job(tmp_path, "noretry", tiny_model, oomRetry=False, maxSteps=1)
    with pytest.raises(TrainerError) as failure:
        train_in_process(job_dir, save_adapter=True)
    assert failure.value.field == "training.batchSize"
    assert "training.oomRetry is off" in str(failure.value) and "training.maxSeqLength" in str(failure.value)
    oom = next(event for event in read_events(job_dir) if event["type"] == "oom")
    assert (oom["batchSize"], oom["retry"], oom["newBatchSize"], oom["newGradientAccumulation"]) == (4, False, None, None)


def test_a_single_pair_that_does_not_fit_fails(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "0")
    job_dir = job(tmp_path, "single", tiny_model, batchSize=2, maxSteps=1)
    with pytest.raises(TrainerError, match="already 1 pair") as failure:
        train_in_process(job_dir, save_adapter=True)
    assert failure.value.field == "training.batchSize"
    ooms = [event for event in read_events(job_dir) if event["type"] == "oom"]
    assert [(e["batchSize"], e["retry"], e["newBatchSize"]) for e in ooms] == [(2, True, 1), (1, False, None)]


def test_the_retry_micro_batch_divides_the_configured_one() -> None:
    # HF Trainer's micro-batches all have one size: only a divisor keeps micro-batch x accumulation.
    assert [smaller_micro_batch(size) for size in (1, 2, 3, 4, 5, 6, 8, 9, 12)] == [None, 1, 1, 2, 1, 3, 4, 3, 6]
