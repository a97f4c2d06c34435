"""Registering endpoints, emitting events into the outbox, delivering with back-off, replaying."""

from __future__ import annotations

import json
import logging
import secrets
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organisation, Role, User
from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotFound, PermissionDenied
from marketplace.extensions import db
from marketplace.webhooks.events import EVENT_TYPES
from marketplace.webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint
from marketplace.webhooks.signing import SIGNATURE_HEADER, sign
from marketplace.webhooks.transport import Sender, UrllibSender, url_problem

log = logging.getLogger(__name__)

# Seconds to wait after the n-th failed attempt; after the last one the delivery is given up.
BACKOFF = [60, 300, 1800, 7200, 43200, 86400]
MAX_ENDPOINTS_PER_ORG = 20

_URL_MESSAGES = {
    "malformed": _l("This is not a valid URL."),
    "scheme": _l("The URL must start with https://."),
    "https_required": _l("The URL must start with https://."),
    "credentials": _l("Do not put a user name or password in the URL."),
    "private": _l("The URL points to a private or local address."),
}


def can_manage(user: User, org: Organisation) -> bool:
    """Staff manage their organisation's endpoints; administrators any organisation's."""
    return user.organisation_id == org.id or user.role is Role.ADMIN


def create_endpoint(org: Organisation, *, url: str, event_types: list[str], description: str, actor: User):
    """Register an endpoint; returns it with its signing secret (shown once).

    Raises:
        PermissionDenied: the actor may not manage this organisation's endpoints.
        DomainError: bad URL, unknown event types, or too many endpoints.
    """
    if not can_manage(actor, org):
        raise PermissionDenied(_l("You may not manage this organisation's endpoints."))
    url = (url or "").strip()
    if len(url) > 500:
        raise DomainError(_l("The URL is too long."), field="url")
    problem = url_problem(
        url,
        allow_http=current_app.config["WEBHOOK_ALLOW_HTTP"],
        allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"],
    )
    if problem:
        raise DomainError(_URL_MESSAGES[problem], field="url")
    wanted = sorted(set(event_types))
    unknown = [t for t in wanted if t not in EVENT_TYPES]
    if not wanted or unknown:
        raise DomainError(_l("Choose one or more of the listed event types."), field="event_types")
    count = db.session.execute(
        sa.select(sa.func.count(WebhookEndpoint.id)).where(WebhookEndpoint.organisation_id == org.id)
    ).scalar_one()
    if count >= MAX_ENDPOINTS_PER_ORG:
        raise DomainError(_l("At most %(n)d endpoints per organisation.", n=MAX_ENDPOINTS_PER_ORG))
    secret = "whsec_" + secrets.token_urlsafe(32)
    endpoint = WebhookEndpoint(
        organisation_id=org.id, url=url, description=(description or "").strip()[:200],
        event_types=" ".join(wanted), secret=secret, created_by_id=actor.id,
    )
    db.session.add(endpoint)
    db.session.flush()
    record_event("webhook.endpoint_created", endpoint, actor=actor, payload={"url": url, "events": wanted})
    return endpoint, secret


def set_endpoint_active(endpoint: WebhookEndpoint, *, active: bool, actor: User) -> None:
    """Pause or resume an endpoint (paused endpoints receive nothing new).

    Raises:
        PermissionDenied: the actor may not manage it.
    """
    if not can_manage(actor, endpoint.organisation):
        raise PermissionDenied(_l("You may not manage this organisation's endpoints."))
    endpoint.is_active = active
    record_event("webhook.endpoint_resumed" if active else "webhook.endpoint_paused", endpoint, actor=actor)


def emit(event_type: str, data: dict, *, audience: list[int] | None = None) -> int:
    """Queue ``event_type`` for every active endpoint subscribed to it, in the caller's transaction.

    ``audience`` limits a non-public event to the organisations concerned (e.g. the department
    of an approval case and its applicant); None means the event is public.
    Returns the number of deliveries queued.
    """
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type}")
    endpoints = db.session.execute(
        sa.select(WebhookEndpoint).where(WebhookEndpoint.is_active.is_(True))
    ).scalars().all()
    event_id = "evt_" + uuid.uuid4().hex
    body = json.dumps(
        {"id": event_id, "type": event_type, "created_at": utcnow().isoformat(), "data": data},
        ensure_ascii=False, sort_keys=True, default=str,
    )
    queued = 0
    for endpoint in endpoints:
        if event_type not in endpoint.event_set:
            continue
        if audience is not None and endpoint.organisation_id not in audience:
            continue
        db.session.add(
            WebhookDelivery(endpoint_id=endpoint.id, event_id=event_id, event_type=event_type, payload=body)
        )
        queued += 1
    db.session.flush()
    return queued


def _sender() -> Sender:
    return current_app.extensions.get("webhook_sender") or UrllibSender()


def deliver_due(now=None, batch: int = 100) -> int:
    """Send every due delivery once (job). Returns how many succeeded."""
    now = now or utcnow()
    due = db.session.execute(
        sa.select(WebhookDelivery.id, WebhookDelivery.attempts)
        .where(WebhookDelivery.status == DeliveryStatus.PENDING, WebhookDelivery.next_attempt_at <= now)
        .order_by(WebhookDelivery.next_attempt_at)
        .limit(batch)
    ).all()
    sender = _sender()
    ok = 0
    for row in due:
        # Claim by bumping the attempt counter: two runners never send the same attempt twice.
        claimed = db.session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.id == row.id, WebhookDelivery.attempts == row.attempts,
                   WebhookDelivery.status == DeliveryStatus.PENDING)
            .values(attempts=WebhookDelivery.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        delivery = db.session.get(WebhookDelivery, row.id)
        ok += _attempt(delivery, sender, now)
        db.session.commit()
    return ok


def _attempt(delivery: WebhookDelivery, sender: Sender, now) -> int:
    endpoint = delivery.endpoint
    body = delivery.payload.encode()
    timestamp = int(now.timestamp())
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "zhongjie-market-webhooks/1",
        "X-Zhongjie-Event": delivery.event_type,
        "X-Zhongjie-Delivery": delivery.event_id,
        SIGNATURE_HEADER: sign(endpoint.secret, timestamp, body),
    }
    problem = url_problem(
        endpoint.url,
        allow_http=current_app.config["WEBHOOK_ALLOW_HTTP"],
        allow_private=current_app.config["WEBHOOK_ALLOW_PRIVATE"],
    )
    status_code, error = None, ""
    if problem or not endpoint.is_active:
        error = problem or "endpoint paused"
    else:
        try:
            status_code = sender.post(endpoint.url, body, headers, timeout=10)
        except (OSError, ValueError) as exc:
            error = str(exc)[:500] or type(exc).__name__
    delivery.last_status_code = status_code
    if status_code is not None and 200 <= status_code < 300:
        delivery.status = DeliveryStatus.SUCCEEDED
        delivery.delivered_at = now
        delivery.last_error = ""
        return 1
    delivery.last_error = error or f"HTTP {status_code}"
    if delivery.attempts > len(BACKOFF):
        delivery.status = DeliveryStatus.DEAD
    else:
        delivery.next_attempt_at = now + timedelta(seconds=BACKOFF[delivery.attempts - 1])
    return 0


def replay(delivery: WebhookDelivery, *, actor: User) -> None:
    """Send a delivery again (same event id, so a receiver can de-duplicate), now.

    Raises:
        PermissionDenied: the actor may not manage the endpoint.
    """
    if not can_manage(actor, delivery.endpoint.organisation):
        raise PermissionDenied(_l("You may not manage this organisation's endpoints."))
    delivery.status = DeliveryStatus.PENDING
    delivery.next_attempt_at = utcnow()
    record_event("webhook.delivery_replayed", delivery, actor=actor, payload={"event_id": delivery.event_id})


def send_test_event(endpoint: WebhookEndpoint, *, actor: User) -> None:
    """Queue a ``ping`` for one endpoint (whatever it subscribed to).

    Raises:
        PermissionDenied: the actor may not manage the endpoint.
    """
    if not can_manage(actor, endpoint.organisation):
        raise PermissionDenied(_l("You may not manage this organisation's endpoints."))
    event_id = "evt_" + uuid.uuid4().hex
    body = json.dumps({"id": event_id, "type": "ping", "created_at": utcnow().isoformat(),
                       "data": {"endpoint": endpoint.id}}, sort_keys=True)
    db.session.add(WebhookDelivery(endpoint_id=endpoint.id, event_id=event_id, event_type="ping", payload=body))


def endpoints_of(org: Organisation) -> list[WebhookEndpoint]:
    """The organisation's endpoints."""
    return list(db.session.execute(
        sa.select(WebhookEndpoint).where(WebhookEndpoint.organisation_id == org.id).order_by(WebhookEndpoint.id)
    ).scalars())


def get_endpoint(endpoint_id: int) -> WebhookEndpoint:
    """An endpoint by id.

    Raises:
        NotFound: no such endpoint.
    """
    endpoint = db.session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound(_l("This endpoint does not exist."))
    return endpoint


def get_delivery(delivery_id: int) -> WebhookDelivery:
    """A delivery by id.

    Raises:
        NotFound: no such delivery.
    """
    delivery = db.session.get(WebhookDelivery, delivery_id)
    if delivery is None:
        raise NotFound(_l("This delivery does not exist."))
    return delivery


def recent_deliveries(endpoint: WebhookEndpoint, limit: int = 50) -> list[WebhookDelivery]:
    """The endpoint's latest deliveries."""
    return list(db.session.execute(
        sa.select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
        .order_by(WebhookDelivery.id.desc()).limit(limit)
    ).scalars())
