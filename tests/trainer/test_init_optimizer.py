"""A new job from another job's checkpoint, with its optimizer state (initOptimizer) or without.

With initOptimizer the new job's optimizer holds exactly the checkpoint's AdamW moments and step
counts before its first step, while its learning rate and schedule are its own; without, the
optimizer starts empty. The two runs' first updates differ, as they must: Adam's first step from
empty moments moves every weight by about the learning rate, from warm moments by less.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from conftest import make_job, step_losses, train_in_process


def _setup(job_dir: Path):
    from tunedeck_trainer.config import load_config
    from tunedeck_trainer.control import Control
    from tunedeck_trainer.loop import Training
    from tunedeck_trainer.protocol import EventWriter

    events = EventWriter(job_dir / "events.jsonl")
    training = Training(load_config(job_dir / "config.json"), job_dir, events, Control(events))
    training.setup()
    return training, events


@pytest.fixture(scope="module")
def source_checkpoint(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A finished SFT job's periodic checkpoint after 4 steps (AdamW state with step 4)."""
    job = make_job(tmp_path_factory.mktemp("source") / "job", tiny_model, training={"maxSteps": 4, "checkpointEvery": 4, "seed": 3})
    train_in_process(job)
    folder = job / "checkpoints" / "step-4"
    assert (folder / "optimizer.pt").is_file()
    return folder


def test_continued_optimizer_equals_the_checkpoints_and_keeps_this_jobs_learning_rate(
    tiny_model: Path,
    source_checkpoint: Path,
    tmp_path: Path,
) -> None:
    job = make_job(
        tmp_path / "continued",
        tiny_model,
        initFrom=str(source_checkpoint),
        initOptimizer=True,
        training={"maxSteps": 3, "learningRate": 0.002, "warmupRatio": 0.0, "seed": 5},
    )
    training, events = _setup(job)
    try:
        saved = torch.load(source_checkpoint / "optimizer.pt", weights_only=True)
        state = training.optimizer.state_dict()
        assert len(state["state"]) == len(saved["state"]) > 0
        for index, entry in saved["state"].items():
            for key in ("exp_avg", "exp_avg_sq", "step"):
                assert torch.equal(state["state"][index][key].cpu(), entry[key].cpu()), (index, key)
        # The schedule is this job's: its own learning rate from the first step, no warm-up.
        assert [group["lr"] for group in training.optimizer.param_groups] == [0.002]
    finally:
        events.close()


def test_fresh_optimizer_by_default_and_the_first_updates_differ(
    tiny_model: Path,
    source_checkpoint: Path,
    tmp_path: Path,
) -> None:
    settings = {"maxSteps": 2, "learningRate": 0.002, "warmupRatio": 0.0, "seed": 5}
    fresh = make_job(tmp_path / "fresh", tiny_model, initFrom=str(source_checkpoint), training=settings)
    training, events = _setup(fresh)
    try:
        assert training.optimizer.state_dict()["state"] == {}
    finally:
        events.close()

    continued = make_job(tmp_path / "continued", tiny_model, initFrom=str(source_checkpoint), initOptimizer=True, training=settings)
    adapters, losses = {}, {}
    for name, job in (("fresh", fresh), ("continued", continued)):
        (job / "events.jsonl").unlink(missing_ok=True)  # the set-up above wrote a heartbeat
        events = train_in_process(job, save_adapter=True)
        losses[name] = step_losses(events)
        adapters[name] = load_file(job / "adapter" / "adapter_model.safetensors")
    # Both start from the same weights: the first loss is the same, what the first update did is not.
    assert losses["fresh"][1] == pytest.approx(losses["continued"][1], rel=1e-6)
    assert abs(losses["fresh"][2] - losses["continued"][2]) > 1e-3, losses
    start = load_file(source_checkpoint / "adapter_model.safetensors")
    for weights in adapters.values():
        assert max(float((weights[key] - start[key]).abs().max()) for key in start) > 1e-4
    apart = max(float((adapters["fresh"][key] - adapters["continued"][key]).abs().max()) for key in start)
    assert apart > 1e-4, apart


def test_init_optimizer_without_init_from_is_refused_naming_the_field(tiny_model: Path, tmp_path: Path) -> None:
    from tunedeck_trainer.checkpoint_choice import find_init
    from tunedeck_trainer.config import load_config
    from tunedeck_trainer.errors import TrainerError

    job = make_job(tmp_path / "job", tiny_model, initOptimizer=True)
    with pytest.raises(TrainerError) as raised:
        find_init(load_config(job / "config.json"), job)
    assert raised.value.field == "initOptimizer"
    assert "needs initFrom" in str(raised.value)
