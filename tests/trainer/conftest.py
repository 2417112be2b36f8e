"""Shared helpers for the trainer tests: a tiny model built once, job folders, the real CLI.

Run from the repository root:
    PYTHONPATH=python-runtime $TUNEDECK_PYTHON -m pytest -q tests/trainer
"""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RUNTIME = ROOT / "python-runtime"
if str(RUNTIME) not in sys.path:
    sys.path.insert(0, str(RUNTIME))
SELFTEST_DATASET = ROOT / "resources" / "selftest" / "dataset.jsonl"
SELFTEST_JOB = ROOT / "resources" / "selftest" / "job.json"
FIXTURES = ROOT / "tests" / "fixtures"


@pytest.fixture(scope="module")
def chatml():
    """The tiny model's tokenizer with its own ChatML template (a module may define its own chatml)."""
    from tunedeck_trainer.tiny_model import build_tokenizer

    return build_tokenizer()


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Llama model and tokenizer, built once per test session."""
    from tunedeck_trainer.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")


def merge(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in, nested objects merged key by key."""
    result = copy.deepcopy(base)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def make_job(job_dir: Path, model: Path, **overrides: Any) -> Path:
    """Writes a small, fast job config into ``job_dir`` (created) and returns the folder."""
    config = {
        "version": 1,
        "jobId": job_dir.name,
        "model": {"path": str(model)},
        "dataset": {"path": str(SELFTEST_DATASET), "format": "alpaca"},
        "lora": {"rank": 8, "alpha": 16, "dropout": 0.0},
        "training": {"learningRate": 0.01, "epochs": 1, "batchSize": 8, "maxSeqLength": 128, "warmupRatio": 0.05},
    }
    job_dir.mkdir(parents=True, exist_ok=True)
    write_config(job_dir, merge(config, overrides))
    return job_dir


def write_config(job_dir: Path, config: dict[str, Any]) -> None:
    """Writes ``config`` as the job's config.json."""
    (job_dir / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")


def read_config(job_dir: Path) -> dict[str, Any]:
    """The job's config.json."""
    return json.loads((job_dir / "config.json").read_text(encoding="utf-8"))


def read_events(job_dir: Path) -> list[dict[str, Any]]:
    """Every whole line of the job's events.jsonl, parsed."""
    path = job_dir / "events.jsonl"
    if not path.exists():
        return []
    data = path.read_text(encoding="utf-8")
    whole = data[: data.rfind("\n") + 1]
    return [json.loads(line) for line in whole.splitlines() if line.strip()]


def cli_env(**extra: str) -> dict[str, str]:
    """The environment the host gives the trainer: PYTHONPATH=python-runtime, plus ``extra``."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("TUNEDECK_")}
    env["PYTHONPATH"] = str(RUNTIME)
    env["PYTHONUNBUFFERED"] = "1"
    # The tiny model gains nothing from threads, and spinning OpenMP threads crawl when other
    # test runs share the two CI cores.
    env.setdefault("OMP_NUM_THREADS", "1")
    env.update(extra)
    return env


def run_cli(job_dir: Path, timeout: float = 180, **extra_env: str) -> subprocess.CompletedProcess[str]:
    """Runs ``python -m tunedeck_trainer train --job-dir`` to the end (stdin closed)."""
    return subprocess.run(
        [sys.executable, "-m", "tunedeck_trainer", "train", "--job-dir", str(job_dir)],
        cwd="/",
        env=cli_env(**extra_env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_cli(job_dir: Path, **extra_env: str) -> subprocess.Popen[str]:
    """Starts the trainer with a stdin pipe for control commands."""
    return subprocess.Popen(
        [sys.executable, "-m", "tunedeck_trainer", "train", "--job-dir", str(job_dir)],
        cwd="/",
        env=cli_env(**extra_env),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_for(
    job_dir: Path, predicate: Callable[[dict[str, Any]], bool], process: subprocess.Popen[str], timeout: float = 90
) -> dict[str, Any]:
    """Waits until an event matching ``predicate`` appears; fails if the process ends first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in read_events(job_dir):
            if predicate(event):
                return event
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise AssertionError(f"trainer exited with {process.returncode} first:\n{output[-3000:]}")
        time.sleep(0.02)
    process.kill()
    raise AssertionError("timed out waiting for an event")


def send(process: subprocess.Popen[str], command: dict[str, Any] | str) -> None:
    """Writes one control line to the trainer's stdin."""
    assert process.stdin is not None
    process.stdin.write((command if isinstance(command, str) else json.dumps(command)) + "\n")
    process.stdin.flush()


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str]:
    """Waits for the trainer to exit; returns its exit code and output."""
    output, _ = process.communicate(timeout=timeout)
    return process.returncode, output or ""


def train_in_process(job_dir: Path, save_adapter: bool = False) -> list[dict[str, Any]]:
    """Runs the job (any method) in this process to its end (or pause), then saves the adapter when
    asked, and returns the job's events."""
    from tunedeck_trainer.config import load_config
    from tunedeck_trainer.control import Control
    from tunedeck_trainer.loop import Training
    from tunedeck_trainer.protocol import EventWriter

    config = load_config(job_dir / "config.json")
    events = EventWriter(job_dir / "events.jsonl")
    try:
        recipe = Training(config, job_dir, events, Control(events))
        recipe.setup()
        recipe.train()
        if save_adapter:
            recipe.save_adapter()
    finally:
        events.close()
    return read_events(job_dir)


def step_losses(events: list[dict[str, Any]]) -> dict[int, float]:
    """step -> loss of every step event."""
    return {event["step"]: event["loss"] for event in events if event["type"] == "step"}
