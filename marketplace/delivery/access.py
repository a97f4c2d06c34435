"""Who may see what, and who may act: the parties' staff, the approval officers of the case's
department, regulators and administrators; the contracts, versions and files each may open."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Role
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.errors import NotFound, PermissionDenied
from marketplace.core.text import is_db_id
from marketplace.delivery.models import Delivery, DeliveryFile, DeliverySubmission
from marketplace.extensions import db


def party_of(user, delivery_or_contract) -> str | None:
    """"buyer" or "agency" when ``user`` works for that party of the contract, else None."""
    org_id = getattr(user, "organisation_id", None)
    if not getattr(user, "is_authenticated", False) or org_id is None:
        return None
    if org_id == delivery_or_contract.buyer_org_id:
        return "buyer" if user.role is Role.ENTERPRISE_STAFF else None
    if org_id == delivery_or_contract.agency_org_id:
        return "agency" if user.role is Role.AGENCY_STAFF else None
    return None


def is_case_officer(user, contract: Contract) -> bool:
    """An approval officer of the department that owns the contract's approval case."""
    return bool(
        getattr(user, "is_authenticated", False) and user.role is Role.APPROVAL_OFFICER
        and user.organisation_id == contract.request.approval_case.department_id
    )


def can_view(user, contract: Contract) -> bool:
    """The parties, the approval officers of the case's department, regulators, administrators."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role in (Role.ADMIN, Role.REGULATOR):
        return True
    return party_of(user, contract) is not None or is_case_officer(user, contract)


def get_contract_for(user, contract_id) -> Contract:
    """A contract in force, completed or terminated whose delivery ``user`` may see.

    Raises:
        NotFound: no such contract, not yet in force, or not visible to ``user``.
    """
    if not is_db_id(contract_id):
        raise NotFound(_l("This page does not exist."))
    contract = db.session.get(Contract, contract_id)
    if (contract is None or contract.in_force_at is None
            or contract.status not in (ContractStatus.IN_FORCE, ContractStatus.COMPLETED, ContractStatus.TERMINATED)
            or not can_view(user, contract)):
        raise NotFound(_l("This page does not exist."))
    return contract


def visible_submissions(user, delivery: Delivery) -> list[DeliverySubmission]:
    """Every version for the parties and officials; only the accepted one for the case officer."""
    if user.role in (Role.ADMIN, Role.REGULATOR) or party_of(user, delivery) is not None:
        return list(delivery.submissions)
    if is_case_officer(user, delivery.contract):
        return [s for s in delivery.submissions if s.is_accepted]
    return []


def get_file_for(user, delivery: Delivery, file_id) -> DeliveryFile:
    """A result file ``user`` may download.

    Raises:
        NotFound: no such file in this delivery, or not visible to ``user``.
    """
    for submission in visible_submissions(user, delivery):
        for item in submission.files:
            if item.id == file_id:
                return item
    raise NotFound(_l("This page does not exist."))


def _check_party(delivery: Delivery, actor, party: str) -> None:
    if party_of(actor, delivery) != party:
        if party == "agency":
            raise PermissionDenied(_l("Only the agency's staff may do this."))
        raise PermissionDenied(_l("Only the enterprise's staff may do this."))
