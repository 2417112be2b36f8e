"""The streamed check of a JSON Lines file (an import's check): the same counts, formats, records
and errors as the whole-file loader, and a peak memory that does not grow with the file.

The big-file size is TUNEDECK_BIG_JSONL_MB (default 24, fast on CI); run it once with 1024 for
the 1 GB figure:

    TUNEDECK_BIG_JSONL_MB=1024 PYTHONPATH=python-runtime python -m pytest -q -s tests/trainer/test_data_stream.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tunedeck_trainer.data.preview import preview
from tunedeck_trainer.data.stream import stream_summary

RUNTIME = Path(__file__).resolve().parents[2] / "python-runtime"


def row(index: int) -> str:
    return json.dumps({"messages": [{"role": "user", "content": f"Question {index}?"},
                                    {"role": "assistant", "content": f"Answer {index}. " * 8}]})


@pytest.mark.parametrize("lines", [
    [row(1), row(2), "{broken", "", '{"messages": 5}', row(3)],
    ['{"instruction": "a", "output": "b"}', '{"instruction": 7, "output": "b"}', '\ufeff'],
    ['\ufeff{"text": "with a BOM"}\r', '{"text": "and CRLF"}\r'],
])
def test_the_streamed_check_matches_the_whole_file_loader(tmp_path, lines):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    streamed = stream_summary(str(path), limit=5)
    whole = preview(str(path), limit=5, tokens={"maxLength": 64, "shown": 1})  # tokens: the whole-file path
    for key in ("format", "rows", "usable", "skipped", "records", "errors", "columns"):
        assert streamed[key] == whole[key], key


def test_a_binary_file_names_the_line(tmp_path):
    path = tmp_path / "binary.jsonl"
    path.write_bytes(b'{"text": "fine"}\n\x89PNG\r\n\x1a\n\xff\xfe\x00')
    result = preview(str(path))
    assert result["ok"] is False
    assert result["error"]["message"].startswith("binary.jsonl: not UTF-8 text (line 2")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads VmHWM from /proc (Linux)")
def test_peak_memory_stays_flat_on_a_big_file(tmp_path):
    megabytes = int(os.environ.get("TUNEDECK_BIG_JSONL_MB", "24"))
    path = tmp_path / "big.jsonl"
    line = (row(0) + "\n").encode()
    with open(path, "wb") as handle:
        chunk = line * 10_000
        while handle.tell() < megabytes * 1024 * 1024:
            handle.write(chunk)
    size = path.stat().st_size
    script = (
        "import json, sys; from tunedeck_trainer.data.preview import preview; "
        "result = preview(sys.argv[1], limit=1); "
        # VmHWM, not ru_maxrss: ru_maxrss survives exec, so the child would report pytest's own peak.
        "peak = [line for line in open('/proc/self/status') if line.startswith('VmHWM')][0].split()[1]; "
        "print(json.dumps({'rows': result['rows'], 'usable': result['usable'], 'peak': int(peak)}))"
    )
    env = {**os.environ, "PYTHONPATH": str(RUNTIME)}
    output = subprocess.run([sys.executable, "-c", script, str(path)], env=env, capture_output=True, text=True, check=True)
    result = json.loads(output.stdout)
    peak_mb = result["peak"] / 1024  # VmHWM is in KiB
    print(f"streamed check of {size / 2**20:.0f} MiB JSONL ({result['rows']} rows): peak RSS {peak_mb:.0f} MiB")
    assert result["rows"] == result["usable"] == size // len(line)
    # The interpreter and the data layer take about 30 MiB; the file's size must not show.
    assert peak_mb < 120
    path.unlink()
