"""A web dataset download that redirects to this machine or a private network.

The host checks the URL it is given; where that URL leads is checked here: with
``public_redirects`` (the host passes --public-redirects unless serve runs with
--allow-private-downloads) a redirect to a loopback address is refused naming both URLs and
nothing is written; without it the redirect is followed, as the tests' local servers need.

    node scripts/python.mjs -m pytest -q tests/trainer/test_download_redirects.py
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunedeck_trainer.models.dataset_download import private_address, web_file
from tunedeck_trainer.models.download import DownloadError

BODY = b'{"prompt": "Hi", "completion": "Hello"}\n'


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        if self.path.startswith("/moved/"):
            self.send_response(302)
            self.send_header("Location", f"http://127.0.0.1:{self.server.server_port}/data.jsonl")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture()
def port() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_port
    server.shutdown()


def test_a_redirect_to_this_machine_is_refused(port: int, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{port}/moved/data.jsonl"
    with pytest.raises(DownloadError) as refused:
        web_file(url, tmp_path, lambda _event: None, public_redirects=True)
    assert refused.value.code == "private_address"
    assert (
        url in str(refused.value)
        and f"http://127.0.0.1:{port}/data.jsonl" in str(refused.value)
        and "--allow-private-downloads" in str(refused.value)
    )
    assert list(tmp_path.iterdir()) == []


def test_a_redirect_is_followed_when_private_downloads_are_allowed(port: int, tmp_path: Path) -> None:
    path = web_file(f"http://127.0.0.1:{port}/moved/data.jsonl", tmp_path, lambda _event: None)
    assert path.read_bytes() == BODY


def test_addresses_off_the_internet_are_found() -> None:
    assert [private_address(host) for host in ("127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "::ffff:192.168.1.1")] == [
        "127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "192.168.1.1"]
    assert private_address("8.8.8.8") is None
