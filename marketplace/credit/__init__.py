"""Credit: the append-only ledger of credit inputs, the published formula, scores and grades."""

from flask import Blueprint

bp = Blueprint("credit", __name__)

from marketplace.credit import views  # noqa: E402,F401
