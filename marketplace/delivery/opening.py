"""Work start: finding a contract's delivery and opening it once the contract is in force, and
walking the purchase request along contracted → in service → delivered → accepted."""

from __future__ import annotations

import logging
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from marketplace.audit.services import record_event
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.delivery._common import SYSTEM
from marketplace.delivery.models import Delivery, DeliveryStatus
from marketplace.extensions import db
from marketplace.procurement.models import RequestStatus
from marketplace.procurement.states import REQUEST_MACHINE

log = logging.getLogger(__name__)

# The purchase request's path through the service, in order (procurement/states.py).
REQUEST_PATH = (RequestStatus.CONTRACTED, RequestStatus.IN_SERVICE, RequestStatus.DELIVERED,
                RequestStatus.ACCEPTED)
OPEN_STATUSES = (DeliveryStatus.IN_PROGRESS, DeliveryStatus.SUBMITTED, DeliveryStatus.REVISION_REQUESTED)


def delivery_of(contract: Contract) -> Delivery | None:
    """The contract's delivery, if it was opened."""
    return db.session.execute(
        sa.select(Delivery).where(Delivery.contract_id == contract.id)
    ).scalar_one_or_none()


def open_delivery(contract: Contract, *, actor=SYSTEM, now: datetime | None = None) -> Delivery:
    """The contract's delivery, opened when the contract is in force (idempotent).

    Opening moves the purchase request from contracted to in service.

    Raises:
        DomainError: the contract is not in force (and has no delivery).
    """
    existing = delivery_of(contract)
    if existing is not None:
        return existing
    if contract.status is not ContractStatus.IN_FORCE or contract.due_date is None:
        raise DomainError(_l("The work starts once the contract is in force."))
    req = contract.request
    delivery = Delivery(
        contract_id=contract.id, approval_case_id=req.approval_case_id,
        buyer_org_id=contract.buyer_org_id, agency_org_id=contract.agency_org_id,
        status=DeliveryStatus.IN_PROGRESS, original_due_date=contract.due_date,
        due_date=contract.due_date, created_at=now or utcnow(),
    )
    try:
        with db.session.begin_nested():
            db.session.add(delivery)
            db.session.flush()
    except IntegrityError:
        # Opened at the same moment by the job or the other party's page view.
        found = delivery_of(contract)
        if found is None:
            raise
        return found
    record_event("delivery.opened", delivery, actor=actor, payload={
        "contract": contract.contract_no, "due_date": delivery.due_date.isoformat(),
    })
    _bring_request_to(req, RequestStatus.IN_SERVICE, actor=actor, contract=contract)
    return delivery


def contracts_to_open() -> list[int]:
    """Contracts in force without a delivery yet."""
    return list(db.session.execute(
        sa.select(Contract.id)
        .outerjoin(Delivery, Delivery.contract_id == Contract.id)
        .where(Contract.status == ContractStatus.IN_FORCE, Delivery.id.is_(None))
        .order_by(Contract.id)
    ).scalars())


def _bring_request_to(req, target: RequestStatus, *, actor, contract: Contract) -> None:
    """Walk the purchase request along contracted → in service → delivered → accepted."""
    if req.status is target:
        return
    if req.status in REQUEST_PATH and target in REQUEST_PATH:
        path = REQUEST_PATH[REQUEST_PATH.index(req.status) + 1: REQUEST_PATH.index(target) + 1]
        if not path:  # backwards: only delivered → in service exists (a revision)
            path = (target,)
    else:
        path = (target,)
    for step in path:
        if not REQUEST_MACHINE.can(req.status, step):
            log.info("purchase request %s stays %s (wanted %s)", req.id, req.status, step)
            return
        REQUEST_MACHINE.transition(req, step, actor=actor, payload={"contract": contract.contract_no})
