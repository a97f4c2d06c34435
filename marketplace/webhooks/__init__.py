"""Event push to approval systems: signed, retried, recorded and replayable deliveries."""

from flask import Blueprint

bp = Blueprint("webhooks", __name__)

from marketplace.webhooks import views  # noqa: E402,F401
