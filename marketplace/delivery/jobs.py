"""The delivery job: open the work of new contracts, mark overdue deliveries, remind the agency."""

from __future__ import annotations

import logging

from marketplace.contracts.models import Contract
from marketplace.core.errors import DomainError
from marketplace.delivery import services
from marketplace.delivery.models import Delivery
from marketplace.extensions import db
from marketplace.jobs.registry import job

log = logging.getLogger(__name__)


@job("delivery.deadlines", order=60,
     description="open the work of contracts in force; mark overdue deliveries; remind agencies")
def run_delivery_deadlines(now) -> int:
    """Open deliveries for contracts in force, mark overdue ones, send the due reminders.

    Idempotent and catching up: a delivery is marked overdue once (from the day after its due
    date, however late the job runs), a reminder is sent once per due date. Each delivery is
    committed on its own. Returns how many deliveries were opened, marked or reminded.
    """
    changed = 0
    for contract_id in services.contracts_to_open():
        contract = db.session.get(Contract, contract_id, populate_existing=True)
        try:
            if contract is not None:
                services.open_delivery(contract, now=now)
                changed += 1
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            log.info("delivery job skipped contract %s: %s", contract_id, exc)
    for delivery_id in services.running_delivery_ids():
        delivery = db.session.get(Delivery, delivery_id, populate_existing=True)
        if delivery is None:
            continue
        try:
            marked = services.mark_overdue(delivery, now=now)
            reminded = services.send_reminders(delivery, now=now)
            changed += int(marked or bool(reminded))
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            log.info("delivery job skipped delivery %s: %s", delivery_id, exc)
    return changed
