"""Schemas shared by the API endpoints."""

from __future__ import annotations

import marshmallow as ma


class StrictSchema(ma.Schema):
    """Unknown fields are an error (422), not silently ignored."""

    class Meta:
        unknown = ma.RAISE


class ErrorSchema(ma.Schema):
    """Every error response: a stable machine code and a translated message."""

    class ErrorBody(ma.Schema):
        code = ma.fields.String(required=True, metadata={"example": "validation_error"})
        message = ma.fields.String(required=True)
        details = ma.fields.Dict(metadata={"description": "field → messages, for validation errors"})

    error = ma.fields.Nested(ErrorBody, required=True)


def page_schema(item_schema, name: str):
    """A list response with an opaque cursor to the next page."""
    return ma.Schema.from_dict(
        {
            "items": ma.fields.List(ma.fields.Nested(item_schema), required=True),
            "next_cursor": ma.fields.String(allow_none=True, required=True),
        },
        name=name,
    )
