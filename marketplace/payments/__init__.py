"""Payments: the contract price paid through Stripe (held, then transferred) or by bank transfer."""

from flask import Blueprint

bp = Blueprint("payments", __name__)

from marketplace.payments import views  # noqa: E402,F401
