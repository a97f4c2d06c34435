"""Pages around the API: token management for organisations, and the API documentation."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.permissions import roles_required
from marketplace.api import current_api, services
from marketplace.api.forms import TokenForm
from marketplace.api.scopes import scope_label, scopes_for
from marketplace.core.errors import DomainError
from marketplace.core.forms import apply_domain_error
from marketplace.extensions import db

ui_bp = Blueprint("api_ui", __name__)


@ui_bp.route("/account/api-tokens", methods=["GET", "POST"])
@roles_required()
def tokens():
    org = current_user.organisation
    form = TokenForm()
    form.scopes.choices = [(s, scope_label(s)) for s in scopes_for(org.kind)]
    secret = None
    if form.validate_on_submit():
        try:
            _token, secret = services.create_token(
                org, name=form.name.data, scopes=form.scopes.data, actor=current_user._get_current_object()
            )
        except DomainError as exc:
            db.session.rollback()
            if not apply_domain_error(form, exc):
                flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("Token created. Copy it now: it will not be shown again."), "success")
    return render_template(
        "api/tokens.html", form=form, tokens=services.tokens_of(org), secret=secret, scope_label=scope_label
    )


@ui_bp.route("/account/api-tokens/<int(max=2147483647):token_id>/revoke", methods=["POST"])
@roles_required()
def revoke(token_id: int):
    token = services.get_token(token_id)
    services.revoke_token(token, actor=current_user._get_current_object())
    db.session.commit()
    flash(_("Token revoked."), "success")
    return redirect(url_for("api_ui.tokens"))


@ui_bp.route("/api/v1/docs")
def docs():
    spec = current_api().spec.to_dict()
    return render_template("api/docs.html", spec=spec)
