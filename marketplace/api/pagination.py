"""Cursor pagination: stable under inserts, opaque to clients."""

from __future__ import annotations

import base64
import json

import marshmallow as ma
import sqlalchemy as sa
from flask_babel import gettext as _
from flask_smorest import abort

from marketplace.extensions import db

MAX_LIMIT = 100


class CursorArgs(ma.Schema):
    """Query arguments of every list endpoint."""

    class Meta:
        unknown = ma.EXCLUDE

    cursor = ma.fields.String(load_default=None, validate=ma.validate.Length(max=200))
    limit = ma.fields.Integer(load_default=20, validate=ma.validate.Range(min=1, max=MAX_LIMIT))


def encode_cursor(value) -> str:
    """An opaque cursor for the last row's key."""
    return base64.urlsafe_b64encode(json.dumps({"after": value}).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None):
    """The key inside a cursor; a malformed cursor is a 400, never a 500."""
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))["after"]
    except (ValueError, KeyError, TypeError):
        abort(400, message=_("The cursor is not valid."))
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**62:
        abort(400, message=_("The cursor is not valid."))
    return value


def page(select: sa.Select, key_column, args: dict, *, descending: bool = False):
    """One page of ``select`` ordered by the integer ``key_column``; returns (items, next_cursor)."""
    after = decode_cursor(args.get("cursor"))
    limit = args.get("limit", 20)
    if after is not None:
        select = select.where(key_column < after if descending else key_column > after)
    select = select.order_by(key_column.desc() if descending else key_column).limit(limit + 1)
    rows = list(db.session.execute(select).scalars())
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(getattr(rows[-1], key_column.key)) if more and rows else None
    return rows, next_cursor
