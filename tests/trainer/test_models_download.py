"""Downloads from a local stand-in of the Hub (tests/fixtures/hub/server.py) with the real huggingface_hub.

The download runs as the host runs it, ``python -m tunedeck_trainer.models download`` in its own
process with HF_ENDPOINT at the local server and HF_HUB_CACHE in a temporary folder.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import FIXTURES, RUNTIME, make_job, read_events, run_cli

sys.path.insert(0, str(FIXTURES / "hub"))
from server import start_hub  # noqa: E402

REPO = "tiny-org/tiny-chat"
GATED = "tiny-org/tiny-gated"
TOKEN = "hf_test_token"
NEEDED = {
    "config.json",
    "generation_config.json",
    "model.safetensors",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
}


@pytest.fixture(scope="module")
def hub_repo(tmp_path_factory: pytest.TempPathFactory, tiny_model: Path) -> Path:
    """The tiny model as a Hub repository, with the files a download must leave out."""
    repo = tmp_path_factory.mktemp("hub") / "tiny-chat"
    shutil.copytree(tiny_model, repo)
    (repo / "pytorch_model.bin").write_bytes(os.urandom(50_000))
    (repo / "tiny.Q4_K_M.gguf").write_bytes(os.urandom(40_000))
    (repo / "original").mkdir()
    (repo / "original" / "consolidated.00.pth").write_bytes(os.urandom(30_000))
    return repo


@pytest.fixture()
def hub(hub_repo: Path):
    server, state = start_hub({REPO: hub_repo, GATED: hub_repo}, gated={GATED}, token=TOKEN)
    yield server, state
    server.shutdown()


def environment(server: Any, cache: Path, **extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("HF_", "HUGGING"))}
    env.update(
        PYTHONPATH=str(RUNTIME),
        HF_ENDPOINT=f"http://127.0.0.1:{server.server_port}",
        HF_HUB_CACHE=str(cache),
        HF_HOME=str(cache.parent / "hf-home"),
        HF_HUB_DISABLE_PROGRESS_BARS="1",
        HF_HUB_DISABLE_TELEMETRY="1",
        HF_HUB_ETAG_TIMEOUT="5",
    )
    env.update(extra)
    return env


def start(hub_id: str, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tunedeck_trainer.models", "download", hub_id],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def finish(process: subprocess.Popen[str]) -> tuple[int, list[dict[str, Any]], str]:
    out, err = process.communicate(timeout=120)
    return process.returncode, [json.loads(line) for line in out.splitlines() if line.strip()], err


def test_full_download_fetches_only_what_a_fine_tune_needs(hub, tmp_path: Path, hub_repo: Path) -> None:
    server, state = hub
    code, events, err = finish(start(REPO, environment(server, tmp_path / "cache")))
    assert code == 0, err
    done = events[-1]
    assert done["type"] == "done"
    snapshot = Path(done["path"])
    assert {path.name for path in snapshot.iterdir()} == NEEDED
    assert (snapshot / "model.safetensors").read_bytes() == (hub_repo / "model.safetensors").read_bytes()
    assert set(state.sent) == NEEDED  # the .bin, the GGUF and original/ never left the server
    total = sum((hub_repo / name).stat().st_size for name in NEEDED)
    assert events[0]["type"] == "start" and events[0]["totalBytes"] == total
    assert done["fetchedBytes"] == total == sum(state.sent.values())

    # Offline afterwards: the trainer resolves the hub id from the cache with no server at all.
    server.shutdown()
    check = subprocess.run(
        [
            sys.executable,
            "-c",
            "from pathlib import Path; from tunedeck_trainer.config import resolve_model_path; "
            f"print(resolve_model_path(Path('.'), '{REPO}'))",
        ],
        capture_output=True,
        text=True,
        env=environment(server, tmp_path / "cache", HF_HUB_OFFLINE="1"),
        timeout=60,
    )
    assert check.stdout.strip() == str(snapshot), check.stderr

    # A job on the hub id trains from the cache with the Hub gone, as the host runs it (HF_HUB_OFFLINE).
    job = make_job(tmp_path / "job", Path(REPO), training={"maxSteps": 2, "batchSize": 2, "maxSeqLength": 64})
    result = run_cli(
        job,
        HF_HUB_CACHE=str(tmp_path / "cache"),
        HF_HOME=str(tmp_path / "hf-home"),
        HF_HUB_OFFLINE="1",
        HF_ENDPOINT=f"http://127.0.0.1:{server.server_port}",
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert read_events(job)[-1]["type"] == "completed"


def test_interrupted_download_resumes_where_it_stopped(hub, tmp_path: Path, hub_repo: Path) -> None:
    server, state = hub
    state.delay = 0.05  # 16 KiB per 50 ms: the 800 KB weights take about 2.5 s
    env = environment(server, tmp_path / "cache")
    process = start(REPO, env)
    weights = (hub_repo / "model.safetensors").stat().st_size
    deadline = time.monotonic() + 60
    while state.sent.get("model.safetensors", 0) < weights // 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGTERM)  # what the host's cancel does
    code, events, err = finish(process)
    assert code == 4, err
    assert events[-1] == {"type": "cancelled"}
    assert any(event["type"] == "progress" and event["doneBytes"] > 0 for event in events)
    sent_first = state.sent["model.safetensors"]
    assert weights // 2 <= sent_first < weights

    state.delay = 0.0
    code, events, err = finish(start(REPO, env))
    assert code == 0, err
    fetched_again = state.sent["model.safetensors"] - sent_first
    kept = events[0]["doneBytes"]
    print(f"weights {weights} B: first run sent {sent_first} B, resumed run sent {fetched_again} B, start reported {kept} B done")
    # Only the rest of the weights is fetched again (a little slack for the chunk in flight when killed).
    assert fetched_again <= weights - sent_first + 64 * 1024
    assert fetched_again < weights * 0.6
    snapshot = Path(events[-1]["path"])
    assert (snapshot / "model.safetensors").read_bytes() == (hub_repo / "model.safetensors").read_bytes()


def test_connection_cut_off_halfway_then_resumed(hub, tmp_path: Path, hub_repo: Path) -> None:
    server, state = hub
    env = environment(server, tmp_path / "cache")
    weights = (hub_repo / "model.safetensors").stat().st_size
    state.cut["model.safetensors"] = weights // 2
    code, events, err = finish(start(REPO, env))
    assert code == 1, err
    assert events[-1]["code"] == "interrupted" and "download again to continue" in events[-1]["message"]
    first = state.sent["model.safetensors"]
    assert weights // 2 <= first < weights

    code, events, err = finish(start(REPO, env))
    assert code == 0, err
    again = state.sent["model.safetensors"] - first
    print(f"weights {weights} B: cut off after {first} B, the second download fetched {again} B")
    # The rest, plus at most the one 64 KiB piece the client had not written when the connection broke.
    assert weights - first <= again <= weights - first + 64 * 1024
    assert (Path(events[-1]["path"]) / "model.safetensors").read_bytes() == (hub_repo / "model.safetensors").read_bytes()


def test_gated_model_needs_the_token(hub, tmp_path: Path) -> None:
    server, _state = hub
    env = environment(server, tmp_path / "cache")
    code, events, _err = finish(start(GATED, env))
    assert code == 1
    error = events[-1]
    assert error["type"] == "error" and error["code"] == "gated"
    page = f"http://127.0.0.1:{server.server_port}/{GATED}"
    assert error["url"] == page and page in error["message"] and "licence" in error["message"]

    code, events, _err = finish(start(GATED, {**env, "HF_TOKEN": "hf_wrong"}))
    assert code == 1 and events[-1]["code"] == "gated" and "token has no access" in events[-1]["message"]

    code, events, err = finish(start(GATED, {**env, "HF_TOKEN": TOKEN}))
    assert code == 0, err
    assert (Path(events[-1]["path"]) / "model.safetensors").is_file()


def test_unknown_hub_id_is_named(hub, tmp_path: Path) -> None:
    server, _state = hub
    code, events, _err = finish(start("tiny-org/no-such-model", environment(server, tmp_path / "cache")))
    assert code == 1
    assert events[-1]["code"] == "not_found"
    assert events[-1]["message"].startswith("hub id tiny-org/no-such-model: no such model")


def test_full_disk_is_refused_before_anything_is_fetched(hub, tmp_path: Path) -> None:
    server, state = hub
    code, events, _err = finish(start(REPO, environment(server, tmp_path / "cache", TUNEDECK_DISK_FREE_BYTES="1000000")))
    assert code == 1
    assert events[-1]["code"] == "disk_full"
    assert "GB is free" in events[-1]["message"] and str(tmp_path / "cache") in events[-1]["message"]
    assert state.sent == {}


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full (Linux) for a real ENOSPC")
def test_disk_filling_up_midway_is_named(hub, tmp_path: Path, hub_repo: Path) -> None:
    import hashlib

    server, _state = hub
    cache = tmp_path / "cache"
    # The weights' partial file is /dev/full: every write fails with the kernel's ENOSPC.
    blobs = cache / f"models--{REPO.replace('/', '--')}" / "blobs"
    blobs.mkdir(parents=True)
    etag = hashlib.sha256((hub_repo / "model.safetensors").read_bytes()).hexdigest()
    (blobs / f"{etag}.incomplete").symlink_to("/dev/full")
    code, events, _err = finish(start(REPO, environment(server, cache)))
    assert code == 1
    assert events[-1]["code"] == "disk_full"
    assert events[-1]["message"].startswith(f"the disk holding {cache} is full")
