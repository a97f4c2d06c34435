"""Error pages that look like the site, and DomainError as a friendly response."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError

from marketplace.core.errors import DomainError
from marketplace.extensions import db


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (
        request.accept_mimetypes.best == "application/json"
    )


def _render(status: int, title: str, message: str):
    if _wants_json():
        return jsonify({"error": {"code": status, "message": message}}), status
    return render_template("errors/error.html", status=status, title=title, message=message), status


def register_error_handlers(app) -> None:
    """Attach the handlers for 400/403/404/405/413/429/500, CSRF and DomainError."""

    @app.errorhandler(400)
    def bad_request(exc):
        return _render(400, _("Bad request"), _("The request could not be understood."))

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _render(
            400, _("The form has expired"),
            _("The page was open too long or came from elsewhere. Reload it and try again."),
        )

    @app.errorhandler(403)
    def forbidden(exc):
        return _render(403, _("Not allowed"), _("Your account may not open this page."))

    @app.errorhandler(404)
    def not_found(exc):
        return _render(404, _("Page not found"), _("The page does not exist or was removed."))

    @app.errorhandler(405)
    def method_not_allowed(exc):
        return _render(405, _("Not allowed"), _("This action cannot be done this way."))

    @app.errorhandler(413)
    def too_large(exc):
        return _render(413, _("Too large"), _("The upload is larger than the site accepts."))

    @app.errorhandler(429)
    def too_many(exc):
        return _render(
            429, _("Too many attempts"), _("Please wait a minute before trying again.")
        )

    @app.errorhandler(500)
    def server_error(exc):
        db.session.rollback()
        return _render(
            500, _("Something went wrong"),
            _("The error has been recorded. Please try again later."),
        )

    @app.errorhandler(DomainError)
    def domain_error(exc):
        db.session.rollback()
        if _wants_json() or request.method == "GET":
            return _render(exc.http_status, _("Not possible"), str(exc.message))
        flash(str(exc.message), "danger")
        return redirect(request.referrer or "/")
