"""Pause and resume of DPO, KTO and ORPO give exactly the uninterrupted run (test_resume.py does SFT).

The job: 24 rows, 2 held out; 22 training examples in micro-batches of 2 (11 per epoch, the last
step of an epoch with one micro-batch), gradientAccumulation 2 (6 optimizer steps per epoch),
2 epochs, an eval at the end of each epoch. It pauses at step 3 (mid epoch 1) and at step 9 (mid
epoch 2) via TUNEDECK_PAUSE_AT_STEP, resumes twice, and must match the run that never stopped:
every step's loss, every eval, the final adapter (1e-6). The jobs run in this process.
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_preference_resume.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from safetensors.torch import load_file

from conftest import read_config, read_events, train_in_process, write_config
from test_dpo import dpo_job, write_preferences
from test_kto import kto_job, write_feedback
from tunedeck_trainer.checkpoint import read_state
from tunedeck_trainer.errors import Paused
from tunedeck_trainer.protocol import event_errors

TOLERANCE = 1e-6
TRAINING = {
    "epochs": 2,
    "maxSteps": None,
    "batchSize": 2,
    "gradientAccumulation": 2,
    "learningRate": 0.005,
    "seed": 11,
    "checkpointEvery": 4,
    "keepCheckpoints": 1,
}


def job(method: str, root: Path, name: str, model: Path) -> Path:
    if method in ("dpo", "orpo"):
        return dpo_job(
            root / name,
            model,
            write_preferences(root / "data.jsonl", rows=24),
            method=method,
            dataset={"validationSplit": 0.08},
            training=TRAINING,
        )
    return kto_job(root / name, model, write_feedback(root / "data.jsonl", rows=24), dataset={"validationSplit": 0.08}, training=TRAINING)


def paused_at(job_dir: Path, step: int) -> None:
    mp = pytest.MonkeyPatch()
    try:
        mp.setenv("TUNEDECK_PAUSE_AT_STEP", str(step))
        with pytest.raises(Paused):
            train_in_process(job_dir, save_adapter=True)
    finally:
        mp.undo()


@pytest.fixture(scope="module", params=["dpo", "kto", "orpo"])
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Any]:
    method = request.param
    root = tmp_path_factory.mktemp(f"{method}-resume")
    straight = job(method, root, "straight", tiny_model)
    train_in_process(straight, save_adapter=True)
    chained = job(method, root, "chained", tiny_model)
    config = read_config(chained)
    paused_at(chained, 3)
    write_config(chained, {**config, "resumeFrom": "pause-3"})
    paused_at(chained, 9)
    write_config(chained, {**config, "resumeFrom": "pause-9"})
    train_in_process(chained, save_adapter=True)
    return {"method": method, "straight": straight, "chained": chained}


def _by_step(events: list[dict[str, Any]], kind: str) -> dict[int, float]:
    return {event["step"]: event["loss"] for event in events if event["type"] == kind}


def test_resumed_losses_equal_the_uninterrupted_run(runs: dict[str, Any]) -> None:
    straight, chained = read_events(runs["straight"]), read_events(runs["chained"])
    expected, actual = _by_step(straight, "step"), _by_step(chained, "step")
    assert sorted(expected) == sorted(actual) == list(range(1, 13))
    assert _by_step(straight, "eval").keys() == _by_step(chained, "eval").keys() == {6, 12}
    gaps = [abs(actual[step] - loss) for step, loss in expected.items()]
    gaps += [abs(_by_step(chained, "eval")[step] - loss) for step, loss in _by_step(straight, "eval").items()]
    print(f"{runs['method']}: largest loss difference resumed vs uninterrupted {max(gaps):.3g}")
    assert max(gaps) <= TOLERANCE
    assert len(set(expected.values())) == 12  # the steps differ: a real comparison


def test_resumed_adapter_equals_the_uninterrupted_one(runs: dict[str, Any]) -> None:
    expected = load_file(str(runs["straight"] / "adapter" / "adapter_model.safetensors"))
    actual = load_file(str(runs["chained"] / "adapter" / "adapter_model.safetensors"))
    assert expected.keys() == actual.keys() and len(expected) > 0
    gap = max((actual[name] - tensor).abs().max().item() for name, tensor in expected.items())
    print(f"{runs['method']}: largest adapter weight difference resumed vs uninterrupted {gap:.3g}")
    assert gap <= TOLERANCE


def test_the_pauses_were_inside_the_first_and_second_epoch(runs: dict[str, Any]) -> None:
    events = read_events(runs["chained"])
    assert all(event_errors(event) == [] for event in events)
    assert [event["step"] for event in events if event["type"] == "started"] == [0, 3, 9]
    first = read_state(runs["chained"] / "checkpoints" / "pause-3")
    second = read_state(runs["chained"] / "checkpoints" / "pause-9")
    assert first is not None and (first["epoch"], first["position"], first["method"]) == (0, 6, runs["method"])
    assert second is not None and (second["epoch"], second["position"]) == (1, 6)
