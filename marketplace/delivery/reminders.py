"""Reminders: the job reminds the agency 3 working days and 1 working day before the due date, once
per due date, for every delivery whose clock may be running."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.db import utcnow
from marketplace.delivery._common import _link
from marketplace.delivery.clock import _days_after, china_today, clock_running
from marketplace.delivery.models import Delivery, DeliveryStatus
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation

REMINDER_DAYS = (3, 1)

register_kind("delivery.reminder", _l("The result for contract %(no)s is due on %(due)s: %(days)s working days left."))
register_kind("delivery.reminder_last", _l("The result for contract %(no)s is due on %(due)s, the next working day."))


def running_delivery_ids() -> list[int]:
    """Deliveries whose agency is (or may be) working against the due date."""
    return list(db.session.execute(
        sa.select(Delivery.id).join(Contract, Contract.id == Delivery.contract_id)
        .where(Delivery.status.in_([DeliveryStatus.IN_PROGRESS, DeliveryStatus.REVISION_REQUESTED]),
               Contract.status == ContractStatus.IN_FORCE)
        .order_by(Delivery.id)
    ).scalars())


def send_reminders(delivery: Delivery, *, now: datetime | None = None) -> int:
    """Remind the agency 3 working days and 1 working day before the due date.

    Each reminder is sent once per due date (a moved due date gets its own); a job that runs late
    sends only the most urgent one due. Returns how many organisations' reminders were created.
    """
    now = now or utcnow()
    today = china_today(now)
    if not clock_running(delivery) or today >= delivery.due_date:
        return 0
    left = _days_after(today, delivery.due_date)
    threshold = next((d for d in sorted(REMINDER_DAYS) if left <= d), None)
    if threshold is None:
        return 0
    contract = delivery.contract
    kind = "delivery.reminder_last" if threshold == 1 else "delivery.reminder"
    created = notify_organisation(
        contract.agency, kind,
        params={"no": contract.contract_no, "due": delivery.due_date.isoformat(), "days": left},
        link=_link(delivery),
        dedupe_key=f"delivery-reminder:{delivery.id}:{delivery.due_date.isoformat()}:{threshold}",
    )
    return 1 if created else 0
