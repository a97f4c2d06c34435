"""Error pages that look like the site, JSON errors with stable codes for the API, DomainError."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from marketplace.core.errors import DomainError
from marketplace.extensions import db

# Stable machine-readable codes of the JSON API's error responses.
ERROR_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "validation_error",
    429: "rate_limited",
    500: "server_error",
}


def _wants_json() -> bool:
    return request.path.startswith("/api/") or (request.accept_mimetypes.best == "application/json")


def json_error(status: int, message: str, details=None, code: str | None = None):
    """The API's error body: ``{"error": {"code", "message", "details"?}}``."""
    body = {"code": code or ERROR_CODES.get(status, "error"), "message": message}
    if details:
        body["details"] = details
    return jsonify({"error": body}), status


def _exc_message(exc, default: str) -> str:
    data = getattr(exc, "data", None) or {}
    message = data.get("message") if isinstance(data, dict) else None
    return str(message) if message else default


def _exc_details(exc):
    data = getattr(exc, "data", None) or {}
    return data.get("messages") or data.get("errors") if isinstance(data, dict) else None


def _render(status: int, title: str, message: str, exc=None):
    if _wants_json():
        return json_error(status, _exc_message(exc, message), _exc_details(exc))
    return render_template("errors/error.html", status=status, title=title, message=message), status


def _domain_title(status: int) -> str:
    """The page title of a refused action: what happened, not a generic "not possible"."""
    titles = {
        403: _("Not allowed"),
        404: _("Page not found"),
        409: _("Conflict"),
        429: _("Too many attempts"),
    }
    return titles.get(status, _("Not possible"))


def register_error_handlers(app) -> None:
    """Attach the handlers for 400/401/403/404/405/409/413/415/422/429/500, CSRF and DomainError."""

    @app.errorhandler(400)
    def bad_request(exc):
        return _render(400, _("Bad request"), _("The request could not be understood."), exc)

    @app.errorhandler(CSRFError)
    def csrf_error(exc):
        return _render(
            400, _("The form has expired"),
            _("The page was open too long or came from elsewhere. Reload it and try again."),
        )

    @app.errorhandler(401)
    def unauthorized(exc):
        return _render(401, _("Sign-in required"), _("Please sign in first."), exc)

    @app.errorhandler(403)
    def forbidden(exc):
        return _render(403, _("Not allowed"), _("Your account may not open this page."), exc)

    @app.errorhandler(404)
    def not_found(exc):
        return _render(404, _("Page not found"), _("The page does not exist or was removed."), exc)

    @app.errorhandler(405)
    def method_not_allowed(exc):
        return _render(405, _("Not allowed"), _("This action cannot be done this way."), exc)

    @app.errorhandler(409)
    def conflict(exc):
        return _render(409, _("Conflict"), _("Someone else changed this record first."), exc)

    @app.errorhandler(413)
    def too_large(exc):
        return _render(413, _("Too large"), _("The upload is larger than the site accepts."), exc)

    @app.errorhandler(415)
    def unsupported(exc):
        return _render(415, _("Unsupported content"), _("Send JSON with Content-Type: application/json."), exc)

    @app.errorhandler(422)
    def unprocessable(exc):
        return _render(422, _("Invalid input"), _("Some fields are not valid."), exc)

    @app.errorhandler(429)
    def too_many(exc):
        return _render(429, _("Too many attempts"), _("Please wait a minute before trying again."))

    @app.errorhandler(500)
    def server_error(exc):
        db.session.rollback()
        return _render(
            500, _("Something went wrong"),
            _("The error has been recorded. Please try again later."),
        )

    @app.errorhandler(HTTPException)
    def other_http(exc):
        status = exc.code or 500
        return _render(status, exc.name, exc.description or "", exc)

    @app.errorhandler(DomainError)
    def domain_error(exc):
        db.session.rollback()
        if request.path.startswith("/api/"):
            status = exc.http_status
            code = "business_rule" if status == 400 else ERROR_CODES.get(status, "error")
            details = {exc.field: [str(exc.message)]} if exc.field else None
            return json_error(status, str(exc.message), details, code=code)
        if _wants_json() or request.method == "GET":
            return _render(exc.http_status, _domain_title(exc.http_status), str(exc.message))
        flash(str(exc.message), "danger")
        return redirect(request.referrer or "/")
