"""The trainer on an NVIDIA GPU: bf16 SFT, QLoRA (4-bit NF4), DPO and KTO with and without 4-bit, and a
real CUDA out-of-memory error retried with smaller micro-batches. Skipped on a machine without
CUDA (CI has none); scripts/gpu-checks.sh runs this file on a GPU machine.

    PYTHONPATH=python-runtime python -m pytest -q tests/trainer/test_cuda.py
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from conftest import make_job, read_events, run_cli, step_losses
from test_dpo import dpo_job, write_preferences
from test_kto import kto_job, write_feedback

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs an NVIDIA GPU with CUDA")


def events_of(job_dir: Path, kind: str) -> list[dict[str, Any]]:
    """The events of one type."""
    return [event for event in read_events(job_dir) if event["type"] == kind]


def completed(job_dir: Path, timeout: float = 300, **env: str) -> list[dict[str, Any]]:
    """Runs the job to the end and returns its events; fails with the trainer's output otherwise."""
    result = run_cli(job_dir, timeout=timeout, **env)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return read_events(job_dir)


def test_bf16_sft_learns_and_reports_gpu_numbers(tiny_model: Path, tmp_path: Path) -> None:
    job = make_job(tmp_path / "bf16", tiny_model, training={"epochs": 3, "packing": False})
    events = completed(job)
    started = next(event for event in events if event["type"] == "started")
    assert started["device"].startswith("cuda") and started["dtype"] == "bfloat16"
    losses = step_losses(events)
    assert losses[max(losses)] < losses[1] - 1.5, losses
    steps = [event for event in events if event["type"] == "step"]
    assert all(step["peakMemoryMb"] > 0 for step in steps)
    assert all(step["mfu"] is not None and 0 < step["mfu"] < 1 for step in steps), "a known GPU gives an MFU"
    memory = events_of(job, "memory")[0]
    assert memory["freeMb"] > 0 and memory["fits"] is True
    assert memory["estimatedMb"] >= steps[-1]["peakMemoryMb"], "the estimate covers what the allocator held"


def test_qlora_trains_in_4bit(tiny_model: Path, tmp_path: Path) -> None:
    job = make_job(tmp_path / "qlora", tiny_model, model={"quantization": "4bit"}, training={"epochs": 3})
    result = run_cli(job, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "4-bit NF4" in result.stdout
    events = read_events(job)
    losses = step_losses(events)
    assert losses[max(losses)] < losses[1] - 1.0, losses
    adapter = job / "adapter"
    assert (adapter / "adapter_model.safetensors").is_file()
    saved = json.loads((adapter / "adapter_config.json").read_text())
    assert saved["r"] == 8


@pytest.mark.parametrize("quantization", ["none", "4bit"])
def test_dpo_learns_on_the_gpu(tiny_model: Path, tmp_path: Path, quantization: str) -> None:
    pairs = write_preferences(tmp_path / "pairs.jsonl")
    job = dpo_job(tmp_path / f"dpo-{quantization}", tiny_model, pairs, model={"quantization": quantization})
    events = completed(job)
    steps = [event for event in events if event["type"] == "step"]
    assert steps[0]["loss"] == pytest.approx(0.6931, abs=0.02), "policy equals reference at the start"
    assert steps[-1]["loss"] < 0.5, [step["loss"] for step in steps]
    late = [step["rewardsAccuracy"] for step in steps[-6:] if "rewardsAccuracy" in step]
    assert late and sum(late) / len(late) >= 0.75


@pytest.mark.parametrize("quantization", ["none", "4bit"])
def test_kto_learns_on_the_gpu(tiny_model: Path, tmp_path: Path, quantization: str) -> None:
    feedback = write_feedback(tmp_path / "feedback.jsonl")
    job = kto_job(tmp_path / f"kto-{quantization}", tiny_model, feedback, model={"quantization": quantization})
    events = completed(job)
    steps = [event for event in events if event["type"] == "step"]
    assert steps[0]["loss"] == pytest.approx(0.5, abs=0.02), "policy equals reference at the start"
    assert all(step["mfu"] is not None for step in steps), "a known GPU gives an MFU (6N per token)"
    late = steps[-6:]
    assert sum(step["rewardChosen"] - step["rewardRejected"] for step in late) / len(late) > 0.1


def long_rows(path: Path, rows: int = 64, words: int = 400) -> Path:
    """Alpaca rows with long answers, so that activations, not weights, fill the GPU."""
    text = " ".join(["the quick brown fox jumps over the lazy dog"] * (words // 9))
    path.write_text(
        "\n".join(json.dumps({"instruction": f"Repeat {index}", "input": "", "output": text}) for index in range(rows)) + "\n",
        encoding="utf-8",
    )
    return path


def test_a_real_out_of_memory_error_is_retried_with_the_same_effective_batch(tiny_model: Path, tmp_path: Path) -> None:
    data = long_rows(tmp_path / "long.jsonl")
    job = make_job(
        tmp_path / "oom",
        tiny_model,
        dataset={"path": str(data), "format": "alpaca"},
        training={"batchSize": 64, "gradientAccumulation": 1, "maxSteps": 2, "maxSeqLength": 512, "packing": False, "precision": "fp32"},
    )
    # fp32 logits of 64 x 512 tokens x the vocabulary, and their log-softmax, need far more than this.
    events = completed(job, TUNEDECK_CUDA_MEMORY_MB="96")
    ooms = events_of(job, "oom")
    assert ooms and all(event["retry"] for event in ooms), ooms
    last = ooms[-1]
    assert last["newBatchSize"] < 64
    assert last["newBatchSize"] * last["newGradientAccumulation"] >= 64, "the effective batch is unchanged"
    assert [event["type"] for event in events][-1] == "completed"
    assert sorted(step_losses(events)) == [1, 2]
