"""The out-of-memory retry of DPO and KTO (test_oom.py does SFT), on CPU through the test hook
TUNEDECK_SIMULATE_OOM_ABOVE_BATCH (and TUNEDECK_SIMULATE_OOM_FROM_STEP, to fail after completed
steps): the job finishes with half the micro-batch and twice the accumulation, its losses equal a
job configured that way from the start, and a pause after the retry resumes with the smaller
micro-batch.

The jobs run in this process (as in test_oom.py), which saves a Python start per run.
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_preference_oom.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import read_config, read_events, step_losses, train_in_process, write_config
from test_dpo import dpo_job, write_preferences
from test_kto import kto_job, write_feedback
from tunedeck_trainer.checkpoint import read_state
from tunedeck_trainer.errors import Paused, TrainerError
from tunedeck_trainer.protocol import event_errors

STEPS = 6
# 16 examples in batches of 4: an epoch is 4 steps, so the runs cross an epoch boundary.
EXAMPLES = 16
# A job retried from its first step runs every step in pieces of 2, padded to each piece's longest
# row, exactly as the job configured 2 x 2 does: measured on CPU in fp32, no difference at all, so the
# losses must be equal. A retry after completed steps ran those steps as single micro-batches of 4,
# padded to other widths, which round differently in float32: measured at most 4.6e-7 (KTO), 2.7e-7 (DPO).
AFTER_COMPLETED_STEPS = 1e-6
UNIT = {"dpo": "pair", "kto": "example"}


def job(method: str, root: Path, name: str, model: Path, **training: Any) -> Path:
    settings = {"maxSteps": STEPS, "seed": 5, "batchSize": 4, "gradientAccumulation": 1, **training}
    if method == "dpo":
        return dpo_job(root / name, model, write_preferences(root / "data.jsonl", rows=EXAMPLES), training=settings)
    return kto_job(root / name, model, write_feedback(root / "data.jsonl", rows=EXAMPLES), training=settings)


@pytest.fixture(scope="module", params=["dpo", "kto"])
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Any]:
    method = request.param
    root = tmp_path_factory.mktemp(f"{method}-oom")
    mp = pytest.MonkeyPatch()
    try:
        reference = train_in_process(job(method, root, "reference", tiny_model, batchSize=2, gradientAccumulation=2))
        mp.setenv("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "2")
        retried = train_in_process(job(method, root, "retried", tiny_model))
        # Out of memory in step 3, after two completed steps with micro-batches of 4.
        mp.setenv("TUNEDECK_SIMULATE_OOM_FROM_STEP", "3")
        mp.setenv("TUNEDECK_PAUSE_AT_STEP", "5")
        later = job(method, root, "later", tiny_model)
        with pytest.raises(Paused):
            train_in_process(later)
        paused = read_events(later)
        state = read_state(later / "checkpoints" / "pause-5")
        mp.delenv("TUNEDECK_PAUSE_AT_STEP")
        write_config(later, {**read_config(later), "resumeFrom": "pause-5"})
        resumed = train_in_process(later)
    finally:
        mp.undo()
    return {"method": method, "reference": reference, "retried": retried, "paused": paused, "resumed": resumed, "state": state}


def _assert_same_losses(events: list[dict[str, Any]], reference: list[dict[str, Any]], tolerance: float) -> float:
    ours, theirs = step_losses(events), step_losses(reference)
    assert sorted(ours) == list(range(1, STEPS + 1))
    gap = max(abs(ours[step] - theirs[step]) for step in theirs)
    assert gap <= tolerance, (ours, theirs)
    tokens = {e["step"]: e["tokens"] for e in events if e["type"] == "step"}
    assert tokens == {e["step"]: e["tokens"] for e in reference if e["type"] == "step"}  # the same examples, step by step
    return gap


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
    assert any(
        f"4 {UNIT[runs['method']]}s" in message and "training.batchSize 2" in message and "training.gradientAccumulation 2" in message
        for message in warnings
    )


def test_losses_equal_a_job_configured_with_the_smaller_batch(runs: dict[str, Any]) -> None:
    gap = _assert_same_losses(runs["retried"], runs["reference"], 0.0)
    print(f"{runs['method']}: largest loss difference retried vs configured 2 x 2: {gap:.3g}")


def test_a_retry_after_completed_steps_keeps_them(runs: dict[str, Any]) -> None:
    paused = runs["paused"]
    ooms = [event for event in paused if event["type"] == "oom"]
    assert [(e["step"], e["batchSize"], e["newBatchSize"], e["newGradientAccumulation"]) for e in ooms] == [(3, 4, 2, 2)]
    assert [event["step"] for event in paused if event["type"] == "step"] == [1, 2, 3, 4, 5]
    # Steps 1-2 ran with 4-example micro-batches, 3-5 with 2, and the resumed process ran step 6:
    # all as the job configured with 2 x 2 from the start.
    _assert_same_losses(runs["resumed"], runs["reference"], AFTER_COMPLETED_STEPS)


def test_checkpoints_record_the_micro_batch_and_a_resumed_job_keeps_it(runs: dict[str, Any]) -> None:
    state = runs["state"]
    assert state is not None and (state["step"], state["microBatchSize"], state["gradientAccumulation"]) == (5, 2, 2)
    later = runs["resumed"][len(runs["paused"]) :]
    assert not [event for event in later if event["type"] == "oom"]  # the hook is still set: 2 examples pass
    assert any(f"micro-batches of 2 {UNIT[runs['method']]}s" in e["message"] for e in later if e["type"] == "log")


@pytest.mark.parametrize("method", ["dpo", "kto"])
def test_without_retry_the_job_fails_naming_batch_size(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    monkeypatch.setenv("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "2")
    job_dir = job(method, tmp_path, "noretry", tiny_model, oomRetry=False, maxSteps=1)
    with pytest.raises(TrainerError) as failure:
        train_in_process(job_dir, save_adapter=True)
    assert failure.value.field == "training.batchSize"
    assert "training.oomRetry is off" in str(failure.value) and "training.maxSeqLength" in str(failure.value)
    oom = next(event for event in read_events(job_dir) if event["type"] == "oom")
    assert (oom["batchSize"], oom["retry"], oom["newBatchSize"], oom["newGradientAccumulation"]) == (4, False, None, None)


def test_a_single_pair_that_does_not_fit_fails(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "0")
    job_dir = job("dpo", tmp_path, "single", tiny_model, batchSize=2, maxSteps=1)
    with pytest.raises(TrainerError, match="already 1 pair") as failure:
        train_in_process(job_dir, save_adapter=True)
    assert failure.value.field == "training.batchSize"
    ooms = [event for event in read_events(job_dir) if event["type"] == "oom"]
    assert [(e["batchSize"], e["retry"], e["newBatchSize"]) for e in ooms] == [(2, True, 1), (1, False, None)]
