"""QLoRA and gradient checkpointing on CPU: asking for 4-bit without CUDA fails at once naming
model.quantization; gradient checkpointing gives the same losses as without it."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from conftest import make_job, read_config, read_events, run_cli, step_losses, write_config
from tunedeck_trainer.config import load_config
from tunedeck_trainer.control import Control
from tunedeck_trainer.loop import Training
from tunedeck_trainer.protocol import EventWriter


def train_losses(job_dir: Path) -> tuple[dict[int, float], Training]:
    events = EventWriter(job_dir / "events.jsonl")
    recipe = Training(load_config(job_dir / "config.json"), job_dir, events, Control(events))
    recipe.setup()
    recipe.train()
    events.close()
    return step_losses(read_events(job_dir)), recipe


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_4bit_without_cuda_fails_at_once_naming_the_field(tiny_model: Path, tmp_path: Path) -> None:
    job_dir = make_job(tmp_path / "job", tiny_model)
    config = read_config(job_dir)
    write_config(job_dir, {**config, "model": {**config["model"], "quantization": "4bit"}})
    result = run_cli(job_dir, timeout=60)
    assert result.returncode == 1
    events = read_events(job_dir)
    assert [event["type"] for event in events] == ["failed"]  # nothing loaded, not even the data
    failed = events[0]
    assert failed["field"] == "model.quantization"
    assert "4-bit loading needs an NVIDIA GPU with CUDA; this machine has none" in failed["error"]
    assert failed["traceback"] is None


def test_gradient_checkpointing_gives_the_same_losses(tiny_model: Path, tmp_path: Path) -> None:
    settings = {"maxSteps": 3, "seed": 9}
    plain, _ = train_losses(make_job(tmp_path / "plain", tiny_model, lora={"dropout": 0.1}, training=settings))
    checkpointed, recipe = train_losses(
        make_job(tmp_path / "checkpointed", tiny_model, lora={"dropout": 0.1}, training={**settings, "gradientCheckpointing": True})
    )
    assert recipe.model.base_model.model.is_gradient_checkpointing
    assert sorted(plain) == sorted(checkpointed) == [1, 2, 3]
    for step in plain:
        assert checkpointed[step] == pytest.approx(plain[step], abs=1e-5), step
