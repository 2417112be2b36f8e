"""HTTP(S) connections that go only to internet addresses, checked when the socket connects.

A name checked once and resolved again to connect can answer differently the second time (DNS
rebinding: a public address for the check, 127.0.0.1 for the fetch). So the address is checked
where it is used: each connection, for the URL and for every redirect, resolves its host once
through ``resolve``, refuses the whole answer if any address is off the internet, and connects to
an address it checked (through a proxy the operator set, the proxy resolves it). The host's own
check of the URL (addresses.ts) stays as the early, field-placed message; this is the one that holds.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import urllib.request
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from .download import DownloadError

Resolve = Callable[[str, int], list[str]]


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, as the operating system answers."""
    return [str(info[4][0]).split("%")[0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


def off_internet(address: str) -> str | None:
    """``address`` (its IPv4 form when IPv4-mapped) when it is loopback, private, link-local... else None."""
    parsed = ipaddress.ip_address(address)
    mapped = getattr(parsed, "ipv4_mapped", None)
    return None if (mapped or parsed).is_global else str(mapped or parsed)


def public_opener(
    url: str, resolve: Resolve = resolve_host, check: Callable[[str], str | None] = off_internet
) -> urllib.request.OpenerDirector:
    """An opener whose every connection (redirects included) goes to an address ``check`` passed;
    the refusal names ``url`` and, after a redirect, the URL that led off the internet."""

    def connection(base: type[http.client.HTTPConnection], request: urllib.request.Request) -> Callable[..., Any]:
        def build(host: str, **options: Any) -> http.client.HTTPConnection:
            made = base(host, **options)
            if host != urlsplit(request.full_url).netloc:
                return made  # a proxy the operator set (http_proxy, https_proxy): it resolves the name, not us
            made._create_connection = lambda address, *rest: _connect(address, rest, request.full_url)  # type: ignore[attr-defined]
            return made

        return build

    def _connect(address: tuple[str, int], rest: tuple[Any, ...], current: str) -> socket.socket:
        host, port = address
        addresses = resolve(host, port)
        found = next((problem for problem in map(check, addresses) if problem is not None), None)
        if found is not None:
            where = f"URL {url}" if current == url else f"URL {url}: it redirects to {current}, which"
            raise DownloadError(
                "private_address",
                f"{where} leads to {found}, an address on this machine or its private "
                "network; Tunedeck downloads only from the internet (serve --allow-private-downloads allows it)",
            )
        failure: OSError = OSError(f"{host} has no address")
        for checked in addresses:
            try:
                return socket.create_connection((checked, port), *rest)
            except OSError as error:
                failure = error
        raise failure

    class Plain(urllib.request.HTTPHandler):
        def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(connection(http.client.HTTPConnection, req), req)

    class Secure(urllib.request.HTTPSHandler):
        def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
            return self.do_open(connection(http.client.HTTPSConnection, req), req, context=ssl.create_default_context())

    return urllib.request.build_opener(Plain, Secure)
