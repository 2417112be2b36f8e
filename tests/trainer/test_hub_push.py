"""Push to the Hub: the real huggingface_hub client uploads a folder to the local stand-in of the Hub
(tests/fixtures/hub/server.py), which writes what it received; the repository is created private."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES, cli_env

sys.path.insert(0, str(FIXTURES / "hub"))
from server import start_hub  # noqa: E402

TOKEN = "hf_write_token"


@pytest.fixture()
def hub(tmp_path: Path):
    server, state = start_hub({}, token=TOKEN, push_dir=tmp_path / "pushed")
    yield f"http://127.0.0.1:{server.server_port}", state, tmp_path / "pushed"
    server.shutdown()


@pytest.fixture()
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "upload"
    (folder / "sub").mkdir(parents=True)
    (folder / "README.md").write_text("---\nlicense: apache-2.0\n---\n# card\n", encoding="utf-8")
    (folder / "adapter_config.json").write_text('{"r": 8}', encoding="utf-8")
    (folder / "adapter_model.safetensors").write_bytes(bytes(range(256)) * 600)
    (folder / "sub" / "adapter.gguf").write_bytes(b"GGUF" + bytes(70_000))
    return folder


def push(folder: Path, endpoint: str, *args: str, token: str | None = TOKEN) -> tuple[int, list[dict]]:
    env = cli_env(HF_ENDPOINT=endpoint, HF_HUB_DISABLE_TELEMETRY="1", HF_HUB_DISABLE_PROGRESS_BARS="1")
    env.pop("HF_TOKEN", None)
    if token:
        env["HF_TOKEN"] = token
    result = subprocess.run(
        [sys.executable, "-m", "tunedeck_trainer.export", "push", "--folder", str(folder), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    lines = [
        json.loads(line.split(" ", 1)[1]) | {"tag": line.split(" ", 1)[0]}
        for line in result.stdout.splitlines()
        if line.startswith("TUNEDECK_EXPORT")
    ]
    return result.returncode, lines


def test_push_uploads_every_file_into_a_private_repository(hub, folder: Path) -> None:
    endpoint, state, pushed = hub
    code, lines = push(folder, endpoint, "--repo", "tiny-user/my-adapter")
    assert code == 0, lines
    received = pushed / "tiny-user" / "my-adapter"
    names = sorted(path.relative_to(folder).as_posix() for path in folder.rglob("*") if path.is_file())
    assert (
        sorted(path.relative_to(received).as_posix() for path in received.rglob("*") if path.is_file() and path.name != ".hub-repo.json")
        == names
    )
    for name in names:
        assert (received / name).read_bytes() == (folder / name).read_bytes(), name
    settings = json.loads((received / ".hub-repo.json").read_text())
    assert settings == {"private": True, "commits": ["Upload from Tunedeck"]}
    sent = {line["file"]: line["lfs"] for line in lines if line.get("phase") == "sent"}
    assert sent == {"README.md": False, "adapter_config.json": False, "adapter_model.safetensors": True, "sub/adapter.gguf": True}
    result = lines[-1]
    assert result["tag"] == "TUNEDECK_EXPORT_RESULT" and result["private"] is True and result["repo"] == "tiny-user/my-adapter"


def test_public_when_asked(hub, folder: Path) -> None:
    endpoint, _state, pushed = hub
    code, _ = push(folder, endpoint, "--repo", "tiny-user/open", "--public")
    assert code == 0
    assert json.loads((pushed / "tiny-user" / "open" / ".hub-repo.json").read_text())["private"] is False


def test_a_refused_token_and_a_missing_one_say_what_to_do(hub, folder: Path) -> None:
    endpoint, _state, pushed = hub
    code, lines = push(folder, endpoint, "--repo", "tiny-user/x", token="hf_wrong")
    assert code == 2 and "token was refused" in lines[-1]["message"] and "Models page" in lines[-1]["message"]
    code, lines = push(folder, endpoint, "--repo", "tiny-user/x", token=None)
    assert code == 2 and lines[-1]["message"].startswith("no Hugging Face token")
    assert not pushed.exists()


def test_a_refused_commit_leaves_the_repository_empty_after_the_files_were_sent(hub, folder: Path) -> None:
    endpoint, state, pushed = hub
    state.refuse_commit = True
    code, lines = push(folder, endpoint, "--repo", "tiny-user/refused")
    assert code == 2
    assert [line["file"] for line in lines if line.get("phase") == "sent"] == [
        "adapter_config.json",
        "README.md",
        "sub/adapter.gguf",
        "adapter_model.safetensors",
    ]
    assert "HTTP 400" in lines[-1]["message"] and "tiny-user/refused" in lines[-1]["message"]
    assert not (pushed / "tiny-user" / "refused").exists()
