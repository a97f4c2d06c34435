"""Sending one HTTP POST, behind a protocol so tests use a fake and never reach the network."""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.request
from typing import Protocol
from urllib.parse import urlsplit


class Sender(Protocol):
    """POSTs a body and returns the HTTP status code (raises OSError on transport failure)."""

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int: ...


class UrllibSender:
    """The real sender (standard library only); refuses redirects so a receiver cannot bounce us."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def post(self, url: str, body: bytes, headers: dict[str, str], timeout: float) -> int:
        opener = urllib.request.build_opener(self._NoRedirect)
        req = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310 - scheme checked
        try:
            with opener.open(req, timeout=timeout) as resp:  # noqa: S310
                return resp.status
        except urllib.error.HTTPError as exc:
            return exc.code


def is_private_host(host: str) -> bool:
    """Whether ``host`` is (or resolves to) a loopback, private, link-local or reserved address."""
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        return True
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if addr.is_private or addr.is_loopback or addr.is_link_local or addr.is_reserved or addr.is_multicast:
            return True
    return False


def url_problem(url: str, *, allow_http: bool, allow_private: bool) -> str | None:
    """Why ``url`` may not receive deliveries, or None when it may."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "malformed"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "scheme"
    if parts.scheme == "http" and not allow_http:
        return "https_required"
    if parts.username or parts.password:
        return "credentials"
    if not allow_private and is_private_host(parts.hostname):
        return "private"
    return None
