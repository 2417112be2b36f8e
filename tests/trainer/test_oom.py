"""Out-of-memory retry, on CPU through the test hook TUNEDECK_SIMULATE_OOM_ABOVE_BATCH: the job
finishes with half the micro-batch and twice the accumulation, its losses equal a job configured
that way from the start, and pause/resume after the retry stays exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import make_job, read_config, read_events, step_losses, train_in_process, write_config
from tunedeck_trainer.checkpoint import read_state
from tunedeck_trainer.errors import Paused, TrainerError
from tunedeck_trainer.protocol import event_errors

STEPS = 6


def job(root: Path, name: str, model: Path, **training) -> Path:
    settings = {"maxSteps": STEPS, "seed": 5, "batchSize": 8, "gradientAccumulation": 1, **training}
    return make_job(root / name, model, lora={"dropout": 0.1}, training=settings)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, list[dict]]:
    root = tmp_path_factory.mktemp("oom")
    mp = pytest.MonkeyPatch()
    try:
        reference = train_in_process(job(root, "reference", tiny_model, batchSize=4, gradientAccumulation=2))
        mp.setenv("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "4")
        retried = train_in_process(job(root, "retried", tiny_model))
        paused_dir = job(root, "paused", tiny_model, checkpointEvery=0)
        mp.setenv("TUNEDECK_PAUSE_AT_STEP", "3")
        with pytest.raises(Paused):
            train_in_process(paused_dir)
        mp.delenv("TUNEDECK_PAUSE_AT_STEP")
        state = read_state(paused_dir / "checkpoints" / "pause-3")
        write_config(paused_dir, {**read_config(paused_dir), "resumeFrom": "pause-3"})
        resumed = train_in_process(paused_dir)
    finally:
        mp.undo()
    return {"reference": reference, "retried": retried, "resumed": resumed, "state": [state]}


def test_the_job_completes_after_an_oom_event_with_a_retry(runs) -> None:
    events = runs["retried"]
    ooms = [event for event in events if event["type"] == "oom"]
    assert len(ooms) == 1
    assert ooms[0]["retry"] is True and ooms[0]["batchSize"] == 8 and ooms[0]["step"] == 1
    assert (ooms[0]["newBatchSize"], ooms[0]["newGradientAccumulation"]) == (4, 2)
    assert 16 <= ooms[0]["maxSeqLength"] <= 128
    assert all(event_errors(event) == [] for event in events)
    assert sorted(step_losses(events)) == list(range(1, STEPS + 1))
    warnings = [e["message"] for e in events if e["type"] == "log" and e["level"] == "warning"]
    assert any("training.batchSize 4" in message and "training.gradientAccumulation 2" in message for message in warnings)


def test_losses_equal_a_job_configured_with_the_smaller_batch(runs) -> None:
    retried, reference = step_losses(runs["retried"]), step_losses(runs["reference"])
    assert sorted(retried) == sorted(reference)
    for step in reference:
        assert retried[step] == reference[step], step  # the same pieces in the same order: measured equal on CPU
    tokens = {e["step"]: e["tokens"] for e in runs["retried"] if e["type"] == "step"}
    assert tokens == {e["step"]: e["tokens"] for e in runs["reference"] if e["type"] == "step"}


def test_pause_and_resume_after_a_retry_stay_exact(runs) -> None:
    state = runs["state"][0]
    assert state is not None and state["microBatchSize"] == 4 and state["gradientAccumulation"] == 2
    resumed, retried = step_losses(runs["resumed"]), step_losses(runs["retried"])
    assert sorted(resumed) == list(range(1, STEPS + 1))
    for step in retried:
        assert resumed[step] == retried[step], step  # resume is exact (test_resume.py): measured equal on CPU
    # The resumed process started with 4-row micro-batches: it did not run out of memory again.
    assert len([e for e in runs["resumed"] if e["type"] == "oom"]) == 1


def test_without_retry_the_job_fails_naming_batch_size_and_seq_length(
    tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "4")
    job_dir = job(tmp_path, "noretry", tiny_model, oomRetry=False, maxSteps=2)
    with pytest.raises(TrainerError) as failure:
        train_in_process(job_dir)
    assert failure.value.field == "training.batchSize"
    assert "training.maxSeqLength" in str(failure.value) and "training.oomRetry is off" in str(failure.value)
    oom = next(event for event in read_events(job_dir) if event["type"] == "oom")
    assert (oom["retry"], oom["newBatchSize"], oom["newGradientAccumulation"]) == (False, None, None)


def test_a_single_row_that_does_not_fit_fails(tiny_model: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "0")
    job_dir = job(tmp_path, "single", tiny_model, batchSize=2, maxSteps=1)
    with pytest.raises(TrainerError, match="already 1 row"):
        train_in_process(job_dir)
    ooms = [event for event in read_events(job_dir) if event["type"] == "oom"]
    assert [(e["batchSize"], e["retry"]) for e in ooms] == [(2, True), (1, False)]
