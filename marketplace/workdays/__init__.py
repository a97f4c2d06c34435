"""The Chinese working-day calendar: statutory holidays and adjusted working days (调休)."""

from flask import Blueprint

bp = Blueprint("workdays", __name__)

from marketplace.workdays import views  # noqa: E402,F401
