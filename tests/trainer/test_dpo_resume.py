"""DPO pause, resume and checkpoints through the real CLI on the tiny model.

A 6-step job takes a named checkpoint (asked for on stdin before training starts) after step 1,
a periodic one every 2 steps (keeping 1), pauses at step 3 (TUNEDECK_PAUSE_AT_STEP), then
resumes from pause-3 and must continue from step 4, not from 0. DPO checkpoints have the one
format of every method (checkpoint.py); test_preference_resume.py compares resumed losses and
adapters with an unbroken run's.
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_dpo*.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import finish, make_job, read_config, read_events, run_cli, send, start_cli, write_config
from test_dpo import dpo_job, write_preferences
from tunedeck_trainer.checkpoint import list_checkpoints, read_state
from tunedeck_trainer.protocol import event_errors

JOB = {"training": {"maxSteps": 6, "checkpointEvery": 2, "keepCheckpoints": 1, "learningRate": 0.002}}


@pytest.fixture(scope="module")
def paused_then_resumed(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("dpo-resume")
    job = dpo_job(root / "job", tiny_model, write_preferences(root / "pairs.jsonl", rows=16), **JOB)
    process = start_cli(job, TUNEDECK_PAUSE_AT_STEP="3")
    send(process, {"cmd": "checkpoint", "name": "mine"})  # queued until the first step ends
    code, output = finish(process)
    assert code == 3, output[-3000:]
    first = read_events(job)
    pause_state = read_state(job / "checkpoints" / "pause-3")
    listed_after_pause = [folder.name for folder, _ in list_checkpoints(job)]
    write_config(job, {**read_config(job), "resumeFrom": "pause-3"})
    second = run_cli(job)
    assert second.returncode == 0, second.stdout[-2000:] + second.stderr[-3000:]
    return {"job": job, "first": first, "all": read_events(job), "pause_state": pause_state, "listed": listed_after_pause}


def test_pause_saves_a_resumable_checkpoint(paused_then_resumed: dict[str, Any]) -> None:
    first, job = paused_then_resumed["first"], paused_then_resumed["job"]
    assert first[-1]["type"] == "paused"
    assert (first[-1]["step"], first[-1]["checkpoint"]) == (3, "pause-3")
    assert [event["step"] for event in first if event["type"] == "step"] == [1, 2, 3]
    state = paused_then_resumed["pause_state"]
    assert state is not None and state["complete"] is True
    assert (state["kind"], state["step"], state["method"]) == ("pause", 3, "dpo")
    assert (state["microBatchSize"], state["gradientAccumulation"], state["reference"]) == (4, 1, None)
    assert paused_then_resumed["listed"] == ["mine", "step-2", "pause-3"]
    saved = {(event["name"], event["kind"], event["step"]) for event in first if event["type"] == "checkpoint"}
    assert saved == {("mine", "named", 1), ("step-2", "periodic", 2), ("pause-3", "pause", 3)}
    for name in ("adapter_model.safetensors", "adapter_config.json", "optimizer.pt", "scheduler.pt", "rng.pt"):
        assert (job / "checkpoints" / "pause-3" / name).is_file(), name


def test_resume_continues_from_the_paused_step(paused_then_resumed: dict[str, Any]) -> None:
    events, first = paused_then_resumed["all"], paused_then_resumed["first"]
    later = events[len(first) :]
    started = [event for event in later if event["type"] == "started"]
    assert len(started) == 1 and started[0]["step"] == 3 and started[0]["totalSteps"] == 6
    assert [event["step"] for event in later if event["type"] == "step"] == [4, 5, 6]
    assert events[-1]["type"] == "completed" and events[-1]["step"] == 6
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    assert all(event_errors(event) == [] for event in events)
    # Periodic checkpoints keep only the newest; named and pause checkpoints stay.
    assert [folder.name for folder, _ in list_checkpoints(paused_then_resumed["job"])] == ["mine", "pause-3", "step-6"]
    assert (paused_then_resumed["job"] / "adapter" / "adapter_model.safetensors").is_file()


def test_sft_cannot_resume_from_a_dpo_checkpoint(paused_then_resumed: dict[str, Any], tiny_model: Path, tmp_path: Path) -> None:
    source = paused_then_resumed["job"]
    job = make_job(tmp_path / "sft", tiny_model, resumeFrom="pause-3")
    (job / "checkpoints").symlink_to(source / "checkpoints", target_is_directory=True)
    result = run_cli(job)
    assert result.returncode == 1
    failed = read_events(job)[-1]
    assert failed["type"] == "failed" and failed["field"] == "resumeFrom"
    assert '"dpo"' in failed["error"] and "initFrom" in failed["error"]
