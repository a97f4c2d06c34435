"""Small view helpers shared by every blueprint."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import flash, request
from flask_login import current_user

from marketplace.core.forms import apply_domain_error
from marketplace.extensions import db


def safe_next(default: str) -> str:
    """The ``next`` parameter if it is a local path, else ``default`` (no open redirects)."""
    target = request.args.get("next") or request.form.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.netloc and "\\" not in target:
        return target
    return default


def page_arg() -> int:
    """The ``page`` query parameter, clamped to a sane positive int."""
    try:
        page = int(request.args.get("page", 1))
    except (TypeError, ValueError):
        return 1
    return min(max(page, 1), 100_000)


def current_actor():
    """The signed-in user as a plain object, to hand to the domain services."""
    return current_user._get_current_object()


def fail(form, exc) -> None:
    """Undo the request's writes and show a refused action's message on its field, or as a flash."""
    db.session.rollback()
    if form is None or not apply_domain_error(form, exc):
        flash(str(exc.message), "danger")


def flash_form_errors(form) -> None:
    """Flash a form's validation errors, each prefixed with its field's label (for forms whose
    page cannot show the errors beside the fields, e.g. a form posted from another page)."""
    for name, errors in form.errors.items():
        label = getattr(getattr(form, name, None), "label", None)
        for error in errors:
            flash(f"{label.text}: {error}" if label else str(error), "danger")
