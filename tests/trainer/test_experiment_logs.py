"""TensorBoard logs: a job trained by the real CLI leaves event files that TensorBoard's own reader
reads back, holding exactly the step and eval events' numbers; a job resumed from an earlier
checkpoint shows each step once."""

from __future__ import annotations

from pathlib import Path

import pytest
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from conftest import make_job, merge, read_config, read_events, run_cli, write_config

JOB = {
    "dataset": {"validationSplit": 0.1},
    "training": {"epochs": 2, "batchSize": 16, "learningRate": 0.01, "seed": 5, "packing": False},
}


def read_scalars(job_dir: Path) -> dict[str, dict[int, float]]:
    """tag -> step -> value, as TensorBoard reads the job's tensorboard/ folder."""
    reader = EventAccumulator(str(job_dir / "tensorboard"), size_guidance={"scalars": 0})
    reader.Reload()
    return {tag: {point.step: point.value for point in reader.Scalars(tag)} for tag in reader.Tags()["scalars"]}


def test_tensorboard_reads_the_step_and_eval_events(tiny_model: Path, tmp_path: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, **JOB)
    result = run_cli(job_dir)
    assert result.returncode == 0, result.stderr[-3000:]
    events = read_events(job_dir)
    steps = [event for event in events if event["type"] == "step"]
    evals = [event for event in events if event["type"] == "eval"]
    assert len(steps) >= 6 and len(evals) == 2
    scalars = read_scalars(job_dir)
    expected = {
        "train/loss": {event["step"]: event["loss"] for event in steps},
        "train/learning_rate": {event["step"]: event["lr"] for event in steps},
        "train/grad_norm": {event["step"]: event["gradNorm"] for event in steps},
        "train/tokens_per_second": {event["step"]: event["tokensPerSecond"] for event in steps},
        "eval/loss": {event["step"]: event["loss"] for event in evals},
    }
    for tag, values in expected.items():
        # TensorBoard stores scalars as 32-bit floats.
        assert scalars[tag] == pytest.approx(values, rel=1e-6), tag


def test_a_job_resumed_from_an_earlier_checkpoint_shows_each_step_once(tiny_model: Path, tmp_path: Path) -> None:
    # As after a crash: the steps after the last checkpoint are trained (and logged) again.
    job_dir = make_job(tmp_path / "job", tiny_model, **merge(JOB, {"training": {"checkpointEvery": 2, "keepCheckpoints": 5}}))
    first = run_cli(job_dir)
    assert first.returncode == 0, first.stderr[-3000:]
    write_config(job_dir, {**read_config(job_dir), "resumeFrom": "step-4"})
    second = run_cli(job_dir)
    assert second.returncode == 0, second.stderr[-3000:]
    events = read_events(job_dir)
    logged = [event["step"] for event in events if event["type"] == "step"]
    assert logged.count(5) == 2  # the events file holds both runs' step 5
    reader = EventAccumulator(str(job_dir / "tensorboard"), size_guidance={"scalars": 0})
    reader.Reload()
    steps = [point.step for point in reader.Scalars("train/loss")]
    assert steps == list(range(1, max(logged) + 1))
