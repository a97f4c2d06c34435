"""Approval cases (审批事项办理): opened by the applicant enterprise or its approving department for
one catalogue approval item and the intermediary services it needs; decided by the department.
Who may see a case, and the choices the case form offers.
"""

from __future__ import annotations

import re
import secrets

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.models import Organisation, OrgKind, Role, User
from marketplace.audit.services import record_event
from marketplace.catalog.models import ApprovalItem, ServiceItem
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotFound, PermissionDenied
from marketplace.core.regions import is_valid_region
from marketplace.core.text import clean_text
from marketplace.extensions import db
from marketplace.procurement._common import _norm_code, china_date, get_by_id
from marketplace.procurement.events import _case_event
from marketplace.procurement.models import (
    CASE_NUMBER_MAX,
    PROJECT_NAME_MAX,
    REASON_MAX,
    ApprovalCase,
    CaseStatus,
)
from marketplace.procurement.states import CASE_MACHINE

PROJECT_CODE = re.compile(r"^(\d{4})-(\d{6})-(\d{2})-(\d{2})-(\d{6})$")


def check_project_code(value) -> str | None:
    """An investment project code (投资项目代码), ``YYYY-RRRRRR-II-TT-NNNNNN``; None when empty.

    Raises:
        DomainError: not in that shape, an implausible year or an unknown province.
    """
    text = _norm_code(value).replace("—", "-").replace("–", "-")
    if not text:
        return None
    match = PROJECT_CODE.match(text)
    if not match:
        raise DomainError(
            _l("An investment project code looks like 2026-530102-48-01-012345 "
               "(year, region code, industry, type, serial number)."),
            field="project_code",
        )
    year, region = int(match.group(1)), match.group(2)
    if not 2000 <= year <= 2100:
        raise DomainError(_l("The year of the project code is not plausible."), field="project_code")
    if not is_valid_region(region):
        raise DomainError(_l("The region part of the project code is not a Chinese region code."),
                          field="project_code")
    return text


def _unique_case_number() -> str:
    while True:
        number = f"SP{china_date(utcnow()):%Y%m%d}{secrets.token_hex(3).upper()}"
        if not db.session.execute(
            sa.select(ApprovalCase.id).where(ApprovalCase.case_number == number)
        ).first():
            return number


def create_approval_case(
    *,
    actor: User,
    approval_item_id: int,
    project_name: str,
    service_item_ids: list[int],
    case_number: str = "",
    project_code: str = "",
    department_id: int | None = None,
    applicant_uscc: str | None = None,
) -> ApprovalCase:
    """Open an approval case: by the applicant enterprise, or by an officer of its department.

    Raises:
        PermissionDenied: the actor is neither enterprise staff nor an approval officer.
        DomainError: an unknown department or applicant, an inactive approval item, a service
            item the catalogue does not tie to the approval item (清单之外无中介), a malformed
            project code or a taken case number (``field`` says which).
    """
    if actor.role is Role.ENTERPRISE_STAFF:
        applicant = actor.organisation
        department = db.session.get(Organisation, department_id) if department_id else None
        if department is None or department.kind is not OrgKind.GOVERNMENT:
            raise DomainError(_l("Choose the approving department."), field="department_id")
    elif actor.role is Role.APPROVAL_OFFICER:
        department = actor.organisation
        uscc = _norm_code(applicant_uscc)
        applicant = db.session.execute(
            sa.select(Organisation).where(Organisation.uscc == uscc)
        ).scalar_one_or_none() if uscc else None
        if applicant is None or applicant.kind is not OrgKind.ENTERPRISE:
            raise DomainError(
                _l("No registered enterprise has this unified social credit code."),
                field="applicant_uscc",
            )
    else:
        raise PermissionDenied(_l("Only the applicant enterprise or its approving department can open a case."))
    item = db.session.get(ApprovalItem, approval_item_id) if approval_item_id else None
    if item is None or not item.is_active:
        raise DomainError(_l("Choose an approval item from the catalogue."), field="approval_item_id")
    allowed = {s.id: s for s in item.service_items if s.is_active}
    chosen_ids = list(dict.fromkeys(int(i) for i in service_item_ids or []))
    if not chosen_ids:
        raise DomainError(_l("Choose at least one intermediary service the case needs."),
                          field="service_item_ids")
    for sid in chosen_ids:
        if sid not in allowed:
            other = db.session.get(ServiceItem, sid)
            raise DomainError(
                _l("“%(service)s” is not tied to the approval item “%(item)s” in the catalogue: "
                   "nothing outside the list may be required.",
                   service=other.name if other else sid, item=item.name),
                field="service_item_ids",
            )
    number = clean_text(case_number, max_len=CASE_NUMBER_MAX, field="case_number", required=False)
    number = _norm_code(number) if number else _unique_case_number()
    if db.session.execute(sa.select(ApprovalCase.id).where(ApprovalCase.case_number == number)).first():
        raise DomainError(_l("Another case already has this number."), field="case_number")
    case = ApprovalCase(
        case_number=number,
        approval_item_id=item.id,
        applicant_id=applicant.id,
        department_id=department.id,
        project_code=check_project_code(project_code),
        project_name=clean_text(project_name, max_len=PROJECT_NAME_MAX, field="project_name"),
        created_by_id=actor.id,
    )
    case.service_items = [allowed[sid] for sid in chosen_ids]
    try:
        with db.session.begin_nested():
            db.session.add(case)
            db.session.flush()
    except IntegrityError as exc:
        raise DomainError(_l("Another case already has this number."), field="case_number") from exc
    record_event(
        "approval_case.created", case, actor=actor,
        payload={"case_number": case.case_number, "approval_item": item.code,
                 "applicant": applicant.id, "department": department.id,
                 "project_code": case.project_code, "service_items": [allowed[s].code for s in chosen_ids]},
    )
    _case_event(case, "case.created")
    return case


def can_view_case(user, case: ApprovalCase) -> bool:
    """The applicant's staff, the department's officers, regulators and administrators."""
    if not getattr(user, "is_authenticated", False):
        return False
    if user.role in (Role.ADMIN, Role.REGULATOR):
        return True
    if user.role is Role.ENTERPRISE_STAFF:
        return user.organisation_id == case.applicant_id
    if user.role is Role.APPROVAL_OFFICER:
        return user.organisation_id == case.department_id
    return False


def get_case_for(user, case_id) -> ApprovalCase:
    """A case the user may see.

    Raises:
        NotFound: no such case, or not visible to ``user``.
    """
    case = get_by_id(ApprovalCase, case_id)
    if not can_view_case(user, case):
        raise NotFound(_l("This page does not exist."))
    return case


def cases_for(user, *, page: int = 1, per_page: int = 30):
    """The cases ``user`` may see, newest first: own (enterprise), the department's (officer)."""
    stmt = cases_query(user).options(
        joinedload(ApprovalCase.approval_item), joinedload(ApprovalCase.applicant),
        joinedload(ApprovalCase.department),
    ).order_by(ApprovalCase.id.desc())
    return db.paginate(stmt, page=page, per_page=per_page, error_out=False)


def cases_query(user) -> sa.Select:
    """The cases ``user`` may see: the applicant's own (enterprise staff or token), the department's
    (approval officers or its token), all for administrators and regulators; unordered."""
    stmt = sa.select(ApprovalCase)
    role = getattr(user, "role", None) if getattr(user, "is_authenticated", False) else None
    if role is Role.ENTERPRISE_STAFF:
        return stmt.where(ApprovalCase.applicant_id == user.organisation_id)
    if role is Role.APPROVAL_OFFICER:
        return stmt.where(ApprovalCase.department_id == user.organisation_id)
    if role in (Role.ADMIN, Role.REGULATOR):
        return stmt
    return stmt.where(sa.false())


def set_case_status(case: ApprovalCase, status: CaseStatus, *, actor: User, reason: str = "") -> ApprovalCase:
    """The department decides a case (approved / not approved); the applicant may withdraw it.

    Raises:
        PermissionDenied: the actor is not an officer of the department (or, to withdraw, the
            applicant's staff).
        InvalidTransition / ConcurrentUpdate: the case is no longer in progress.
    """
    status = CaseStatus(status)
    officer = actor.role is Role.APPROVAL_OFFICER and actor.organisation_id == case.department_id
    applicant = actor.role is Role.ENTERPRISE_STAFF and actor.organisation_id == case.applicant_id
    if not (officer or (applicant and status is CaseStatus.WITHDRAWN)):
        raise PermissionDenied(_l("Only the approving department can decide this case."))
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", required=False, multiline=True)
    CASE_MACHINE.transition(case, status, actor=actor, reason=reason or None)
    _case_event(case, "case.updated", reason=reason)
    return case


def department_choices() -> list[Organisation]:
    """Government departments an enterprise may name as the approving department."""
    return list(db.session.execute(
        sa.select(Organisation).where(Organisation.kind == OrgKind.GOVERNMENT).order_by(Organisation.name)
    ).scalars())


def approval_item_choices() -> list[ApprovalItem]:
    """Active approval items with the service items they need."""
    return list(db.session.execute(
        sa.select(ApprovalItem).options(selectinload(ApprovalItem.service_items))
        .where(ApprovalItem.is_active.is_(True)).order_by(ApprovalItem.code)
    ).scalars())
