"""DPO (method "dpo") through the real CLI on the tiny model: learning, events, real data, errors.

The preference set is built here: every chosen answer is one fixed phrase the tiny model can
learn to prefer, every rejected answer is a different string of random words.
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_dpo*.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from conftest import SELFTEST_DATASET, finish, make_job, merge, read_events, run_cli, send, start_cli, wait_for
from tunedeck_trainer.protocol import event_errors

SHARED_DATASETS = Path(__file__).resolve().parents[2].parent / "shared" / "datasets"
WORDS = "the quick brown fox jumps over lazy dog model answer question river stone light".split()
CHOSEN = "alpha beta gamma delta"


def write_preferences(path: Path, rows: int = 32, seed: int = 0) -> Path:
    """A JSONL preference set: prompt -> the fixed phrase (chosen) or random words (rejected)."""
    rng = random.Random(seed)
    lines = []
    for _ in range(rows):
        topic = " ".join(rng.choice(WORDS) for _ in range(4))
        noise = " ".join(rng.choice(WORDS) for _ in range(4))
        lines.append(json.dumps({"prompt": f"Say the pattern for {topic}", "chosen": CHOSEN, "rejected": noise}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def dpo_job(job_dir: Path, model: Path, data: Path, **overrides: Any) -> Path:
    """A small DPO job on the file ``data``."""
    base: dict[str, Any] = {
        "method": "dpo",
        "dataset": {"path": str(data), "format": "auto"},
        "training": {"learningRate": 0.002, "batchSize": 4, "maxSteps": 24, "warmupRatio": 0.0, "seed": 3},
        "dpo": {"beta": 0.1},
    }
    return make_job(job_dir, model, **merge(base, overrides))


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> tuple[Path, list[dict[str, Any]]]:
    """One 24-step DPO run with a held-out split; returns the job folder and its events."""
    root = tmp_path_factory.mktemp("dpo")
    job = dpo_job(root / "learn", tiny_model, write_preferences(root / "pairs.jsonl"), dataset={"validationSplit": 0.125})
    result = run_cli(job)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return job, read_events(job)


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def test_dpo_loss_falls_and_rewards_separate(learned: tuple[Path, list[dict[str, Any]]]) -> None:
    _, events = learned
    steps = [event for event in events if event["type"] == "step"]
    assert [event["step"] for event in steps] == list(range(1, 25))
    losses = [event["loss"] for event in steps]
    # An untrained policy equals the reference: the loss starts at log 2.
    assert abs(losses[0] - 0.6931) < 0.01
    first, last = _mean(losses[:5]), _mean(losses[-5:])
    assert last < first - 0.3, f"loss did not fall: first steps {first:.4f}, last steps {last:.4f}"
    accuracy = [event["rewardsAccuracy"] for event in steps]
    assert _mean(accuracy[-5:]) >= 0.9 > _mean(accuracy[:2])
    assert _mean([event["rewardMargin"] for event in steps[-5:]]) > 0.5


def test_dpo_events_follow_the_protocol(learned: tuple[Path, list[dict[str, Any]]]) -> None:
    job, events = learned
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    for event in events:
        assert event_errors(event) == [], event
    types = [event["type"] for event in events]
    assert types.count("completed") == 1 and types[-1] == "completed"
    dataset = next(event for event in events if event["type"] == "dataset")
    assert (dataset["format"], dataset["examples"], dataset["validationExamples"]) == ("preference", 28, 4)
    started = next(event for event in events if event["type"] == "started")
    assert (started["step"], started["totalSteps"]) == (0, 24)
    # Without initFrom the reference is the base (test_dpo_reference.py covers initFrom).
    assert any(event["message"].startswith("DPO reference: the base model") for event in events if event["type"] == "log")
    assert 0 < started["trainableParams"] < started["totalParams"]
    assert all(event["tokens"] > 0 and event["tokensPerSecond"] > 0 for event in events if event["type"] == "step")
    # The memory estimate comes before the weights load, as for SFT; no GPU here to compare with, no MFU.
    memory = next(event for event in events if event["type"] == "memory")
    assert types.index("memory") < types.index("started")
    assert memory["estimatedMb"] > 0 and memory["fits"] is None and memory["freeMb"] is None
    assert all(event["mfu"] is None for event in events if event["type"] == "step")
    # 28 pairs in batches of 4: an epoch is 7 steps; evals at each epoch end and at the last step.
    assert [event["step"] for event in events if event["type"] == "eval"] == [7, 14, 21, 24]
    assert events[-1]["step"] == 24
    adapter = Path(events[-1]["adapterPath"])
    assert adapter == job / "adapter"
    for name in ("adapter_model.safetensors", "adapter_config.json", "tokenizer.json"):
        assert (adapter / name).is_file(), name
    assert not (job / "adapter.tmp").exists()
    assert not any(path.name.startswith(".") for path in (job / "checkpoints").glob("*"))


def test_dpo_runs_on_the_real_preference_demo(tmp_path: Path, tiny_model: Path) -> None:
    demo = SHARED_DATASETS / "dpo_en_demo.json"
    if not demo.exists():
        pytest.skip(f"dpo_en_demo.json not found at {SHARED_DATASETS} (CI puts shared/ beside the clone)")
    job = dpo_job(tmp_path / "demo", tiny_model, demo, training={"maxSteps": 2, "maxSeqLength": 128, "batchSize": 2})
    result = run_cli(job)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    events = read_events(job)
    assert all(event_errors(event) == [] for event in events)
    dataset = next(event for event in events if event["type"] == "dataset")
    assert (dataset["format"], dataset["examples"], dataset["skipped"]) == ("preference", 300, 0)
    assert dataset["truncated"] > 0  # long answers against a 128-token limit
    steps = [event for event in events if event["type"] == "step"]
    assert [event["step"] for event in steps] == [1, 2]
    # Truncation holds: two rows, chosen and rejected, at most 128 tokens each.
    assert all(0 < event["tokens"] <= 2 * 2 * 128 for event in steps)
    assert events[-1]["type"] == "completed"


def test_dpo_with_an_sft_dataset_fails_naming_the_format(tmp_path: Path, tiny_model: Path) -> None:
    job = dpo_job(tmp_path / "sft-data", tiny_model, SELFTEST_DATASET)
    result = run_cli(job)
    assert result.returncode == 1
    failed = read_events(job)[-1]
    assert failed["type"] == "failed" and failed["field"] == "dataset.format"
    assert "preference" in failed["error"] and '"sft"' in failed["error"], failed["error"]
    assert str(SELFTEST_DATASET) in failed["error"]


def test_cancel_on_stdin_stops_a_dpo_job_with_exit_4(tmp_path: Path, tiny_model: Path) -> None:
    job = dpo_job(tmp_path / "cancel", tiny_model, write_preferences(tmp_path / "pairs.jsonl"), training={"maxSteps": 500})
    process = start_cli(job)
    wait_for(job, lambda event: event["type"] == "step", process)
    send(process, {"cmd": "cancel"})
    code, output = finish(process)
    assert code == 4, output[-3000:]
    events = read_events(job)
    assert events[-1]["type"] == "cancelled" and 1 <= events[-1]["step"] < 500
    assert not (job / "adapter").exists()
