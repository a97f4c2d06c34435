"""Overdue deliveries: the job marks a delivery overdue from the day after its due date (and tells
both parties), and the regulators' paginated list of every delivery held past its due date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import selectinload

from marketplace.audit.services import record_event
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.db import utcnow
from marketplace.delivery._common import SYSTEM, _link
from marketplace.delivery.clock import china_today, clock_running
from marketplace.delivery.models import Delivery, DeliveryStatus, DeliverySubmission
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.procurement.models import PurchaseRequest
from marketplace.workdays.services import working_days_spans

register_kind("delivery.overdue", _l("The result for contract %(no)s was due on %(due)s and is overdue."))


def mark_overdue(delivery: Delivery, *, now: datetime | None = None) -> bool:
    """From the day after the due date, a delivery still with the agency is overdue (once).

    Returns whether it marked it now.
    """
    now = now or utcnow()
    today = china_today(now)
    if not clock_running(delivery) or today <= delivery.due_date or delivery.overdue_since is not None:
        return False
    delivery.overdue_since = delivery.due_date + timedelta(days=1)
    db.session.flush()
    record_event("delivery.overdue", delivery, actor=SYSTEM, payload={
        "due_date": delivery.due_date.isoformat(), "overdue_since": delivery.overdue_since.isoformat(),
    })
    contract = delivery.contract
    for org in (contract.agency, contract.buyer):
        notify_organisation(org, "delivery.overdue",
                            params={"no": contract.contract_no, "due": delivery.due_date.isoformat()},
                            link=_link(delivery),
                            dedupe_key=f"delivery-overdue:{delivery.id}:{delivery.due_date.isoformat()}")
    return True


def clock_stopped_on(delivery: Delivery | None, today: date) -> date:
    """The last day the agency's clock ran: today while it runs (or the work was not opened yet),
    the latest version's day while the result is with the enterprise, the revision request's
    day while the revision pauses the clock."""
    if delivery is None:
        return today
    if delivery.status is DeliveryStatus.SUBMITTED and delivery.latest is not None:
        return delivery.latest.submitted_on
    if delivery.paused_since is not None:
        return delivery.paused_since
    return today


def _clock_stopped_on_sql(today: date):
    """``clock_stopped_on`` in SQL, over ``Delivery`` outer-joined to its contract."""
    latest_on = (sa.select(sa.func.max(DeliverySubmission.submitted_on))
                 .where(DeliverySubmission.delivery_id == Delivery.id).scalar_subquery())
    return sa.case(
        (Delivery.status == DeliveryStatus.SUBMITTED, latest_on),
        (Delivery.paused_since.is_not(None), Delivery.paused_since),
        else_=sa.literal(today, sa.Date),
    )


@dataclass(frozen=True)
class OverdueRow:
    """One overdue delivery: its contract, the due date and the working days past it."""

    contract: Contract
    delivery: Delivery | None
    due_date: date
    overrun_days: int

    @property
    def status_label(self):
        if self.delivery is not None and self.delivery.status is DeliveryStatus.SUBMITTED:
            return _l("Submitted late, with the enterprise for acceptance")
        return self.delivery.status.label if self.delivery else DeliveryStatus.IN_PROGRESS.label


@dataclass(frozen=True)
class OverduePage:
    """A page of ``OverdueRow`` and the pagination it came from."""

    rows: list[OverdueRow]
    pagination: object
    today: date


def overdue_deliveries(today: date | None = None, *, page: int = 1, per_page: int = 50) -> OverduePage:
    """Every delivery overdue on ``today`` (China), longest overdue first, for regulators.

    Overdue: the contract is in force, the result is not accepted, and the agency held the work
    past its due date on the working-day calendar. Time the result spends with the enterprise,
    or a revision that pauses the clock, does not count against the agency (``clock_stopped_on``),
    so a result handed over on time is not listed while the enterprise reviews it.
    """
    today = today or china_today()
    due = sa.func.coalesce(Delivery.due_date, Contract.due_date)
    stmt = (
        sa.select(Contract)
        .outerjoin(Delivery, Delivery.contract_id == Contract.id)
        .where(Contract.status == ContractStatus.IN_FORCE, Contract.due_date.is_not(None),
               sa.or_(Delivery.id.is_(None), Delivery.status != DeliveryStatus.ACCEPTED),
               _clock_stopped_on_sql(today) > due)
        .options(selectinload(Contract.agency), selectinload(Contract.buyer),
                 selectinload(Contract.request).selectinload(PurchaseRequest.approval_case))
        .order_by(due, Contract.id)
    )
    pagination = db.paginate(stmt, page=page, per_page=per_page, error_out=False)
    contracts_on_page = list(pagination.items)
    deliveries = {d.contract_id: d for d in db.session.execute(
        sa.select(Delivery).where(Delivery.contract_id.in_([c.id for c in contracts_on_page]))
        .options(selectinload(Delivery.submissions))
    ).scalars()} if contracts_on_page else {}
    spans = []
    for contract in contracts_on_page:
        delivery = deliveries.get(contract.id)
        due_date = delivery.due_date if delivery else contract.due_date
        spans.append((contract, delivery, due_date, clock_stopped_on(delivery, today)))
    days = working_days_spans((d, stop) for _, _, d, stop in spans)
    rows = [OverdueRow(c, d, due_date, n) for (c, d, due_date, _), n in zip(spans, days, strict=True)]
    return OverduePage(rows, pagination, today)
