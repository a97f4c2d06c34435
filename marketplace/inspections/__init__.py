"""Random inspections (双随机、一公开): random agencies, random inspectors, public results."""

from flask import Blueprint

bp = Blueprint("inspections", __name__)

from marketplace.inspections import views  # noqa: E402,F401
