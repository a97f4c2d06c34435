"""Bearer-token authentication and scope checks for API endpoints."""

from __future__ import annotations

from functools import wraps

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_smorest import abort

from marketplace.api.services import authenticate_token


def _presented_token() -> str:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return ""


def _authenticate(scope: str) -> None:
    """Abort with 401 without a valid token, 403 when it lacks ``scope``; else set ``g.api_token``
    and ``g.api_org`` (once per request)."""
    # Cached on the request, not on ``g``: an application context (and its ``g``) can outlive a
    # request, e.g. in a job or a test that keeps one open.
    token = request.environ.get("zjm.api_token")
    if token is None:
        token = authenticate_token(_presented_token())
        if token is None:
            abort(401, message=_("A valid API token is required (Authorization: Bearer …)."))
        request.environ["zjm.api_token"] = token
    g.api_token = token
    g.api_org = token.organisation
    if scope not in token.scope_set:
        abort(403, message=_("This token lacks the scope “%(scope)s”.", scope=scope))


def token_grants(scope: str) -> bool:
    """For an endpoint open to anyone: whether the caller presented a valid token holding ``scope``.

    No token means the public view; a presented but invalid token is a 401 (never silently public).
    """
    if not _presented_token():
        return False
    token = request.environ.get("zjm.api_token") or authenticate_token(_presented_token())
    if token is None:
        abort(401, message=_("A valid API token is required (Authorization: Bearer …)."))
    request.environ["zjm.api_token"] = token
    g.api_token = token
    g.api_org = token.organisation
    return scope in token.scope_set


def token_required(scope: str):
    """Require a valid token holding ``scope``; sets ``g.api_token`` and ``g.api_org``."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            _authenticate(scope)
            return view(*args, **kwargs)

        wrapped._api_scope = scope
        return wrapped

    return decorator


def check_token_first():
    """``before_request`` of the API blueprints: an endpoint that needs a token checks it before
    its body or query is parsed, so a caller without a valid token gets 401 (and one without the
    scope 403), never a validation error about input it may not send at all."""
    view = current_app.view_functions.get(request.endpoint or "")
    handler = getattr(getattr(view, "view_class", None), request.method.lower(), None) or view
    scope = getattr(handler, "_api_scope", None)
    if scope is not None:
        _authenticate(scope)


def rate_limit_key() -> str:
    """Rate-limit per token when one is presented, else per address."""
    token = _presented_token()
    if token.startswith("zjm_") and token.count("_") >= 2:
        return "token:" + token.split("_", 2)[1]
    return "ip:" + (request.remote_addr or "unknown")
