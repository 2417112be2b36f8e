"""FSDP2 (training.sharding "fsdp"): two gloo ranks on CPU through torchrun, against one process.

- Each step's loss, each held-out eval and the adapter equal one process with the same global
  batch within 1e-5: packed rows with held-out evals, and 19 unpacked examples whose epoch ends
  on a one-example micro-batch (rank 1 has no share of it and runs the zero-loss passes that
  keep FSDP's all-gathers in step);
- a pause inside an epoch and the resume give the uninterrupted FSDP run within 1e-6, LoRA
  dropout on;
- QLoRA + FSDP, and DPO + FSDP, are refused before any rank starts, naming the field;
- CUDA running out of memory under FSDP (simulated on rank 0) fails the job naming training.batchSize.
Run: node scripts/python.mjs -m pytest -q tests/trainer/test_sharding.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conftest import (
    SELFTEST_DATASET,
    make_job,
    merge,
    read_config,
    read_events,
    run_cli,
    write_config,
)
from test_distributed import CPU, SFT, adapter_difference, completed, loss_difference
from tunedeck_trainer.protocol import event_errors

FSDP = {"training": {"gpus": 2, "sharding": "fsdp", "batchSize": 3}}


def short_dataset(path: Path, rows: int = 19) -> Path:
    """The first ``rows`` self-test examples: with 2 x 3 a micro-batch, the epoch's last has one."""
    lines = SELFTEST_DATASET.read_text(encoding="utf-8").splitlines()[:rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("data", ["packed", "short share"])
def test_fsdp_on_two_ranks_equals_one_process_with_the_global_batch(tmp_path: Path, tiny_model: Path, data: str) -> None:
    settings = SFT
    if data == "packed":  # with held-out evals, which every rank runs whole
        settings = merge(SFT, {"dataset": {"validationSplit": 0.1}})
    if data == "short share":
        dataset = short_dataset(tmp_path / "short.jsonl")
        settings = merge(SFT, {"dataset": {"path": str(dataset)}, "training": {"packing": False}})
    one = make_job(tmp_path / "one", tiny_model, **merge(settings, {"training": {"batchSize": 6}}))
    two = make_job(tmp_path / "two", tiny_model, **merge(settings, FSDP))
    single, sharded = completed(one), completed(two)
    assert all(not event_errors(event) for event in sharded)
    memory = next(event for event in sharded if event["type"] == "memory")
    assert (memory["ranks"], memory["sharding"]) == (2, "fsdp")
    assert any(event["type"] == "log" and event["message"].startswith("FSDP: the base weights are split across 2") for event in sharded)
    evals = [[event["loss"] for event in events if event["type"] == "eval"] for events in (single, sharded)]
    assert len(evals[1]) == len(evals[0]) >= (2 if data == "packed" else 0)
    assert max((abs(mine - theirs) for mine, theirs in zip(*evals, strict=True)), default=0.0) <= 1e-5
    difference, adapter = loss_difference(single, sharded), adapter_difference(one, two)
    print(f"FSDP ({data}): max step-loss difference {difference:.2e}, adapter {adapter:.2e}")
    assert difference <= 1e-5 and adapter <= 1e-5


PAUSED = merge(FSDP, {"lora": {"dropout": 0.1}, "training": {"checkpointEvery": 3}})


def test_a_pause_inside_an_epoch_with_fsdp_resumes_exactly(tmp_path: Path, tiny_model: Path) -> None:
    straight = make_job(tmp_path / "straight", tiny_model, **merge(SFT, PAUSED))
    completed(straight)
    chained = make_job(tmp_path / "chained", tiny_model, **merge(SFT, PAUSED))
    first = run_cli(chained, timeout=400, TUNEDECK_PAUSE_AT_STEP="1", **CPU)
    assert first.returncode == 3, (first.stdout + first.stderr)[-4000:]
    paused = read_events(chained)[-1]
    assert (paused["type"], paused["step"]) == ("paused", 1)
    state = json.loads((chained / "checkpoints" / "pause-1" / "state.json").read_text(encoding="utf-8"))
    assert state["ranks"] == 2 and state["position"] == 2 and state["epoch"] == 0  # inside the first epoch
    write_config(chained, {**read_config(chained), "resumeFrom": "pause-1"})
    completed(chained)
    difference = loss_difference(read_events(straight), read_events(chained))
    adapter = adapter_difference(straight, chained)
    print(f"FSDP pause/resume on 2 ranks: max step-loss difference {difference:.2e}, adapter {adapter:.2e}")
    assert difference <= 1e-6 and adapter <= 1e-6


@pytest.mark.parametrize(
    "change, words",
    [
        ({"model": {"quantization": "4bit"}}, 'with model.quantization "4bit" (QLoRA) needs NVIDIA GPUs'),
        ({"method": "dpo"}, "trains SFT only so far, and this job's method is dpo"),
    ],
)
def test_an_fsdp_job_this_machine_cannot_run_is_refused_naming_the_field(
    tmp_path: Path, tiny_model: Path, change: dict[str, Any], words: str
) -> None:
    job = make_job(tmp_path / "job", tiny_model, **FSDP)
    write_config(job, merge(read_config(job), change))
    result = run_cli(job, timeout=120, **CPU)
    assert result.returncode == 1, (result.stdout + result.stderr)[-2000:]
    events = read_events(job)
    assert [event["type"] for event in events] == ["failed"]
    assert events[0]["field"] == "training.sharding" and words in events[0]["error"]
    assert not (job / "checkpoints").exists()


def _cuda_devices() -> int:
    import torch

    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@pytest.mark.skipif(_cuda_devices() < 2, reason="QLoRA + FSDP needs 2 NVIDIA GPUs (scripts/gpu-checks.sh fsdp)")
def test_qlora_with_fsdp_on_two_gpus_equals_one_gpu_with_the_global_batch(tmp_path: Path, tiny_model: Path) -> None:
    def job(name: str, training: dict[str, Any]) -> Path:
        folder = make_job(tmp_path / name, tiny_model, **merge(SFT, {"training": {"precision": "bf16", **training}}))
        write_config(folder, merge(read_config(folder), {"model": {"quantization": "4bit"}}))
        return folder

    one = job("one", {"batchSize": 6, "gpus": [0]})
    two = job("two", {**FSDP["training"], "gpus": [0, 1]})
    for job in (one, two):
        result = run_cli(job, timeout=400)
        assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    single, sharded = read_events(one), read_events(two)
    assert next(event for event in sharded if event["type"] == "memory")["sharding"] == "fsdp"
    difference = loss_difference(single, sharded)
    print(f"QLoRA + FSDP on 2 GPUs: max step-loss difference {difference:.2e}")
    assert difference <= 1e-2  # bf16 compute: the ranks' reductions round differently


def test_out_of_memory_with_fsdp_fails_the_job_naming_the_batch_size(tmp_path: Path, tiny_model: Path) -> None:
    job = make_job(tmp_path / "job", tiny_model, **merge(SFT, FSDP))
    result = run_cli(
        job, timeout=400, TUNEDECK_SIMULATE_OOM_ABOVE_BATCH="2", TUNEDECK_SIMULATE_OOM_FROM_STEP="2", TUNEDECK_SIMULATE_OOM_RANK="0", **CPU
    )
    assert result.returncode == 1, (result.stdout + result.stderr)[-4000:]
    events = read_events(job)
    final = events[-1]
    assert final["type"] == "failed" and final["field"] == "training.batchSize"
    assert "ran out of memory in step 2 on rank 0 with FSDP" in final["error"]
    assert [event["step"] for event in events if event["type"] == "step"] == [1]
    assert not [event for event in events if event["type"] == "oom"]
