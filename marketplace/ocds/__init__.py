"""Open Contracting Data Standard (OCDS 1.1) export: releases, records and a bulk download."""

from flask import Blueprint

bp = Blueprint("ocds", __name__, url_prefix="/ocds")

from marketplace.ocds import views  # noqa: E402,F401
