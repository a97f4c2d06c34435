"""Procurement: approval cases, purchase announcements, sealed bids, selection and award."""

from flask import Blueprint

bp = Blueprint("procurement", __name__)

from marketplace.procurement import views  # noqa: E402,F401
