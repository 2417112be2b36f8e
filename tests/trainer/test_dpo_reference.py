"""The DPO reference with initFrom: a DPO job started from an SFT checkpoint measures its policy
against that SFT model (its adapter loaded a second time, frozen), not against the raw base.

A 4-step SFT run on the tiny model gives the checkpoint. Since the policy starts as that same
model, the first DPO step's loss is ln 2 exactly; the base as reference would give another loss.
The reference adapter never changes, and checkpoints and the final adapter hold only the policy
(a resume from a pause gives the unbroken run's losses, which it would not if the resume had
loaded the reference's weights into the policy).
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_dpo_reference.py
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from conftest import make_job, read_config, read_events, step_losses, write_config
from test_dpo import dpo_job, write_preferences
from tunedeck_trainer.checkpoint import read_state
from tunedeck_trainer.config import load_config
from tunedeck_trainer.control import Control
from tunedeck_trainer.errors import Paused
from tunedeck_trainer.forward import POLICY_ADAPTER, REFERENCE_ADAPTER
from tunedeck_trainer.loop import Training
from tunedeck_trainer.protocol import EventWriter

STEPS = 4
BETA = 0.1


def run(job_dir: Path, *, train: bool = True) -> Training:
    """Sets up (and trains, and saves) the job in this process; returns its Training."""
    events = EventWriter(job_dir / "events.jsonl")
    try:
        recipe = Training(load_config(job_dir / "config.json"), job_dir, events, Control(events))
        recipe.setup()
        if train:
            recipe.train()
            recipe.save_adapter()
    finally:
        events.close()
    return recipe


def adapter_weights(model: Any, name: str) -> dict[str, torch.Tensor]:
    from peft import get_peft_model_state_dict

    return {key: value.detach().clone() for key, value in get_peft_model_state_dict(model, adapter_name=name).items()}


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("dpo-reference")
    sft = make_job(root / "sft", tiny_model, training={"maxSteps": 4, "checkpointEvery": 4})
    run(sft)
    init = sft / "checkpoints" / "step-4"
    data = write_preferences(root / "pairs.jsonl", rows=16)
    settings = {"maxSteps": STEPS, "seed": 5}
    unbroken_dir = dpo_job(root / "unbroken", tiny_model, data, training=settings, initFrom=str(init))
    from safetensors.torch import load_file

    saved = load_file(str(init / "adapter_model.safetensors"))
    unbroken = run(unbroken_dir)
    mp = pytest.MonkeyPatch()
    paused_dir = dpo_job(root / "paused", tiny_model, data, training=settings, initFrom=str(init))
    try:
        mp.setenv("TUNEDECK_PAUSE_AT_STEP", "2")
        with pytest.raises(Paused):
            run(paused_dir)
    finally:
        mp.undo()
    write_config(paused_dir, {**read_config(paused_dir), "resumeFrom": "pause-2"})
    run(paused_dir)
    return {
        "init": init,
        "saved": saved,
        "unbroken": unbroken,
        "unbroken_dir": unbroken_dir,
        "events": read_events(unbroken_dir),
        "paused_dir": paused_dir,
        "data": data,
        "model": tiny_model,
        "root": root,
    }


def test_the_first_step_measures_the_policy_against_the_sft_model(runs: dict[str, Any]) -> None:
    losses = step_losses(runs["events"])
    assert sorted(losses) == list(range(1, STEPS + 1))
    # Policy and reference are the same model at the start (dropout is off, as in TRL): log-ratio 0, loss ln 2.
    assert losses[1] == pytest.approx(math.log(2), abs=1e-6)
    logs = [event["message"] for event in runs["events"] if event["type"] == "log"]
    assert any(f"DPO reference: the initFrom checkpoint {runs['init']}" in message for message in logs), logs


def test_the_base_as_reference_would_give_another_loss(runs: dict[str, Any]) -> None:
    # The same job, set up but not trained: one micro-batch through the policy, the reference
    # adapter and the base with every adapter off.
    recipe = run(
        dpo_job(runs["root"] / "probe", runs["model"], runs["data"], training={"seed": 5}, initFrom=str(runs["init"])), train=False
    )
    pairs = 4
    batch = recipe.method.collate(recipe.data.train[:pairs])
    forward = recipe.forward
    with torch.no_grad():
        policy = forward.sequence_logps(batch)
        reference = forward.reference_logps(batch)
        with recipe.model.disable_adapter():
            base = forward.sequence_logps(batch)
    assert torch.equal(reference, policy)
    # What SFT learned moves the sequence log-probabilities by whole nats, so the base is another reference...
    assert (policy - base).abs().max() > 1.0
    # ... and DPO's first loss against it is not ln 2.
    margin = (policy[:pairs] - base[:pairs]) - (policy[pairs:] - base[pairs:])
    loss_against_base = float(-F.logsigmoid(BETA * margin).mean())
    assert abs(loss_against_base - math.log(2)) > 1e-2, loss_against_base


def test_the_reference_adapter_does_not_change(runs: dict[str, Any]) -> None:
    model, saved = runs["unbroken"].model, runs["saved"]
    reference, policy = adapter_weights(model, REFERENCE_ADAPTER), adapter_weights(model, POLICY_ADAPTER)
    assert reference.keys() == saved.keys()
    assert all(torch.equal(reference[key], saved[key]) for key in saved)
    assert any(not torch.equal(policy[key], saved[key]) for key in saved)  # the policy did learn
    frozen = [parameter.requires_grad for name, parameter in model.named_parameters() if f".{REFERENCE_ADAPTER}." in name]
    assert frozen and not any(frozen)


def test_checkpoints_and_the_adapter_hold_only_the_policy(runs: dict[str, Any]) -> None:
    paused = runs["paused_dir"]
    state = read_state(paused / "checkpoints" / "pause-2")
    assert state is not None and state["reference"] == str(runs["init"])
    for folder in (paused / "checkpoints" / "pause-2", paused / "adapter", runs["unbroken_dir"] / "adapter"):
        assert (folder / "adapter_model.safetensors").is_file()
        assert not (folder / REFERENCE_ADAPTER).exists(), folder


def test_a_resumed_job_keeps_its_reference(runs: dict[str, Any]) -> None:
    events = read_events(runs["paused_dir"])
    resumed, unbroken = step_losses(events), step_losses(runs["events"])
    assert sorted(resumed) == list(range(1, STEPS + 1))
    for step in unbroken:
        assert resumed[step] == pytest.approx(unbroken[step], abs=1e-6), step
    assert not [e for e in events if e["type"] == "log" and e["level"] == "warning"]


def test_an_out_of_memory_retry_keeps_the_reference(runs: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The retry runs step 2 again in pieces of 2 pairs, through the same reference: the losses stay
    # the unbroken run's (4 pairs vs 2 x 2: see test_preference_oom.py).
    monkeypatch.setenv("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "2")
    monkeypatch.setenv("TUNEDECK_SIMULATE_OOM_FROM_STEP", "2")
    job_dir = dpo_job(tmp_path / "oom", runs["model"], runs["data"], training={"maxSteps": STEPS, "seed": 5}, initFrom=str(runs["init"]))
    recipe = run(job_dir)
    events = read_events(job_dir)
    assert [(e["step"], e["newBatchSize"]) for e in events if e["type"] == "oom"] == [(2, 2)]
    retried, unbroken = step_losses(events), step_losses(runs["events"])
    for step in unbroken:
        assert retried[step] == pytest.approx(unbroken[step], abs=1e-5), step
    reference = adapter_weights(recipe.model, REFERENCE_ADAPTER)
    assert all(torch.equal(reference[key], runs["saved"][key]) for key in runs["saved"])
