"""Pieces every endpoint module shares: the id converter, the token actor, field checks, error docs."""

from __future__ import annotations

import marshmallow as ma
from flask import g
from flask_babel import lazy_gettext as _l

from marketplace.api.schemas import ErrorSchema
from marketplace.api.services import TokenActor
from marketplace.core.errors import DomainError, InvalidTransition
from marketplace.core.text import MAX_DB_INT, has_control_chars

ID = f"int(max={MAX_DB_INT})"  # larger ids never match: a JSON 404, never a database error
SECURITY = [{"bearerAuth": []}]

ERROR_DESCRIPTIONS = {
    400: "A business rule refused the input (details names the field), or a malformed cursor",
    401: "No valid token",
    403: "The token lacks the scope, or its organisation may not do this",
    404: "No such record, or not visible to the token's organisation",
    409: "The status no longer allows this, or someone changed the record first (the message says which)",
    413: "The upload is larger than the server accepts",
    422: "The body or a query parameter is malformed (unknown fields, wrong types, out of range)",
}


def token_actor() -> TokenActor:
    """The calling token, acting for its organisation as the organisation's own staff would."""
    return TokenActor(g.api_token)


def plain(value) -> None:
    """A one-line text field: no control characters."""
    if isinstance(value, str) and has_control_chars(value):
        raise ma.ValidationError(str(_l("This field contains characters that are not allowed.")))


def multiline(value) -> None:
    """A text field that may hold line breaks, but no other control characters."""
    if isinstance(value, str) and has_control_chars(value, multiline=True):
        raise ma.ValidationError(str(_l("This field contains characters that are not allowed.")))


def error_docs(bp, *codes):
    """Document the JSON error answers ``codes`` of an endpoint of ``bp``."""

    def decorator(view):
        for code in codes:
            view = bp.alt_response(code, schema=ErrorSchema, description=ERROR_DESCRIPTIONS[code])(view)
        return view

    return decorator


def state_conflict(exc: DomainError) -> DomainError:
    """A service's refusal that names no field is about the record's status: a conflict (409)."""
    if type(exc) is DomainError and not exc.field:
        return InvalidTransition(exc.message)
    return exc
