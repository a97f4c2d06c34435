"""Oversight: the regulators' and administrators' dashboard of market figures (read only)."""

from flask import Blueprint

bp = Blueprint("oversight", __name__)

from marketplace.oversight import views  # noqa: E402,F401
