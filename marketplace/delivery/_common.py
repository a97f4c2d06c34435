"""Helpers every delivery module shares: the system actor, the delivery page's link, the actor's
API token, and the row lock that serialises submissions, decisions and proposals on a delivery.
Imports none of its siblings."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.contracts.models import ContractStatus
from marketplace.core.errors import DomainError
from marketplace.delivery.models import Delivery, DeliveryStatus
from marketplace.extensions import db

SYSTEM = "system"


def _link(delivery_or_contract) -> str:
    contract_id = getattr(delivery_or_contract, "contract_id", None) or delivery_or_contract.id
    return f"/deliveries/{contract_id}"


def _token_id(actor) -> int | None:
    """The API token an actor acts through (``TokenActor``), or None for a person."""
    token = getattr(actor, "token", None)
    return getattr(token, "id", None)


def _lock(delivery: Delivery) -> None:
    """Take the delivery's row (serialises submissions, decisions and proposals) and reload it,
    so the checks that follow see what a concurrent request committed first.

    Raises:
        DomainError: the contract is no longer in force (terminated).
    """
    db.session.execute(sa.update(Delivery).where(Delivery.id == delivery.id)
                       .values(due_date=Delivery.due_date))
    db.session.refresh(delivery)
    if delivery.status is not DeliveryStatus.ACCEPTED and delivery.contract.status is not ContractStatus.IN_FORCE:
        raise DomainError(_l("The contract is no longer in force."))
