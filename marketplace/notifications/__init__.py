"""In-app notifications and e-mail (through an outbox) for deadlines and decisions."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/notifications")

from marketplace.notifications import views  # noqa: E402,F401
