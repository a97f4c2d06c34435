"""Objections to a procurement result (质疑), complaints to the regulator (投诉), service complaints."""

from flask import Blueprint

bp = Blueprint("complaints", __name__)

from marketplace.complaints import views  # noqa: E402,F401
