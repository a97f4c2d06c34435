"""The audit chain: an append-only, hash-chained log of every state change."""

from flask import Blueprint

bp = Blueprint("audit", __name__, url_prefix="/audit")

from marketplace.audit import views  # noqa: E402,F401
