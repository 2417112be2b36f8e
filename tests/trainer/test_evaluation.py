"""Evaluation, base against tuned, on a job's held-out rows through the real command: the tuned
adapter's loss on the references is below the base's, every number is what its definition gives,
and the scores come from rouge-score and sacrebleu as those libraries compute them."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import cli_env, make_job, run_cli


def test_scores_are_the_libraries_own() -> None:
    from tunedeck_trainer.evaluation.evaluate import scores

    result = scores(["the cat sat on the mat", "Paris"], ["the cat sat on a mat", " Paris "])
    assert result["exactMatch"] == 0.5
    # ROUGE-L F1: the longest common subsequence is 5 of 6 words on the first pair; the second is equal.
    assert result["rougeL"] == pytest.approx((5 / 6 + 1) / 2)
    import sacrebleu

    assert result["bleu"] == pytest.approx(
        sacrebleu.corpus_bleu(["the cat sat on the mat", "Paris"], [["the cat sat on a mat", " Paris "]]).score / 100
    )


@pytest.fixture(scope="module")
def evaluated(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict]:
    job = make_job(
        tmp_path_factory.mktemp("evaluation") / "job",
        tiny_model,
        dataset={"validationSplit": 0.1},
        training={"maxSteps": 30, "learningRate": 0.01, "seed": 3},
    )
    assert run_cli(job).returncode == 0
    completed = subprocess.run(
        [sys.executable, "-m", "tunedeck_trainer.evaluation", "--job-dir", str(job), "--limit", "6", "--max-new-tokens", "12"],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    lines = [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
    assert [line["done"] for line in lines if line["type"] == "progress"] == list(range(1, 7))
    assert lines[-1]["type"] == "done"
    return job, lines[-1]


def test_the_tuned_model_beats_the_base_on_held_out_rows(evaluated) -> None:
    job, result = evaluated
    saved = json.loads((job / "evaluation.json").read_text())
    assert saved == {key: value for key, value in result.items() if key != "type"}
    assert saved["source"] == "held-out" and saved["rows"] == 6 and len(saved["examples"]) == 6
    base, tuned = saved["base"], saved["tuned"]
    print(
        f"\nbase: loss {base['loss']:.3f}, perplexity {base['perplexity']:.1f}, ROUGE-L {base['rougeL']:.3f}, BLEU {base['bleu']:.3f}; "
        f"tuned: loss {tuned['loss']:.3f}, perplexity {tuned['perplexity']:.1f}, ROUGE-L {tuned['rougeL']:.3f}, BLEU {tuned['bleu']:.3f}"
    )
    assert tuned["loss"] < base["loss"] - 1.0
    for side in (base, tuned):
        assert side["perplexity"] == pytest.approx(math.exp(side["loss"]))
        assert all(0 <= side[key] <= 1 for key in ("exactMatch", "rougeL", "bleu"))
    example = saved["examples"][0]
    assert example["prompt"] and example["reference"] and set(example) == {"prompt", "reference", "base", "tuned"}


def test_a_job_without_an_adapter_is_refused_naming_it(tiny_model: Path, tmp_path: Path) -> None:
    job = make_job(tmp_path / "job", tiny_model)
    completed = subprocess.run(
        [sys.executable, "-m", "tunedeck_trainer.evaluation", "--job-dir", str(job)],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    error = json.loads(completed.stdout.splitlines()[-1])
    assert error["field"] == "adapter" and "evaluate the job once it has completed" in error["message"]
