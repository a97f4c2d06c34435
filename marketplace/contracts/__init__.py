"""Contracts: generated from the award, signed online by both parties, verifiable by anyone."""

from flask import Blueprint

bp = Blueprint("contracts", __name__)

from marketplace.contracts import views  # noqa: E402,F401
