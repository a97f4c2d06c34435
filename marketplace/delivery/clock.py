"""The agency's clock (服务时限): today in China, whether it runs, working days between two dates,
moving the due date, and the countdown the dashboards show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.contracts import services as contracts
from marketplace.contracts.models import ContractStatus
from marketplace.delivery.models import Delivery, DeliveryStatus
from marketplace.workdays.services import add_working_days, working_days_between


def china_today(now: datetime | None = None) -> date:
    """Today's date in China."""
    return contracts.china_today(now)


def revision_pauses_clock() -> bool:
    """Whether a revision request stops the agency's clock until the resubmission."""
    return bool(current_app.config.get("DELIVERY_REVISION_PAUSES_CLOCK", True))


def clock_running(delivery: Delivery) -> bool:
    """Whether the agency is working against the due date right now."""
    return delivery.status is DeliveryStatus.IN_PROGRESS or (
        delivery.status is DeliveryStatus.REVISION_REQUESTED and delivery.paused_since is None
    )


def _days_after(start: date, end: date) -> int:
    """Working days in (start, end]; 0 when end is not after start."""
    return working_days_between(start, end) if end > start else 0


def _move_due(delivery: Delivery, days: int) -> date:
    if days:
        delivery.due_date = add_working_days(delivery.due_date, days)
    return delivery.due_date


@dataclass(frozen=True)
class Countdown:
    """What the dashboards show: working days left, or overrun, or why the clock stands still."""

    due_date: date
    state: str  # "left", "overrun", "paused", "with_buyer", "accepted", "ended"
    days: int = 0

    @property
    def label(self):
        if self.state == "left":
            return _l("%(n)s working days left", n=self.days)
        if self.state == "overrun":
            return _l("Overdue by %(n)s working days", n=self.days)
        if self.state == "paused":
            return _l("Clock paused for the revision")
        if self.state == "with_buyer":
            return _l("With the enterprise for acceptance")
        if self.state == "ended":
            return _l("The contract was terminated")
        return _l("Accepted")


def countdown(delivery: Delivery, today: date | None = None) -> Countdown:
    """The countdown of ``delivery`` on ``today`` (China)."""
    today = today or china_today()
    if delivery.contract.status is ContractStatus.TERMINATED:
        return Countdown(delivery.due_date, "ended", delivery.overrun_days or 0)
    if delivery.status is DeliveryStatus.ACCEPTED:
        return Countdown(delivery.due_date, "accepted", delivery.overrun_days or 0)
    if delivery.status is DeliveryStatus.SUBMITTED:
        return Countdown(delivery.due_date, "with_buyer")
    if delivery.paused_since is not None:
        return Countdown(delivery.due_date, "paused")
    if today > delivery.due_date:
        return Countdown(delivery.due_date, "overrun", _days_after(delivery.due_date, today))
    return Countdown(delivery.due_date, "left", _days_after(today, delivery.due_date))
