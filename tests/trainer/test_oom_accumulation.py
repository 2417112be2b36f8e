"""The out-of-memory retry once gradients have started to accumulate, for SFT, DPO and KTO: with
gradient accumulation 2 the simulated OOM comes on the second micro-batch of step 1 (the first one's
gradients already in .grad), after its forward pass or inside its backward pass (the later layers'
gradients of the failing micro-batch added too). The retried job must match a clean run step by step
(loss, gradient norm, tokens) and end with the same adapter: any gradient left over from the failed
attempt, or a dropout mask drawn differently, would change step 1's update and every step after it.
(The retry after completed steps is covered by test_preference_oom.py; here the clean run can be
configured exactly as the retry continues.)

test_oom.py and test_preference_oom.py cover the OOM on a step's first micro-batch.
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_oom_accumulation.py
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from safetensors.torch import load_file

from conftest import make_job, step_losses, train_in_process
from test_dpo import dpo_job, write_preferences
from test_kto import kto_job, write_feedback

STEPS = 4
EXAMPLES = 16
# The clean run is configured as the retry continues (micro-batches of 2, accumulation 4), so the
# same sums run in the same order: measured on CPU in float32, no difference at all (0), and so the
# test asserts equality.


def job(method: str, root: Path, name: str, model: Path, batch: int, accumulation: int) -> Path:
    training = {"maxSteps": STEPS, "seed": 7, "batchSize": batch, "gradientAccumulation": accumulation, "learningRate": 0.01}
    if method == "sft":  # dropout too, so the retried step must also replay the same dropout masks
        return make_job(root / name, model, lora={"dropout": 0.1}, training=training)
    if method == "dpo":
        return dpo_job(root / name, model, write_preferences(root / "data.jsonl", rows=EXAMPLES), training=training)
    return kto_job(root / name, model, write_feedback(root / "data.jsonl", rows=EXAMPLES), training=training)


@pytest.fixture(scope="module", params=["sft", "dpo", "kto"])
def runs(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> dict[str, Any]:
    method = request.param
    root = tmp_path_factory.mktemp(f"{method}-oom-accumulated")
    found: dict[str, Any] = {"method": method}
    clean = job(method, root, "clean", tiny_model, batch=2, accumulation=4)
    found["clean"] = (train_in_process(clean, save_adapter=True), clean)
    for where in ("forward", "backward"):
        mp = pytest.MonkeyPatch()
        try:
            mp.setenv("TUNEDECK_SIMULATE_OOM_ABOVE_BATCH", "2")
            mp.setenv("TUNEDECK_SIMULATE_OOM_MICRO_BATCH", "2")
            if where == "backward":
                mp.setenv("TUNEDECK_SIMULATE_OOM_IN_BACKWARD", "1")
            retried = job(method, root, where, tiny_model, batch=4, accumulation=2)
            found[where] = (train_in_process(retried, save_adapter=True), retried)
        finally:
            mp.undo()
    return found


def adapter(job_dir: Path) -> dict[str, torch.Tensor]:
    return load_file(str(job_dir / "adapter" / "adapter_model.safetensors"))


@pytest.mark.parametrize("where", ["forward", "backward"])
def test_one_retry_on_the_second_micro_batch_of_step_1(runs: dict[str, Any], where: str) -> None:
    events, _ = runs[where]
    ooms = [(e["step"], e["batchSize"], e["newBatchSize"], e["newGradientAccumulation"]) for e in events if e["type"] == "oom"]
    assert ooms == [(1, 4, 2, 4)]
    assert sorted(step_losses(events)) == list(range(1, STEPS + 1))


@pytest.mark.parametrize("where", ["forward", "backward"])
def test_the_retried_job_matches_a_clean_run(runs: dict[str, Any], where: str) -> None:
    (events, job_dir), (clean_events, clean_dir) = runs[where], runs["clean"]
    steps = {e["step"]: e for e in events if e["type"] == "step"}
    clean = {e["step"]: e for e in clean_events if e["type"] == "step"}
    assert {step: e["tokens"] for step, e in steps.items()} == {step: e["tokens"] for step, e in clean.items()}
    for key in ("loss", "gradNorm"):
        assert {step: e[key] for step, e in steps.items()} == {step: e[key] for step, e in clean.items()}, key
    ours, theirs = adapter(job_dir), adapter(clean_dir)
    assert ours.keys() == theirs.keys()
    for name, tensor in theirs.items():
        assert torch.equal(ours[name], tensor), name
    assert max(float(theirs[name].abs().max()) for name in theirs if "lora_B" in name) > 1e-4  # they trained
