"""The list of API blueprints: each domain adds its own here (an explicit list, like setup.py)."""

from __future__ import annotations

from flask import current_app

from marketplace.api.auth import check_token_first, rate_limit_key
from marketplace.extensions import limiter


def _limit() -> str:
    return current_app.config["API_RATE_LIMIT"]


def api_blueprints() -> list:
    """(blueprint, url prefix under /api/v1) pairs, each rate limited per token."""
    from marketplace.api import v1

    pairs = [*v1.BLUEPRINTS]
    for bp, _prefix in pairs:
        if not getattr(bp, "_zj_limited", False):
            limiter.limit(_limit, key_func=rate_limit_key)(bp)
            bp.before_request(check_token_first)
            bp._zj_limited = True
    return pairs
