"""The streamed preview of a JSON Lines file: the same counts, formats, records, errors and token
counts as the whole-file loader, progress as it reads, and a peak memory that does not grow with
the file.

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

from tunedeck_trainer.data.encode import IGNORE_INDEX, encode_records, text_blocks
from tunedeck_trainer.data.loader import read_dataset
from tunedeck_trainer.data.masks import load_preview_tokenizer, token_view
from tunedeck_trainer.data.preview import preview, whole_file_preview
from tunedeck_trainer.data.stream import stream_summary

RUNTIME = Path(__file__).resolve().parents[2] / "python-runtime"


def row(index: int) -> str:
    return json.dumps(
        {"messages": [{"role": "user", "content": f"Question {index}?"}, {"role": "assistant", "content": f"Answer {index}. " * 8}]}
    )


@pytest.mark.parametrize(
    "lines",
    [
        [row(1), row(2), "{broken", "", '{"messages": 5}', row(3)],
        ['{"instruction": "a", "output": "b"}', '{"instruction": 7, "output": "b"}', "\ufeff"],
        ['\ufeff{"text": "with a BOM"}\r', '{"text": "and CRLF"}\r'],
    ],
)
def test_the_streamed_check_matches_the_whole_file_loader(tmp_path, lines):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    streamed = stream_summary(str(path), limit=5)
    whole = whole_file_preview(str(path), limit=5)
    for key in ("format", "rows", "usable", "skipped", "records", "errors", "columns"):
        assert streamed[key] == whole[key], key


def text_row(index: int) -> str:
    return json.dumps({"text": f"Chapter {index}. " + "The river ran on past the mill and the town. " * (3 + index % 7)})


@pytest.mark.parametrize(
    "rows, max_length, train_on_inputs",
    [
        ([row(index) for index in range(40)] + ['{"prompt": "p", "chosen": "c", "rejected": "r"}'], 48, False),
        ([row(index) for index in range(40)], 16, True),
        ([text_row(index) for index in range(30)], 32, False),
        ([text_row(0)], 1000, False),
    ],
)
def test_streamed_token_counts_equal_the_whole_file_counts(tmp_path, rows, max_length, train_on_inputs):
    path = tmp_path / "rows.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    tokens = {"maxLength": max_length, "shown": 2, "trainOnInputs": train_on_inputs}
    reports: list[tuple[int, int]] = []
    streamed = preview(str(path), limit=2, tokens=tokens, progress=lambda done, total: reports.append((done, total)))
    whole = whole_file_preview(str(path), limit=2, tokens=tokens)
    assert streamed["tokenError"] is whole["tokenError"] is None
    assert streamed["tokens"] == whole["tokens"]
    assert streamed["tokens"]["trainable"] > 0
    # And both are what training makes of the rows: the blocks text_blocks cuts, the examples encode_records keeps.
    tokenizer, _ = load_preview_tokenizer(None)
    records = [record for record in read_dataset(str(path), "auto", None, bad_rows="skip").records if "chosen" not in record]
    counted = streamed["tokens"]
    if all("text" in record for record in records):
        blocks = text_blocks(tokenizer, records, max_length)
        assert counted["blocks"] == counted["trainable"] == len(blocks)
        assert counted["learnedTokens"] == sum(label != IGNORE_INDEX for block in blocks for label in block["labels"])
        assert counted["examples"] == [token_view(tokenizer, block) for block in blocks[:2]]
    else:
        examples = encode_records(tokenizer, records, max_length, train_on_inputs=train_on_inputs).examples
        assert counted["learnedTokens"] == sum(label != IGNORE_INDEX for example in examples for label in example["labels"])
        assert counted["trainable"] == sum(any(label != IGNORE_INDEX for label in example["labels"][1:]) for example in examples)
        assert counted["examples"] == [token_view(tokenizer, example) for example in examples[:2]]
    # The last report says the whole file was read.
    assert reports[-1] == (path.stat().st_size, path.stat().st_size)


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
