"""bench/trainer_throughput.py --smoke runs end to end on CPU (tiny model, one short epoch) in under
90 s and writes a result for both runs; it makes no speed claims. Both runs train on the same
examples with the same schedule, so their held-out losses agree closely: the check that the
comparison is fair."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, cli_env


def test_the_benchmark_smoke_run_finishes_and_writes_its_result(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "trainer_throughput.py"), "--smoke", "--work-dir", str(tmp_path)],
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=180,
        stdin=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    print(f"the smoke run took {elapsed:.0f} s")
    data = json.loads((tmp_path / "result.json").read_text())
    assert data["trainExamples"] == 24 and data["heldOutExamples"] == 8
    assert data["settings"]["plainSteps"] == 6
    assert set(data["versions"]) >= {"torch", "transformers", "peft"}
    entry = data["models"]["smoke"]
    for run in ("tunedeck", "plain"):
        assert entry[run]["steps"] == 6 and entry[run]["tokensPerSecond"] > 0
        assert entry[run]["heldOutLoss"] > 0 and entry[run]["lastStepLoss"] > 0
        assert entry[run]["mfu"] is None and entry[run]["peakMemoryMb"] is None  # CPU: no peak, no GPU memory
    assert entry["tokensPerSecondRatio"] > 0
    assert entry["heldOutLossRatio"] == pytest.approx(1.0, abs=0.01)
    assert "tokens/s ratio (Tunedeck / plain)" in result.stdout and "smoke run" in result.stdout
