"""Dual evaluation (双向评价): blind ratings of a finished contract by both parties and the case's
approval department, revealed together, feeding the agency's credit."""

from flask import Blueprint

bp = Blueprint("ratings", __name__)

from marketplace.ratings import views  # noqa: E402,F401
