"""Pause and resume through the real CLI give exactly the uninterrupted run.

The job: 86 training examples in micro-batches of 8 (11 per epoch, the last one short),
gradientAccumulation 2 (6 optimizer steps per epoch, the last with one micro-batch), 2 epochs,
LoRA dropout 0.1 (so the RNG must be restored), an eval at the end of each epoch and periodic
checkpoints. It pauses at step 3 (mid epoch 1) and at step 9 (mid epoch 2) via the
TUNEDECK_PAUSE_AT_STEP test hook, resumes twice, and must match the run that never stopped.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from safetensors.torch import load_file

from conftest import make_job, read_config, read_events, run_cli, write_config
from tunedeck_trainer.checkpoint import list_checkpoints, read_state
from tunedeck_trainer.protocol import event_errors

JOB = {
    "dataset": {"validationSplit": 0.1},
    "lora": {"rank": 4, "alpha": 8, "dropout": 0.1},
    "training": {
        "epochs": 2,
        "batchSize": 8,
        "gradientAccumulation": 2,
        "learningRate": 0.005,
        "seed": 11,
        "checkpointEvery": 4,
        "keepCheckpoints": 1,
        "packing": False,  # the step and position numbers below count one example per row
    },
}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("resume")
    straight = make_job(root / "straight", tiny_model, **JOB)
    result = run_cli(straight)
    assert result.returncode == 0, result.stderr[-3000:]

    chained = make_job(root / "chained", tiny_model, **JOB)
    first = run_cli(chained, TUNEDECK_PAUSE_AT_STEP="3")
    assert first.returncode == 3, first.stderr[-3000:]
    config = read_config(chained)
    write_config(chained, {**config, "resumeFrom": "pause-3"})
    second = run_cli(chained, TUNEDECK_PAUSE_AT_STEP="9")
    assert second.returncode == 3, second.stderr[-3000:]
    write_config(chained, {**config, "resumeFrom": "pause-9"})
    third = run_cli(chained)
    assert third.returncode == 0, third.stderr[-3000:]
    return {"straight": straight, "chained": chained}


def _by_step(events: list[dict], kind: str) -> dict[int, float]:
    return {event["step"]: event["loss"] for event in events if event["type"] == kind}


def test_resumed_losses_equal_the_uninterrupted_run(runs: dict[str, Path]) -> None:
    straight, chained = read_events(runs["straight"]), read_events(runs["chained"])
    expected, actual = _by_step(straight, "step"), _by_step(chained, "step")
    assert sorted(expected) == list(range(1, 13))
    assert sorted(actual) == sorted(expected)
    for step in expected:
        assert abs(actual[step] - expected[step]) <= 1e-6, f"step {step}: {actual[step]} != {expected[step]}"
    assert _by_step(straight, "eval").keys() == {6, 12}
    for step, loss in _by_step(straight, "eval").items():
        assert abs(_by_step(chained, "eval")[step] - loss) <= 1e-6


def test_resumed_adapter_equals_the_uninterrupted_one(runs: dict[str, Path]) -> None:
    expected = load_file(str(runs["straight"] / "adapter" / "adapter_model.safetensors"))
    actual = load_file(str(runs["chained"] / "adapter" / "adapter_model.safetensors"))
    assert expected.keys() == actual.keys() and len(expected) > 0
    for name, tensor in expected.items():
        assert (actual[name] - tensor).abs().max().item() <= 1e-6, name


def test_the_event_log_of_a_resumed_job_is_one_sequence(runs: dict[str, Path]) -> None:
    events = read_events(runs["chained"])
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    assert all(event_errors(event) == [] for event in events)
    finals = [(event["type"], event.get("step")) for event in events if event["type"] in ("paused", "completed")]
    assert finals == [("paused", 3), ("paused", 9), ("completed", 12)]
    started = [event["step"] for event in events if event["type"] == "started"]
    assert started == [0, 3, 9]
    pauses = [event for event in events if event["type"] == "checkpoint" and event["kind"] == "pause"]
    assert [(event["name"], event["step"]) for event in pauses] == [("pause-3", 3), ("pause-9", 9)]
    assert all(event["bytes"] > 0 for event in pauses)


def test_checkpoints_hold_the_state_needed_to_continue(runs: dict[str, Path]) -> None:
    chained = runs["chained"]
    found = {folder.name: state for folder, state in list_checkpoints(chained)}
    # Periodic ones every 4 steps, only the newest kept; pause checkpoints are kept.
    assert set(found) == {"pause-3", "pause-9", "step-12"}
    state = found["pause-9"]
    assert (state["step"], state["epoch"], state["position"], state["kind"]) == (9, 1, 6, "pause")
    assert (state["loraRank"], state["targetModules"], state["complete"]) == (4, "all-linear", True)
    folder = chained / "checkpoints" / "pause-9"
    for name in ("adapter_model.safetensors", "adapter_config.json", "optimizer.pt", "scheduler.pt", "rng.pt"):
        assert (folder / name).is_file(), name
    assert read_state(chained / "checkpoints" / ".tmp-pause-9") is None


def test_init_from_refuses_a_different_rank(runs: dict[str, Path], tiny_model: Path, tmp_path: Path) -> None:
    source = runs["chained"] / "checkpoints" / "pause-9"
    job_dir = make_job(tmp_path / "job", tiny_model, lora={"rank": 8}, initFrom=str(source))
    result = run_cli(job_dir, timeout=60)
    events = read_events(job_dir)
    assert result.returncode == 1
    assert events[-1]["type"] == "failed" and events[-1]["field"] == "lora.rank"
    assert "lora.rank" in events[-1]["error"] and str(source) in events[-1]["error"]


def test_resume_from_a_missing_checkpoint_names_resume_from(runs: dict[str, Path], tiny_model: Path, tmp_path: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model, resumeFrom="pause-77")
    result = run_cli(job_dir, timeout=60)
    events = read_events(job_dir)
    assert result.returncode == 1 and events[-1]["field"] == "resumeFrom"


def test_init_from_starts_a_new_job_from_trained_weights(runs: dict[str, Path], tiny_model: Path, tmp_path: Path) -> None:
    from tunedeck_trainer.runner import run_job

    source = runs["chained"] / "checkpoints" / "step-12"
    job_dir = make_job(tmp_path / "job", tiny_model, lora=JOB["lora"], training={"maxSteps": 2, "seed": 11}, initFrom=str(source))
    assert run_job(job_dir, read_stdin=False, handle_signals=False) == 0
    events = read_events(job_dir)
    started = next(event for event in events if event["type"] == "started")
    assert started["step"] == 0 and started["totalSteps"] == 2  # a fresh run: step 0, its own schedule
    # The first step (lr 0 during warmup) measures the loaded weights: the trained adapter's loss,
    # far below the untrained model's first loss in the same data order.
    fresh = read_events(runs["straight"])
    fresh_first = min(event["loss"] for event in fresh if event["type"] == "step" and event["step"] == 1)
    trained_last = [event["loss"] for event in fresh if event["type"] == "step"][-1]
    first = next(event["loss"] for event in events if event["type"] == "step")
    assert first < fresh_first - 0.5 and abs(first - trained_last) < 1.0
