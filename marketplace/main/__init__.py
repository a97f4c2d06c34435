"""Home page, dashboards, language switch and error pages."""

from flask import Blueprint

bp = Blueprint("main", __name__)

from marketplace.main import views  # noqa: E402,F401
