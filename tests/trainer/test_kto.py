"""KTO (method "kto") through the real CLI on the tiny model: feedback rows, learning, events, and the
errors that keep feedback rows and KTO apart from the other methods.

The feedback set is built here: a completion that is the fixed phrase is desirable (label true),
one of random words is undesirable (label false), one completion per row.
Run: PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer/test_kto.py
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest

from conftest import SELFTEST_DATASET, make_job, merge, read_events, run_cli
from test_dpo import CHOSEN, WORDS, dpo_job, write_preferences
from tunedeck_trainer.data import DatasetError, load_records
from tunedeck_trainer.protocol import event_errors


def write_feedback(path: Path, rows: int = 32, seed: int = 0) -> Path:
    """A JSONL feedback set: prompt -> the fixed phrase (label true) or random words (label false), alternating."""
    rng = random.Random(seed)
    lines = []
    for index in range(rows):
        topic = " ".join(rng.choice(WORDS) for _ in range(4))
        noise = " ".join(rng.choice(WORDS) for _ in range(4))
        good = index % 2 == 0
        lines.append(json.dumps({"prompt": f"Say the pattern for {topic}", "completion": CHOSEN if good else noise, "label": good}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def kto_job(job_dir: Path, model: Path, data: Path, **overrides: Any) -> Path:
    """A small KTO job on the file ``data``."""
    base: dict[str, Any] = {
        "method": "kto",
        "dataset": {"path": str(data), "format": "auto"},
        "training": {"learningRate": 0.002, "batchSize": 4, "maxSteps": 24, "warmupRatio": 0.0, "seed": 3},
        "kto": {"beta": 0.1},
    }
    return make_job(job_dir, model, **merge(base, overrides))


def test_feedback_rows_are_detected_and_normalised(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    rows = [
        {"prompt": "Hi", "completion": "Hello!", "label": True},
        {
            "prompt": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
            "completion": [{"role": "assistant", "content": "Go away."}],
            "label": False,
        },
    ]
    path.write_text("\n".join(json.dumps(row) for row in rows), encoding="utf-8")
    loaded = load_records(str(path))
    assert loaded.format == "feedback"
    assert loaded.records[0] == {"prompt": [{"role": "user", "content": "Hi"}], "completion": "Hello!", "label": True}
    assert loaded.records[1]["prompt"][0] == {"role": "system", "content": "Be brief."}
    assert (loaded.records[1]["completion"], loaded.records[1]["label"]) == ("Go away.", False)
    # Without a boolean label the same keys are a plain prompt/completion SFT row.
    plain = tmp_path / "plain.jsonl"
    plain.write_text(json.dumps({"prompt": "Hi", "completion": "Hello!", "label": "yes"}), encoding="utf-8")
    assert load_records(str(plain)).format == "prompt_completion"


def test_a_feedback_row_with_a_text_label_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "feedback.jsonl"
    rows = [{"prompt": "Hi", "completion": "Hello!", "label": label} for label in (True, False, "good")]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as failure:
        load_records(str(path))
    assert failure.value.field == "label" and failure.value.row == 3
    assert "true" in str(failure.value) and "false" in str(failure.value)


def test_a_feedback_row_never_reads_as_an_sft_example(tmp_path: Path) -> None:
    path = tmp_path / "mixed.jsonl"
    rows = [{"prompt": "Hi", "completion": "Hello!"}, {"prompt": "Hi", "completion": "Go away.", "label": False}]
    path.write_text("\n".join(json.dumps(row) for row in rows) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError) as failure:
        load_records(str(path), format="prompt_completion")
    assert failure.value.field == "label" and failure.value.row == 2 and '"kto"' in str(failure.value)


@pytest.fixture(scope="module")
def learned(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> tuple[Path, list[dict[str, Any]]]:
    """One 24-step KTO run with a held-out split; returns the job folder and its events."""
    root = tmp_path_factory.mktemp("kto")
    job = kto_job(root / "learn", tiny_model, write_feedback(root / "feedback.jsonl"), dataset={"validationSplit": 0.125})
    result = run_cli(job)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return job, read_events(job)


def test_kto_loss_falls_and_rewards_separate(learned: tuple[Path, list[dict[str, Any]]]) -> None:
    _, events = learned
    steps = [event for event in events if event["type"] == "step"]
    assert [event["step"] for event in steps] == list(range(1, 25))
    losses = [event["loss"] for event in steps]
    # An untrained policy equals the reference: every reward and the KL estimate are 0, the loss 1 - sigmoid(0).
    assert losses[0] == pytest.approx(0.5, abs=1e-6) and steps[0]["kl"] == 0
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    assert last < first - 0.1, f"loss did not fall: first steps {first:.4f}, last steps {last:.4f}"
    # The policy learns to favour desirable completions over undesirable ones.
    late = steps[-5:]
    assert sum(event["rewardChosen"] - event["rewardRejected"] for event in late) / 5 > 0.3


def test_kto_events_follow_the_protocol(learned: tuple[Path, list[dict[str, Any]]]) -> None:
    job, events = learned
    assert [event["seq"] for event in events] == list(range(1, len(events) + 1))
    assert all(event_errors(event) == [] for event in events)
    dataset = next(event for event in events if event["type"] == "dataset")
    assert (dataset["format"], dataset["examples"], dataset["validationExamples"]) == ("feedback", 28, 4)
    started = next(event for event in events if event["type"] == "started")
    assert (started["step"], started["totalSteps"], started["method"], started["beta"]) == (0, 24, "kto", 0.1)
    assert any(e["message"].startswith("KTO reference: the base model") for e in events if e["type"] == "log")
    assert [event["step"] for event in events if event["type"] == "eval"] == [7, 14, 21, 24]
    assert events[-1]["type"] == "completed" and Path(events[-1]["adapterPath"]) == job / "adapter"
    assert (job / "adapter" / "adapter_model.safetensors").is_file()


@pytest.mark.parametrize("method", ["sft", "dpo"])
def test_feedback_rows_never_train_as_another_method(tmp_path: Path, tiny_model: Path, method: str) -> None:
    data = write_feedback(tmp_path / "feedback.jsonl", rows=8)
    job = dpo_job(tmp_path / method, tiny_model, data, method=method)
    result = run_cli(job, timeout=60)
    assert result.returncode == 1
    failed = read_events(job)[-1]
    assert failed["type"] == "failed" and failed["field"] == "dataset.format"
    assert '"feedback"' in failed["error"] and 'method to "kto"' in failed["error"] and str(data) in failed["error"]


@pytest.mark.parametrize("source", ["sft", "preference"])
def test_kto_on_other_rows_fails_naming_the_format(tmp_path: Path, tiny_model: Path, source: str) -> None:
    data = SELFTEST_DATASET if source == "sft" else write_preferences(tmp_path / "pairs.jsonl", rows=8)
    job = kto_job(tmp_path / source, tiny_model, data)
    result = run_cli(job, timeout=60)
    assert result.returncode == 1
    failed = read_events(job)[-1]
    assert failed["type"] == "failed" and failed["field"] == "dataset.format"
    assert 'method "kto" needs feedback rows' in failed["error"] or 'method "kto" does not train' in failed["error"]
    assert str(data) in failed["error"]


def test_kto_needs_two_examples_a_step(tmp_path: Path, tiny_model: Path) -> None:
    job = kto_job(
        tmp_path / "one",
        tiny_model,
        write_feedback(tmp_path / "feedback.jsonl", rows=8),
        training={"batchSize": 1, "gradientAccumulation": 1},
    )
    result = run_cli(job, timeout=60)
    assert result.returncode == 1
    failed = read_events(job)[-1]
    assert failed["field"] == "training.batchSize" and "KL" in failed["error"]
