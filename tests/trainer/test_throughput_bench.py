"""bench/trainer_throughput.py --smoke runs end to end on CPU (tiny model, 3 steps) in under 60 s
and writes a result for both runs; it makes no ratio claims."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from conftest import ROOT, cli_env


def test_the_benchmark_smoke_run_finishes_and_writes_its_result(tmp_path: Path) -> None:
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "trainer_throughput.py"), "--smoke", "--work-dir", str(tmp_path)],
        env=cli_env(), capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL,
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert elapsed < 60, f"the smoke run took {elapsed:.0f} s"
    data = json.loads((tmp_path / "result.json").read_text())
    entry = data["models"]["smoke"]
    for run in ("tunedeck", "plain"):
        assert entry[run]["steps"] == 3 and entry[run]["tokensPerSecond"] > 0 and entry[run]["finalLoss"] > 0
        assert entry[run]["mfu"] is None and entry[run]["peakMemoryMb"] is None  # CPU: no peak, no GPU memory
    assert entry["tokensPerSecondRatio"] > 0
    assert "tokens/s ratio (Tunedeck / plain)" in result.stdout and "smoke run" in result.stdout
