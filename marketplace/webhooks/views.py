"""Endpoint registration, the delivery log, replay and test events."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.permissions import roles_required
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.forms import apply_domain_error
from marketplace.extensions import db
from marketplace.webhooks import bp, services
from marketplace.webhooks.events import EVENT_TYPES, event_label
from marketplace.webhooks.forms import EndpointForm


@bp.route("/account/webhooks", methods=["GET", "POST"])
@roles_required()
def endpoints():
    org = current_user.organisation
    form = EndpointForm()
    form.event_types.choices = [(name, str(label)) for name, label in EVENT_TYPES.items() if name != "ping"]
    secret = None
    if form.validate_on_submit():
        try:
            _endpoint, secret = services.create_endpoint(
                org, url=form.url.data, event_types=form.event_types.data,
                description=form.description.data or "", actor=current_user._get_current_object(),
            )
        except DomainError as exc:
            db.session.rollback()
            if not apply_domain_error(form, exc):
                flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("Endpoint registered. Copy the signing secret now: it will not be shown again."), "success")
    return render_template("webhooks/endpoints.html", form=form, endpoints=services.endpoints_of(org),
                           secret=secret, event_label=event_label)


def _own_endpoint(endpoint_id: int):
    endpoint = services.get_endpoint(endpoint_id)
    if not services.can_manage(current_user, endpoint.organisation):
        raise NotFound(_("This endpoint does not exist."))
    return endpoint


@bp.route("/account/webhooks/<int(max=2147483647):endpoint_id>")
@roles_required()
def endpoint_detail(endpoint_id: int):
    endpoint = _own_endpoint(endpoint_id)
    return render_template("webhooks/endpoint.html", endpoint=endpoint,
                           deliveries=services.recent_deliveries(endpoint), event_label=event_label)


@bp.route("/account/webhooks/<int(max=2147483647):endpoint_id>/toggle", methods=["POST"])
@roles_required()
def toggle(endpoint_id: int):
    endpoint = _own_endpoint(endpoint_id)
    services.set_endpoint_active(endpoint, active=not endpoint.is_active, actor=current_user._get_current_object())
    db.session.commit()
    flash(_("Endpoint resumed.") if endpoint.is_active else _("Endpoint paused."), "success")
    return redirect(url_for("webhooks.endpoint_detail", endpoint_id=endpoint.id))


@bp.route("/account/webhooks/<int(max=2147483647):endpoint_id>/ping", methods=["POST"])
@roles_required()
def ping(endpoint_id: int):
    endpoint = _own_endpoint(endpoint_id)
    services.send_test_event(endpoint, actor=current_user._get_current_object())
    db.session.commit()
    flash(_("A test event is queued; it is sent within a minute."), "success")
    return redirect(url_for("webhooks.endpoint_detail", endpoint_id=endpoint.id))


@bp.route("/account/webhooks/deliveries/<int(max=2147483647):delivery_id>/replay", methods=["POST"])
@roles_required()
def replay(delivery_id: int):
    delivery = services.get_delivery(delivery_id)
    _own_endpoint(delivery.endpoint_id)
    services.replay(delivery, actor=current_user._get_current_object())
    db.session.commit()
    flash(_("The delivery will be sent again."), "success")
    return redirect(url_for("webhooks.endpoint_detail", endpoint_id=delivery.endpoint_id))


@bp.route("/webhooks/guide")
def guide():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text(encoding="utf-8")
    # The guide is our own Markdown; shown as (escaped) preformatted text, no renderer needed.
    return render_template("webhooks/guide.html", text=text)
