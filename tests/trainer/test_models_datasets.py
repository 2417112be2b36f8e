"""Datasets from the Hub (one config and split of its Parquet conversion) and from the web, through the
local stand-in of the Hub, with the same progress, cancel and resume as a model; then read like a dropped file.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, RUNTIME

sys.path.insert(0, str(FIXTURES / "hub"))
from server import start_hub  # noqa: E402

DATASET = "tiny-org/tiny-instructions"


def rows(start: int, count: int) -> list[dict[str, str]]:
    return [{"prompt": f"What is {n} plus {n}?", "completion": f"{2 * n}."} for n in range(start, start + count)]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    import pyarrow as arrow
    import pyarrow.parquet as parquet

    conversion = tmp_path_factory.mktemp("parquet")
    for split, shards in (("train", [rows(0, 40), rows(40, 30)]), ("test", [rows(100, 5)])):
        (conversion / "default" / split).mkdir(parents=True)
        for index, shard in enumerate(shards):
            parquet.write_table(arrow.Table.from_pylist(shard), conversion / "default" / split / f"{index:04d}.parquet")
    files = tmp_path_factory.mktemp("web")
    with open(files / "chat.jsonl", "w") as handle:
        for row in rows(0, 4000):
            handle.write(json.dumps(row) + "\n")
    (files / "notes.txt").write_text("hello")
    return conversion, files


@pytest.fixture()
def hub(served: tuple[Path, Path]):
    server, state = start_hub({}, datasets={DATASET: served[0]}, files=served[1])
    yield server, state
    server.shutdown()


def command(server: Any, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("HF_")}
    env.update(
        PYTHONPATH=str(RUNTIME),
        HF_ENDPOINT=f"http://127.0.0.1:{server.server_port}",
        HF_HUB_CACHE=str(tmp_path / "cache"),
        HF_HOME=str(tmp_path / "hf-home"),
        HF_HUB_DISABLE_PROGRESS_BARS="1",
    )
    return subprocess.Popen(
        [sys.executable, "-m", "tunedeck_trainer.models", "download-dataset", *args, "--out-dir", str(tmp_path / "downloads")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, list[dict[str, Any]], str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, [json.loads(line) for line in out.splitlines() if line.strip()], err


def preview(path: Path) -> dict[str, Any]:
    """What the new-job form shows for a dropped file: the trainer's own preview."""
    result = subprocess.run(
        [sys.executable, "-m", "tunedeck_trainer.data", "preview", "--path", str(path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(RUNTIME)},
        timeout=120,
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_hub_split_is_joined_into_one_checked_parquet_file(hub, tmp_path: Path) -> None:
    server, _state = hub
    code, events, err = finish(command(server, tmp_path, "--hub", DATASET, "--split", "train"))
    assert code == 0, err
    done = events[-1]
    assert done["type"] == "done"
    path = Path(done["path"])
    assert path == tmp_path / "downloads" / "tiny-org--tiny-instructions--default--train.parquet"
    shown = preview(path)
    assert shown["format"] == "prompt_completion" and shown["rows"] == 70 and shown["usable"] == 70

    code, events, _err = finish(command(server, tmp_path, "--hub", DATASET, "--split", "validation"))
    assert code == 1 and events[-1]["code"] == "no_split"
    assert "default/test, default/train" in events[-1]["message"]
    code, events, _err = finish(command(server, tmp_path, "--hub", "tiny-org/nothing"))
    assert code == 1 and events[-1]["message"].startswith("hub id tiny-org/nothing: no such dataset")


def test_web_file_cancelled_then_resumed(hub, tmp_path: Path, served: tuple[Path, Path]) -> None:
    server, state = hub
    url = f"http://127.0.0.1:{server.server_port}/files/chat.jsonl"
    size = (served[1] / "chat.jsonl").stat().st_size
    state.delay = 0.03
    process = command(server, tmp_path, "--url", url)
    deadline = time.monotonic() + 60
    while state.sent.get("chat.jsonl", 0) < size // 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)
    code, events, err = finish(process)
    assert code == 4, err
    first = state.sent["chat.jsonl"]
    assert (tmp_path / "downloads" / "chat.jsonl.part").exists() and not (tmp_path / "downloads" / "chat.jsonl").exists()

    state.delay = 0.0
    code, events, err = finish(command(server, tmp_path, "--url", url))
    assert code == 0, err
    again = state.sent["chat.jsonl"] - first
    print(f"file {size} B: first run sent {first} B, the resumed run {again} B")
    assert events[0]["doneBytes"] > 0 and again <= size - first + 64 * 1024 and again < size * 0.6
    path = Path(events[-1]["path"])
    assert path.read_bytes() == (served[1] / "chat.jsonl").read_bytes()
    assert preview(path)["rows"] == 4000


def test_web_addresses_tunedeck_cannot_use_are_refused(hub, tmp_path: Path) -> None:
    server, _state = hub
    for url, words in (
        (f"http://127.0.0.1:{server.server_port}/files/notes.txt", "does not end in .json, .jsonl, .csv or .parquet"),
        ("http://example.org/data.jsonl", "use an https:// address"),
        (f"http://127.0.0.1:{server.server_port}/files/missing.csv", "HTTP 404"),
    ):
        code, events, _err = finish(command(server, tmp_path, "--url", url))
        assert code == 1 and words in events[-1]["message"] and url in events[-1]["message"]
