"""Lists for pages: the dashboard's deliveries panel with each contract's countdown, and the accepted
results attached to an approval case."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.contracts.models import Contract, ContractStatus
from marketplace.delivery.access import can_view
from marketplace.delivery.clock import Countdown, _days_after, china_today, countdown
from marketplace.delivery.models import Delivery, DeliveryStatus, DeliverySubmission
from marketplace.extensions import db


@dataclass(frozen=True)
class PanelRow:
    """One line of the dashboard's deliveries panel."""

    contract: Contract
    delivery: Delivery | None
    countdown: Countdown

    @property
    def status_label(self):
        return self.delivery.status.label if self.delivery else DeliveryStatus.IN_PROGRESS.label


def panel_rows(org_id: int, today: date | None = None) -> list[PanelRow]:
    """The organisation's contracts in force with their countdown, soonest due first."""
    today = today or china_today()
    rows = db.session.execute(
        sa.select(Contract, Delivery)
        .outerjoin(Delivery, Delivery.contract_id == Contract.id)
        .where(Contract.status == ContractStatus.IN_FORCE,
               sa.or_(Contract.buyer_org_id == org_id, Contract.agency_org_id == org_id))
        .order_by(sa.func.coalesce(Delivery.due_date, Contract.due_date), Contract.id)
        .limit(50)
    ).all()
    out = []
    for contract, delivery in rows:
        if delivery is None:
            due = contract.due_date
            cd = (Countdown(due, "overrun", _days_after(due, today)) if today > due
                  else Countdown(due, "left", _days_after(today, due)))
        else:
            cd = countdown(delivery, today)
        out.append(PanelRow(contract, delivery, cd))
    return out


def accepted_results_for_case(user, case) -> list[tuple[Delivery, DeliverySubmission]]:
    """The accepted results attached to an approval case, for a user allowed on the case page."""
    deliveries = db.session.execute(
        sa.select(Delivery).where(Delivery.approval_case_id == case.id,
                                  Delivery.status == DeliveryStatus.ACCEPTED)
        .options(selectinload(Delivery.submissions).selectinload(DeliverySubmission.files))
        .order_by(Delivery.accepted_at)
    ).scalars().all()
    out = []
    for delivery in deliveries:
        if not can_view(user, delivery.contract):
            continue
        accepted = next((s for s in delivery.submissions if s.is_accepted), None)
        if accepted is not None:
            out.append((delivery, accepted))
    return out
