"""Agencies: profiles, qualifications, independence declarations and listings with the three commitments."""

from flask import Blueprint

bp = Blueprint("agencies", __name__)

from marketplace.agencies import views  # noqa: E402,F401
