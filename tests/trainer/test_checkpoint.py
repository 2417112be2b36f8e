"""Checkpoint state is read with safe loaders only: a pickled object in a checkpoint is refused,
not run, and the job fails naming resumeFrom.

A checkpoint folder may come from anywhere (a shared job folder, a download); torch.load without
weights_only would execute whatever a pickled payload asks for. Weights are safetensors, and
optimizer.pt, scheduler.pt and rng.pt are read with torch.load(weights_only=True).
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_checkpoint.py
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import make_job, read_config, read_events, run_cli, write_config
from tunedeck_trainer.checkpoint import read_state

MARKER = "payload-ran"


class Payload:
    """Unpickling this creates the marker file (torch.load without weights_only does): what a hostile
    checkpoint would do, harmlessly."""

    def __init__(self, where: Path) -> None:
        self.where = where

    def __reduce__(self):  # noqa: ANN204 - pickle's protocol
        return (Path.touch, (self.where,))


@pytest.fixture(scope="module")
def paused(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Path:
    job = make_job(tmp_path_factory.mktemp("checkpoint") / "job", tiny_model, training={"maxSteps": 4})
    result = run_cli(job, TUNEDECK_PAUSE_AT_STEP="2")
    assert result.returncode == 3, result.stderr[-3000:]
    return job


def test_a_checkpoint_is_plain_tensors_and_values(paused: Path) -> None:
    folder = paused / "checkpoints" / "pause-2"
    for name in ("optimizer.pt", "scheduler.pt", "rng.pt"):
        assert torch.load(folder / name, weights_only=True) is not None, name


@pytest.mark.parametrize("name", ["rng.pt", "optimizer.pt"])
def test_a_pickled_payload_in_a_checkpoint_is_refused(paused: Path, tmp_path: Path, name: str) -> None:
    import shutil

    job = tmp_path / "job"
    shutil.copytree(paused, job)
    marker = tmp_path / MARKER
    torch.save({"state": Payload(marker)}, job / "checkpoints" / "pause-2" / name)
    assert read_state(job / "checkpoints" / "pause-2") is not None  # otherwise a complete checkpoint
    write_config(job, {**read_config(job), "resumeFrom": "pause-2"})
    result = run_cli(job, timeout=120)
    assert result.returncode == 1, result.stdout[-2000:]
    failed = read_events(job)[-1]
    assert failed["type"] == "failed" and failed["field"] == "resumeFrom"
    assert name in failed["error"] and "weights_only" in failed["error"]
    assert not marker.exists()  # the payload never ran
