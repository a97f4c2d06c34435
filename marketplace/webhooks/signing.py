"""Delivery signatures: HMAC-SHA256 over "<timestamp>.<body>" with the endpoint's secret.

Header: ``X-Zhongjie-Signature: t=<unix seconds>,v1=<hex digest>``. A receiver recomputes the
digest and rejects a timestamp older than its tolerance (5 minutes suggested) against replays.
See docs/webhooks.md for a ten-line verifier.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Zhongjie-Signature"
DEFAULT_TOLERANCE = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(secret: str, header: str, body: bytes, *, tolerance: int = DEFAULT_TOLERANCE, now: float | None = None) -> bool:
    """Whether ``header`` is a valid, fresh signature of ``body``."""
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError):
        return False
    if abs((now or time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)
