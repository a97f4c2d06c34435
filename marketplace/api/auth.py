"""Bearer-token authentication and scope checks for API endpoints."""

from __future__ import annotations

from functools import wraps

from flask import g, request
from flask_babel import gettext as _
from flask_smorest import abort

from marketplace.api.services import authenticate_token


def _presented_token() -> str:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return ""


def token_required(scope: str):
    """Require a valid token holding ``scope``; sets ``g.api_token`` and ``g.api_org``."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            token = authenticate_token(_presented_token())
            if token is None:
                abort(401, message=_("A valid API token is required (Authorization: Bearer …)."))
            if scope not in token.scope_set:
                abort(403, message=_("This token lacks the scope “%(scope)s”.", scope=scope))
            g.api_token = token
            g.api_org = token.organisation
            return view(*args, **kwargs)

        wrapped._api_scope = scope
        return wrapped

    return decorator


def rate_limit_key() -> str:
    """Rate-limit per token when one is presented, else per address."""
    token = _presented_token()
    if token.startswith("zjm_") and token.count("_") >= 2:
        return "token:" + token.split("_", 2)[1]
    return "ip:" + (request.remote_addr or "unknown")
