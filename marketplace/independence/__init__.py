"""Independence checks (红顶中介): regulators flag agencies tied to a government department."""

from flask import Blueprint

bp = Blueprint("independence", __name__)

from marketplace.independence import views  # noqa: E402,F401
