"""The contracts' time-driven job: a winner who does not sign by the deadline has refused."""

from __future__ import annotations

import logging

from marketplace.contracts import services
from marketplace.contracts.models import Contract
from marketplace.core.errors import DomainError
from marketplace.extensions import db
from marketplace.jobs.registry import job

log = logging.getLogger(__name__)


@job("contracts.deadlines", order=50,
     description="refuse contracts the winner did not sign in time; pass the award on")
def run_contract_deadlines(now) -> int:
    """Record every overdue unsigned contract as refused and pass its award on.

    Idempotent: a refused contract is never looked at again. Each contract is committed on its
    own. Returns how many contracts were refused.
    """
    changed = 0
    for contract_id in services.overdue_contract_ids(now):
        contract = db.session.get(Contract, contract_id, populate_existing=True)
        if contract is None:
            continue
        try:
            if services.refuse_unsigned(contract, now=now):
                changed += 1
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            log.info("contracts job skipped contract %s: %s", contract_id, exc)
    return changed
