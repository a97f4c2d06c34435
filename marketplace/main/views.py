"""The public home page, the signed-in dashboard, the language switch and the favicon."""

from __future__ import annotations

from flask import (
    current_app,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_login import current_user

from marketplace.accounts import services as account_services
from marketplace.accounts.permissions import roles_required
from marketplace.core.web import safe_next
from marketplace.extensions import db
from marketplace.main import bp


@bp.route("/")
def index():
    return render_template("main/index.html")


@bp.route("/dashboard")
@roles_required()
def dashboard():
    return render_template("main/dashboard.html")


@bp.route("/language", methods=["POST"])
def set_language():
    locale = request.form.get("locale", "")
    if locale in current_app.config["LANGUAGES"]:
        session["locale"] = locale
        if current_user.is_authenticated:
            account_services.set_locale(current_user._get_current_object(), locale)
            db.session.commit()
    return redirect(safe_next(url_for("main.index")))


@bp.route("/healthz")
def healthz():
    db.session.execute(db.text("SELECT 1"))
    return {"status": "ok"}


@bp.route("/favicon.ico")
def favicon():
    # Browsers ask for /favicon.ico whatever the page links (and for files that are no HTML page).
    return send_from_directory(current_app.static_folder, "favicon.ico",
                               mimetype="image/vnd.microsoft.icon", max_age=7 * 24 * 3600)
