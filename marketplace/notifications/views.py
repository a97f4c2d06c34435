"""The user's notification list."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from marketplace.accounts.permissions import roles_required
from marketplace.core.errors import NotFound
from marketplace.core.web import page_arg, safe_next
from marketplace.extensions import db
from marketplace.notifications import bp, services


@bp.route("/")
@roles_required()
def index():
    pagination = services.list_for(current_user, page=page_arg())
    return render_template("notifications/index.html", pagination=pagination, render=services.render)


@bp.route("/read", methods=["POST"])
@roles_required()
def mark_read():
    raw = (request.form.get("id") or "").strip()
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) < 10):
        # Not an id: a refusal, never "mark everything read".
        raise NotFound(_l("This notification does not exist."))
    services.mark_read(current_user, int(raw) if raw else None)
    db.session.commit()
    return redirect(safe_next(url_for("notifications.index")))
