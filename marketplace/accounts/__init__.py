"""Organisations, users, registration and sign-in."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)

from marketplace.accounts import views  # noqa: E402,F401
