"""Sanctions: warnings, suspensions and the blacklist, with due process, appeal and credit repair."""

from flask import Blueprint

bp = Blueprint("sanctions", __name__)

from marketplace.sanctions import views  # noqa: E402,F401
