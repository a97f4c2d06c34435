"""Creating, listing and reading notifications; the e-mail outbox."""

from __future__ import annotations

import json
import logging
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale

from marketplace.accounts.models import Organisation, User
from marketplace.core.db import utcnow
from marketplace.core.errors import NotFound
from marketplace.extensions import db
from marketplace.notifications.kinds import message_for
from marketplace.notifications.mailer import get_mailer
from marketplace.notifications.models import EmailStatus, Notification, OutgoingEmail

log = logging.getLogger(__name__)
MAX_EMAIL_ATTEMPTS = 5


def notify(
    user: User,
    kind: str,
    *,
    params: dict | None = None,
    link: str = "",
    due_at: datetime | None = None,
    dedupe_key: str | None = None,
) -> Notification | None:
    """Tell ``user`` something; stored once per ``dedupe_key`` (jobs may run again).

    Returns the new notification, or None when the same one already exists.
    """
    key = (dedupe_key or f"{kind}:{utcnow().isoformat()}")[:200]
    exists = db.session.execute(
        sa.select(Notification.id).where(Notification.user_id == user.id, Notification.dedupe_key == key)
    ).first()
    if exists:
        return None
    note = Notification(
        user_id=user.id, kind=kind, params=json.dumps(params or {}, ensure_ascii=False, default=str),
        link=link[:300], due_at=due_at, dedupe_key=key,
    )
    db.session.add(note)
    db.session.flush()
    if current_app.config.get("MAIL_ENABLED") and user.email and user.is_enabled:
        with force_locale(user.locale or current_app.config["BABEL_DEFAULT_LOCALE"]):
            text = message_for(kind, params or {})
        db.session.add(
            OutgoingEmail(
                notification_id=note.id, to_address=user.email, subject=text[:200],
                body=text + (f"\n\n{current_app.config.get('PUBLIC_BASE_URL', '')}{link}" if link else ""),
            )
        )
    return note


def notify_organisation(org: Organisation, kind: str, **kwargs) -> list[Notification]:
    """Tell every enabled user of ``org``; ``dedupe_key`` is made per user."""
    created = []
    for user in org.users:
        if user.is_enabled:
            note = notify(user, kind, **kwargs)
            if note is not None:
                created.append(note)
    return created


def render(note: Notification) -> str:
    """The notification's text in the current language."""
    try:
        params = json.loads(note.params or "{}")
    except ValueError:
        params = {}
    return message_for(note.kind, params)


def unread_count(user: User) -> int:
    """How many notifications ``user`` has not read."""
    return db.session.execute(
        sa.select(sa.func.count(Notification.id)).where(
            Notification.user_id == user.id, Notification.read_at.is_(None)
        )
    ).scalar_one()


def list_for(user: User, page: int = 1, per_page: int = 30):
    """The user's notifications, unread first, newest first."""
    return db.paginate(
        sa.select(Notification)
        .where(Notification.user_id == user.id)
        .order_by(Notification.read_at.is_not(None), Notification.created_at.desc(), Notification.id.desc()),
        page=page, per_page=per_page, error_out=False,
    )


def mark_read(user: User, notification_id: int | None = None) -> int:
    """Mark one (or all) of the user's notifications read.

    Raises:
        NotFound: the notification is not the user's.
    """
    stmt = sa.update(Notification).where(Notification.user_id == user.id, Notification.read_at.is_(None))
    if notification_id is not None:
        owned = db.session.execute(
            sa.select(Notification.id).where(Notification.id == notification_id, Notification.user_id == user.id)
        ).first()
        if not owned:
            from flask_babel import lazy_gettext as _l

            raise NotFound(_l("This notification does not exist."))
        stmt = stmt.where(Notification.id == notification_id)
    return db.session.execute(stmt.values(read_at=utcnow()).execution_options(synchronize_session=False)).rowcount


def send_pending_email(now=None, batch: int = 50) -> int:
    """Send queued e-mails (job). A failure leaves the message queued, up to a limit."""
    mailer = get_mailer()
    if mailer is None:
        return 0
    rows = db.session.execute(
        sa.select(OutgoingEmail)
        .where(OutgoingEmail.status == EmailStatus.PENDING)
        .order_by(OutgoingEmail.id)
        .limit(batch)
    ).scalars().all()
    sent = 0
    for mail in rows:
        # Claim the row first so two job runners never send the same message twice.
        claimed = db.session.execute(
            sa.update(OutgoingEmail)
            .where(OutgoingEmail.id == mail.id, OutgoingEmail.attempts == mail.attempts,
                   OutgoingEmail.status == EmailStatus.PENDING)
            .values(attempts=OutgoingEmail.attempts + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
        db.session.commit()
        if not claimed:
            continue
        db.session.refresh(mail)
        try:
            mailer.send(mail.to_address, mail.subject, mail.body)
        except Exception as exc:  # noqa: BLE001 - any transport error keeps the message queued
            log.warning("e-mail %s failed: %s", mail.id, exc)
            mail.last_error = str(exc)[:500]
            if mail.attempts >= MAX_EMAIL_ATTEMPTS:
                mail.status = EmailStatus.FAILED
        else:
            mail.status = EmailStatus.SENT
            mail.sent_at = utcnow()
            sent += 1
        db.session.commit()
    return sent
