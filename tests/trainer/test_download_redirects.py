"""A web dataset download that leads to this machine or a private network.

The host checks the URL it is given, but the fetch resolves the name again, and a name can answer
a public address to the check and 127.0.0.1 to the fetch (DNS rebinding). With the opener of
public_connections (the host asks for it with --public-only unless serve runs with
--allow-private-downloads) every connection checks the address it connects to, the URL's and each
redirect's: the refusal names the URLs, nothing reaches the local server and nothing is written.
Only loopback traffic: names (localhost, as http is allowed only to this machine) resolve through
the injected ``resolve``.

    node scripts/python.mjs -m pytest -q tests/trainer/test_download_redirects.py
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tunedeck_trainer.models.dataset_download import web_file
from tunedeck_trainer.models.download import DownloadError
from tunedeck_trainer.models.public_connections import off_internet, public_opener

BODY = b'{"prompt": "Hi", "completion": "Hello"}\n'
PUBLIC = "93.184.216.34"


class _Server(http.server.ThreadingHTTPServer):
    paths: list[str]


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 - the name http.server calls
        self.server.paths.append(self.path)
        if self.path.startswith("/moved/"):
            self.send_response(302)
            self.send_header("Location", f"http://private.test:{self.server.server_port}/data.jsonl")
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[_Server]:
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY"):
        monkeypatch.delenv(name, raising=False)  # connections go straight to the names' addresses
    server = _Server(("127.0.0.1", 0), _Handler)
    server.paths = []
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_a_name_that_answers_public_then_loopback_is_refused(server: _Server, tmp_path: Path) -> None:
    answers = iter([[PUBLIC], ["127.0.0.1"]])
    resolve = lambda _host, _port: next(answers)  # noqa: E731 - the rebinding name server
    url = f"http://localhost:{server.server_port}/data.jsonl"
    # The first answer goes to the check (the host's, before the download starts) and passes.
    assert [off_internet(address) for address in resolve("localhost", server.server_port)] == [None]
    with pytest.raises(DownloadError) as refused:
        web_file(url, tmp_path, lambda _event: None, public_opener(url, resolve))
    assert refused.value.code == "private_address"
    assert str(refused.value) == (
        f"URL {url} leads to 127.0.0.1, an address on this machine or its private network; Tunedeck downloads "
        "only from the internet (serve --allow-private-downloads allows it)"
    )
    assert server.paths == []
    assert list(tmp_path.iterdir()) == []


def test_a_redirect_to_a_private_address_is_refused(server: _Server, tmp_path: Path) -> None:
    # The first hop is let through to reach the local server; the redirect's connection is checked.
    names = {"localhost": ["127.0.0.1"], "private.test": ["10.0.0.7"]}
    url = f"http://localhost:{server.server_port}/moved/data.jsonl"
    check = lambda address: None if address == "127.0.0.1" else off_internet(address)  # noqa: E731
    with pytest.raises(DownloadError) as refused:
        web_file(url, tmp_path, lambda _event: None, public_opener(url, lambda host, _port: names[host], check))
    assert refused.value.code == "private_address"
    assert f"URL {url}: it redirects to http://private.test:{server.server_port}/data.jsonl, which leads to 10.0.0.7" in str(refused.value)
    assert server.paths == ["/moved/data.jsonl"]
    assert list(tmp_path.iterdir()) == []


def test_a_redirect_is_followed_when_private_downloads_are_allowed(server: _Server, tmp_path: Path) -> None:
    names = {"localhost": ["127.0.0.1"], "private.test": ["127.0.0.1"]}
    url = f"http://localhost:{server.server_port}/moved/data.jsonl"
    path = web_file(url, tmp_path, lambda _event: None, public_opener(url, lambda host, _port: names[host], lambda _address: None))
    assert path.read_bytes() == BODY
    assert server.paths == ["/moved/data.jsonl", "/data.jsonl"]


def test_a_proxy_the_operator_set_is_used_unchecked(server: _Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The proxy (this test's server) resolves the URL's name, so only the URL's own check applies.
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{server.server_port}")
    for name in ("no_proxy", "NO_PROXY"):
        monkeypatch.delenv(name, raising=False)
    url = "http://localhost:1/data.jsonl"
    path = web_file(url, tmp_path, lambda _event: None, public_opener(url, lambda _host, _port: ["127.0.0.1"]))
    assert path.read_bytes() == BODY
    assert server.paths == [url]


def test_addresses_off_the_internet_are_found() -> None:
    assert [off_internet(host) for host in ("127.0.0.1", "10.0.0.1", "169.254.169.254", "::1", "::ffff:192.168.1.1")] == [
        "127.0.0.1",
        "10.0.0.1",
        "169.254.169.254",
        "::1",
        "192.168.1.1",
    ]
    assert off_internet("8.8.8.8") is None
