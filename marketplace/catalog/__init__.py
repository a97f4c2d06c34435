"""The public catalogues: approval items (行政审批事项) and intermediary service items (中介服务事项清单)."""

from flask import Blueprint

bp = Blueprint("catalog", __name__)

from marketplace.catalog import views  # noqa: E402,F401
