"""Delivery: the agency's result (服务成果) against the due date, acceptance, extensions (延期)."""

from flask import Blueprint

bp = Blueprint("delivery", __name__)

from marketplace.delivery import views  # noqa: E402,F401
