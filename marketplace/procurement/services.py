"""Procurement rules: approval cases, purchase requests, sealed bids, selection and award.

Services flush and never commit; the caller (a view, the job, the CLI) commits once. Every
status change goes through the state machines in ``states.py``, which guard against races with a
conditional UPDATE and write the audit event.

Sealing: before the deadline no query outside the owner's own pages reads a bid, and the audit
trail of a bid holds only a SHA-256 commitment over its terms and a random nonce; the terms and
the nonce are revealed in the audit trail when bidding closes, so anyone can check the commitment.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload, selectinload

from marketplace.accounts.models import Organisation, OrgKind, Role, User
from marketplace.agencies.eligibility import (
    agency_is_conflicted,
    agency_is_sanctioned,
    agency_qualifies_for,
    listing_visible_sql,
    valid_qualification_sql,
)
from marketplace.agencies.models import FeeKind, Listing
from marketplace.agencies.services import commitment_at
from marketplace.audit.services import canonical_json, record_event
from marketplace.catalog.models import ApprovalItem, QualificationType, ServiceItem
from marketplace.core.db import utcnow
from marketplace.core.errors import (
    ConcurrentUpdate,
    DomainError,
    InvalidTransition,
    NotFound,
    PermissionDenied,
)
from marketplace.core.money import MAX_FEN, format_fen
from marketplace.core.regions import is_valid_region
from marketplace.core.text import clean_text
from marketplace.extensions import db
from marketplace.procurement.models import (
    CASE_NUMBER_MAX,
    CONTENT_MAX,
    MAX_BID_DAYS,
    PERSON_MAX,
    PROJECT_NAME_MAX,
    REASON_MAX,
    SCALE_MAX,
    TITLE_MAX,
    AbnormalDecision,
    ApprovalCase,
    Bid,
    BidStatus,
    CaseStatus,
    Exclusion,
    PurchaseRequest,
    RequestStatus,
    SelectionMethod,
)
from marketplace.procurement.selection import Candidate, SelectionContext, strategy_for
from marketplace.procurement.signals import award_finalised, award_passed, has_open_objection
from marketplace.procurement.states import BID_MACHINE, CASE_MACHINE, REQUEST_MACHINE
from marketplace.sanctions.signals import blacklist_in_force
from marketplace.workdays.services import add_working_days

SYSTEM = "system"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_ID = 2**31 - 1
MAX_BIDDING_CALENDAR_DAYS = 365
DEFAULT_DEADLINE_TIME = time(17, 0)

PROJECT_CODE = re.compile(r"^(\d{4})-(\d{6})-(\d{2})-(\d{2})-(\d{6})$")
PHONE = re.compile(r"^[0-9+()\-\s]{5,40}$")
# Words that would restrict who may bid by place or origin: no local-registration requirement
# and no regional monopoly (the seeds forbid both). Required qualifications come from the
# catalogue list only, so these are the ways left to sneak a restriction into the text.
EXCLUSIONARY = re.compile(
    r"本地注册|本市注册|本省注册|本区注册|本县注册|在本地注册|本地企业|本地机构|本地中介|本地分支|"
    r"注册地(?:须|必须|应|需|要求)|须在本|必须在本|限本地|限于本地|本地设立|本地办公|"
    r"local(?:ly)?[\s-]+regist|registered\s+locally|local\s+(?:company|companies|agenc)",
    re.IGNORECASE,
)


# --- small helpers ----------------------------------------------------------------------------


def china_date(moment: datetime) -> date:
    """The calendar day of ``moment`` in China: working days are counted on these."""
    return moment.astimezone(SHANGHAI).date()


def china_end_of_day(day: date) -> datetime:
    """23:59:59 on ``day`` in China, as aware UTC."""
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI).astimezone(UTC)


def china_local_to_utc(naive: datetime) -> datetime:
    """A wall-clock time typed in China (no zone) as aware UTC."""
    return naive.replace(tzinfo=SHANGHAI).astimezone(UTC)


def record_text(message) -> str:
    """A (lazy) message as stored on the public record: in the platform's default language."""
    with force_locale(current_app.config["BABEL_DEFAULT_LOCALE"]):
        return str(message)


def _config(key: str) -> int:
    return int(current_app.config[key])


def _is_official(actor) -> bool:
    return isinstance(actor, User) and actor.role in (Role.ADMIN, Role.REGULATOR)


def _norm_person(name: str) -> str:
    return "".join(unicodedata.normalize("NFKC", name or "").split()).casefold()


def _norm_code(value) -> str:
    return "".join(unicodedata.normalize("NFKC", str(value or "")).split()).upper()


def _clean_phone(value, field: str) -> str:
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        raise DomainError(_l("This field is required."), field=field)
    if not PHONE.match(text):
        raise DomainError(_l("Enter a telephone number, e.g. 0871-12345678."), field=field)
    return text


def _lock_request(req: PurchaseRequest, *conditions, message) -> None:
    """Take the request's row lock and check ``conditions`` still hold, changing nothing visible.

    Whoever changes the request's status takes the same lock, so a bid that passes this check is
    committed before bidding closes or not at all; on SQLite the write lock does the same.

    Raises:
        DomainError: the conditions no longer hold (``message``).
    """
    db.session.flush()
    result = db.session.execute(
        sa.update(PurchaseRequest)
        .where(PurchaseRequest.id == req.id, *conditions)
        .values(updated_at=PurchaseRequest.updated_at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise DomainError(message)


def get_by_id(model, obj_id) -> object:
    """A row by id, or NotFound (ids out of the integer range are not found, never an error)."""
    try:
        obj_id = int(obj_id)
    except (TypeError, ValueError):
        obj_id = 0
    obj = db.session.get(model, obj_id) if 0 < obj_id <= MAX_ID else None
    if obj is None:
        raise NotFound(_l("This page does not exist."))
    return obj


# --- approval cases -------------------------------------------------------------------------


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


# --- purchase requests: drafting ------------------------------------------------------------


@dataclass
class RequestInput:
    """What the enterprise enters for a purchase request (money in fen, deadline aware UTC)."""

    title: str
    content: str
    selection_method: SelectionMethod
    bidding_deadline: datetime | None
    contact_name: str
    contact_phone: str
    complaint_phone: str
    scale: str = ""
    is_budgeted: bool = True
    budget_ceiling_fen: int | None = None
    quote_min_fen: int | None = None
    quote_max_fen: int | None = None
    qualification_type_ids: tuple[int, ...] = ()
    direct_agency_id: int | None = None
    direct_reason: str = ""
    weight_price: int | None = None
    weight_time: int | None = None
    weight_credit: int | None = None


def _check_fen(value, field: str, *, positive: bool = False) -> int:
    if value is None:
        raise DomainError(_l("Enter an amount in yuan."), field=field)
    if not isinstance(value, int) or value < 0 or value > MAX_FEN or (positive and value == 0):
        raise DomainError(_l("Enter an amount above zero and at most 100,000,000,000 yuan."), field=field)
    return value


def _check_inclusive(*texts: tuple[str, str]) -> None:
    for field, text in texts:
        match = EXCLUSIONARY.search(text or "")
        if match:
            raise DomainError(
                _l("“%(words)s”: an announcement may not restrict agencies by where they are "
                   "registered or based. Require only qualifications from the catalogue.",
                   words=match.group(0)),
                field=field,
            )


def _checked_values(item: ServiceItem, data: RequestInput) -> tuple[dict, list[QualificationType]]:
    """Normalise and check the entered request; returns column values and required types.

    Raises:
        DomainError: a field breaks a rule (``field`` says which).
    """
    values = {
        "title": clean_text(data.title, max_len=TITLE_MAX, field="title"),
        "content": clean_text(data.content, max_len=CONTENT_MAX, field="content", multiline=True),
        "scale": clean_text(data.scale, max_len=SCALE_MAX, field="scale", required=False),
        "contact_name": clean_text(data.contact_name, max_len=PERSON_MAX, field="contact_name"),
        "contact_phone": _clean_phone(data.contact_phone, "contact_phone"),
        "complaint_phone": _clean_phone(data.complaint_phone, "complaint_phone"),
    }
    _check_inclusive(("title", values["title"]), ("content", values["content"]), ("scale", values["scale"]))
    values["is_budgeted"] = bool(data.is_budgeted)
    if values["is_budgeted"]:
        values["budget_ceiling_fen"] = _check_fen(data.budget_ceiling_fen, "budget_ceiling", positive=True)
        values["quote_min_fen"] = values["quote_max_fen"] = None
    else:
        values["budget_ceiling_fen"] = None
        values["quote_min_fen"] = _check_fen(data.quote_min_fen, "quote_min")
        values["quote_max_fen"] = _check_fen(data.quote_max_fen, "quote_max", positive=True)
        if values["quote_min_fen"] > values["quote_max_fen"]:
            raise DomainError(_l("The lowest quote must not be higher than the highest."), field="quote_max")
    try:
        method = SelectionMethod(data.selection_method)
    except ValueError as exc:
        raise DomainError(_l("Choose a selection method."), field="selection_method") from exc
    values["selection_method"] = method
    values["direct_agency_id"], values["direct_reason"] = None, ""
    values["weight_price"] = values["weight_time"] = values["weight_credit"] = None
    if method is SelectionMethod.DIRECT:
        agency = db.session.get(Organisation, data.direct_agency_id) if data.direct_agency_id else None
        if agency is None or agency.kind is not OrgKind.AGENCY:
            raise DomainError(_l("Choose the agency you select."), field="direct_agency_id")
        values["direct_agency_id"] = agency.id
        values["direct_reason"] = clean_text(
            data.direct_reason, max_len=REASON_MAX, field="direct_reason", multiline=True
        )
        _check_inclusive(("direct_reason", values["direct_reason"]))
    elif method is SelectionMethod.SCORING:
        weights = (data.weight_price, data.weight_time, data.weight_credit)
        if any(not isinstance(w, int) or not 0 <= w <= 100 for w in weights):
            raise DomainError(_l("Each weight is a whole percentage from 0 to 100."), field="weight_price")
        if sum(weights) != 100:
            raise DomainError(_l("The three weights must add up to 100."), field="weight_price")
        values["weight_price"], values["weight_time"], values["weight_credit"] = weights
    deadline = data.bidding_deadline
    if deadline is None or deadline.tzinfo is None:
        raise DomainError(_l("Enter the bidding deadline."), field="bidding_deadline")
    values["bidding_deadline"] = deadline.astimezone(UTC).replace(second=0, microsecond=0)
    allowed = {q.id: q for q in item.qualification_types}
    quals = []
    for qid in dict.fromkeys(data.qualification_type_ids or ()):
        if qid not in allowed:
            raise DomainError(
                _l("Only the qualifications the catalogue lists for this service may be required."),
                field="qualification_type_ids",
            )
        quals.append(allowed[qid])
    return values, quals


def _check_case_and_item(case: ApprovalCase, item: ServiceItem) -> None:
    if case.status is not CaseStatus.OPEN:
        raise DomainError(_l("This approval case is no longer in progress."))
    if item not in case.service_items:
        raise DomainError(_l("This service is not among the services the approval case needs."))
    if not item.is_active or case.approval_item not in item.approval_items:
        raise DomainError(
            _l("The catalogue no longer ties this service to the case's approval item "
               "(nothing outside the list).")
        )


def _check_owner(req_or_case_org_id: int, actor) -> None:
    # Duck-typed: a signed-in user or an API token acting for its organisation (never SYSTEM).
    if not (getattr(actor, "role", None) is Role.ENTERPRISE_STAFF
            and actor.organisation_id == req_or_case_org_id):
        raise PermissionDenied(_l("Only the enterprise that owns this request can do this."))


def _region_for(case: ApprovalCase) -> str:
    if case.project_code:
        return case.project_code.split("-")[1]
    return case.applicant.region_code


def _live_request_exists(case_id: int, item_id: int, exclude_id: int | None = None) -> bool:
    stmt = sa.select(PurchaseRequest.id).where(
        PurchaseRequest.approval_case_id == case_id,
        PurchaseRequest.service_item_id == item_id,
        PurchaseRequest.status.not_in([RequestStatus.FAILED, RequestStatus.CANCELLED]),
    )
    if exclude_id:
        stmt = stmt.where(PurchaseRequest.id != exclude_id)
    return db.session.execute(stmt).first() is not None


def _insert_request(req: PurchaseRequest) -> None:
    try:
        with db.session.begin_nested():
            db.session.add(req)
            db.session.flush()
    except IntegrityError as exc:
        raise DomainError(
            _l("This case already has a purchase request for this service; one service may not be split.")
        ) from exc


def _request_payload(req: PurchaseRequest) -> dict:
    return {
        "case": req.approval_case_id, "service_item": req.service_item_id, "title": req.title,
        "method": str(req.selection_method), "is_budgeted": req.is_budgeted,
        "budget_ceiling_fen": req.budget_ceiling_fen, "quote_min_fen": req.quote_min_fen,
        "quote_max_fen": req.quote_max_fen, "deadline": req.bidding_deadline.isoformat(),
        "qualifications": [q.code for q in req.required_qualifications],
        "direct_agency": req.direct_agency_id, "direct_reason": req.direct_reason or None,
        "weights": [req.weight_price, req.weight_time, req.weight_credit]
        if req.selection_method is SelectionMethod.SCORING else None,
        "round": req.round_number, "previous_round": req.previous_round_id,
    }


def create_request(case: ApprovalCase, item: ServiceItem, data: RequestInput, *, actor: User) -> PurchaseRequest:
    """Draft a purchase request for one service item of one of the enterprise's cases.

    Raises:
        PermissionDenied: the actor is not staff of the case's applicant.
        DomainError: the case is closed, the item is not needed by it (or no longer in the
            catalogue for its approval item), a live request already exists, or a field breaks a
            rule (``field`` says which).
    """
    _check_owner(case.applicant_id, actor)
    _check_case_and_item(case, item)
    if _live_request_exists(case.id, item.id):
        raise DomainError(
            _l("This case already has a purchase request for this service; one service may not be split.")
        )
    values, quals = _checked_values(item, data)
    req = PurchaseRequest(
        approval_case_id=case.id, enterprise_id=case.applicant_id, service_item_id=item.id,
        region_code=_region_for(case), created_by_id=actor.id, **values,
    )
    req.required_qualifications = quals
    _insert_request(req)
    record_event("purchase_request.created", req, actor=actor, payload=_request_payload(req))
    return req


def update_request(req: PurchaseRequest, data: RequestInput, *, actor: User) -> PurchaseRequest:
    """Change a draft.

    Raises:
        PermissionDenied: not the owner.
        DomainError: the request is no longer a draft, or a field breaks a rule.
    """
    _check_owner(req.enterprise_id, actor)
    if req.status is not RequestStatus.DRAFT:
        raise DomainError(_l("Only a draft can be changed."))
    values, quals = _checked_values(req.service_item, data)
    _lock_request(req, PurchaseRequest.status == RequestStatus.DRAFT,
                  message=_l("Only a draft can be changed."))
    for key, value in values.items():
        setattr(req, key, value)
    req.required_qualifications = quals
    db.session.flush()
    record_event("purchase_request.updated", req, actor=actor, payload=_request_payload(req))
    return req


def add_exclusion(req: PurchaseRequest, agency_id: int, reason: str, *, actor: User) -> Exclusion:
    """Exclude an agency from a draft request, with the public reason (回避).

    Raises:
        PermissionDenied: not the owner.
        DomainError: not a draft, not an agency, already excluded, or no reason.
    """
    _check_owner(req.enterprise_id, actor)
    if req.status is not RequestStatus.DRAFT:
        raise DomainError(_l("Exclusions can be changed only while the request is a draft."))
    agency = db.session.get(Organisation, agency_id) if agency_id and 0 < int(agency_id) <= MAX_ID else None
    if agency is None or agency.kind is not OrgKind.AGENCY:
        raise DomainError(_l("Choose an agency."), field="agency_id")
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    exclusion = Exclusion(request_id=req.id, agency_id=agency.id, reason=reason)
    try:
        with db.session.begin_nested():
            db.session.add(exclusion)
            db.session.flush()
    except IntegrityError as exc:
        raise DomainError(_l("This agency is already excluded."), field="agency_id") from exc
    db.session.expire(req, ["exclusions"])
    record_event("purchase_request.exclusion_added", req, actor=actor,
                 payload={"agency": agency.id, "reason": reason})
    return exclusion


def remove_exclusion(exclusion: Exclusion, *, actor: User) -> None:
    """Lift an exclusion from a draft.

    Raises:
        PermissionDenied: not the owner.
        DomainError: the request is no longer a draft.
    """
    req = exclusion.request
    _check_owner(req.enterprise_id, actor)
    if req.status is not RequestStatus.DRAFT:
        raise DomainError(_l("Exclusions can be changed only while the request is a draft."))
    db.session.delete(exclusion)
    db.session.flush()
    db.session.expire(req, ["exclusions"])
    record_event("purchase_request.exclusion_removed", req, actor=actor, payload={"agency": exclusion.agency_id})


def earliest_deadline_day(now: datetime) -> date:
    """The first day (in China) a deadline may fall on when publishing at ``now``."""
    return add_working_days(china_date(now), _config("PROCUREMENT_MIN_BIDDING_DAYS"))


def default_deadline(now: datetime) -> datetime:
    """17:00 in China on the earliest allowed day, as aware UTC (the form's default)."""
    return datetime.combine(earliest_deadline_day(now), DEFAULT_DEADLINE_TIME, tzinfo=SHANGHAI).astimezone(UTC)


def check_deadline(deadline: datetime, now: datetime) -> None:
    """The deadline is at least N working days after ``now`` and within a year.

    Raises:
        DomainError: too early or too late (field ``bidding_deadline``).
    """
    earliest = earliest_deadline_day(now)
    if deadline <= now or china_date(deadline) < earliest:
        raise DomainError(
            _l("The bidding deadline must fall on %(day)s or later: at least %(n)d working days "
               "after publication.", day=earliest.isoformat(), n=_config("PROCUREMENT_MIN_BIDDING_DAYS")),
            field="bidding_deadline",
        )
    if deadline > now + timedelta(days=MAX_BIDDING_CALENDAR_DAYS):
        raise DomainError(_l("The bidding deadline must be within a year."), field="bidding_deadline")


def publish_request(req: PurchaseRequest, *, actor: User, now: datetime | None = None) -> PurchaseRequest:
    """Publish a draft: bidding opens until the deadline; a random draw commits to its seed now.

    Raises:
        PermissionDenied: not the owner.
        DomainError: the deadline is too early, the case or catalogue no longer allows the
            request, or the directly selected agency is not eligible.
        InvalidTransition / ConcurrentUpdate: not a draft any more.
    """
    now = now or utcnow()
    _check_owner(req.enterprise_id, actor)
    if not REQUEST_MACHINE.can(req.status, RequestStatus.PUBLISHED):
        raise InvalidTransition(_l("Only a draft can be published."))
    _check_case_and_item(req.approval_case, req.service_item)
    check_deadline(req.bidding_deadline, now)
    if req.selection_method is SelectionMethod.DIRECT:
        problems = bid_problems(req, req.direct_agency, now, check_status=False)
        if problems:
            raise DomainError(
                _l("The agency you selected cannot take this request: %(why)s", why=problems[0]),
                field="direct_agency_id",
            )
    payload = {"deadline": req.bidding_deadline.isoformat(), "method": str(req.selection_method),
               "round": req.round_number}
    if req.selection_method is SelectionMethod.RANDOM_DRAW:
        from marketplace.procurement.selection import draw_commitment

        req.draw_seed = secrets.token_hex(32)
        req.draw_commitment = draw_commitment(req.draw_seed)
        payload["draw_commitment"] = req.draw_commitment
    req.published_at = now
    REQUEST_MACHINE.transition(req, RequestStatus.PUBLISHED, actor=actor, payload=payload)
    index_announcement(req)
    request_event(req, "request.published", draw_commitment=req.draw_commitment)
    return req


def cancel_request(req: PurchaseRequest, reason: str, *, actor, now: datetime | None = None) -> PurchaseRequest:
    """Cancel a request with a public reason (before a contract exists).

    A draft cancelled before publication was never public and stays private to its owner: it
    keeps its history (the audit trail) and frees its case and service item for a new request.

    Raises:
        PermissionDenied: not the owner (or an administrator / regulator).
        DomainError: no reason, or a contract already exists.
        InvalidTransition / ConcurrentUpdate: the status does not allow it.
    """
    now = now or utcnow()
    if not _is_official(actor):
        _check_owner(req.enterprise_id, actor)
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    if req.status not in (RequestStatus.DRAFT, RequestStatus.PUBLISHED, RequestStatus.BIDDING_CLOSED,
                          RequestStatus.AWARDED):
        raise InvalidTransition(_l("This request can no longer be cancelled here."))
    req.cancel_reason = reason
    req.ended_at = now
    REQUEST_MACHINE.transition(req, RequestStatus.CANCELLED, actor=actor, reason=reason)
    if req.is_public:
        # A draft cancelled unpublished stays the owner's: nobody else ever heard of it.
        index_announcement(req)
        request_event(req, "request.cancelled", reason=reason)
    return req


def close_request(req: PurchaseRequest, *, actor, reason: str, now: datetime | None = None) -> bool:
    """An accepted request whose payment is settled is closed (办结); True when it moved now."""
    if req.status is not RequestStatus.ACCEPTED:
        return False
    req.ended_at = now or utcnow()
    REQUEST_MACHINE.transition(req, RequestStatus.CLOSED, actor=actor, reason=reason)
    index_announcement(req)
    return True


def republish_request(req: PurchaseRequest, *, actor: User, now: datetime | None = None) -> PurchaseRequest:
    """Start the next round of a failed request: a new draft linked to it, same terms.

    Raises:
        PermissionDenied: not the owner.
        DomainError: the request has not failed, was already re-published, or its case no
            longer allows a request.
    """
    now = now or utcnow()
    _check_owner(req.enterprise_id, actor)
    if req.status is not RequestStatus.FAILED:
        raise DomainError(_l("Only a failed request can be published again."))
    if next_round_of(req) is not None:
        raise DomainError(_l("This request has already been published again."))
    _check_case_and_item(req.approval_case, req.service_item)
    copy = PurchaseRequest(
        approval_case_id=req.approval_case_id, enterprise_id=req.enterprise_id,
        service_item_id=req.service_item_id, region_code=req.region_code, title=req.title,
        content=req.content, scale=req.scale, is_budgeted=req.is_budgeted,
        budget_ceiling_fen=req.budget_ceiling_fen, quote_min_fen=req.quote_min_fen,
        quote_max_fen=req.quote_max_fen, selection_method=req.selection_method,
        bidding_deadline=default_deadline(now), contact_name=req.contact_name,
        contact_phone=req.contact_phone, complaint_phone=req.complaint_phone,
        round_number=req.round_number + 1, previous_round_id=req.id,
        direct_agency_id=req.direct_agency_id, direct_reason=req.direct_reason,
        weight_price=req.weight_price, weight_time=req.weight_time, weight_credit=req.weight_credit,
        created_by_id=actor.id,
    )
    copy.required_qualifications = list(req.required_qualifications)
    copy.exclusions = [Exclusion(agency_id=e.agency_id, reason=e.reason) for e in req.exclusions]
    try:
        _insert_request(copy)
    except DomainError as exc:
        raise DomainError(_l("This request has already been published again.")) from exc
    record_event("purchase_request.created", copy, actor=actor, payload=_request_payload(copy))
    record_event("purchase_request.republished", req, actor=actor, payload={"next_round": copy.id})
    return copy


# --- event push --------------------------------------------------------------------------------


def _case_event(case: ApprovalCase, event_type: str, **extra) -> None:
    """Push a case event to the approving department and the applicant (cases are not public)."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    emit(event_type, {
        "case_id": case.id, "case_number": case.case_number, "status": case.status.value,
        "approval_item": {"id": case.approval_item_id, "code": case.approval_item.code},
        "project_name": case.project_name, "project_code": case.project_code,
        "applicant": {"id": case.applicant_id, "uscc": case.applicant.uscc},
        "department_id": case.department_id,
        "service_item_ids": sorted(i.id for i in case.service_items),
        "web_url": web_url(f"/procurement/cases/{case.id}"), **extra,
    }, audience=[case.applicant_id, case.department_id])


def request_event(req: PurchaseRequest, event_type: str, **extra) -> None:
    """Push a request event. What it carries is public on the announcement page, so it goes to every
    subscribed endpoint (an approval system filters by ``approval_case_id``)."""
    from marketplace.webhooks.events import web_url
    from marketplace.webhooks.services import emit

    data = {
        "request_id": req.id, "approval_case_id": req.approval_case_id, "title": req.title,
        "status": req.status.value, "selection_method": req.selection_method.value, "round": req.round_number,
        "service_item": {"id": req.service_item_id, "code": req.service_item.code, "name": req.service_item.name},
        "enterprise": {"id": req.enterprise_id, "name": req.enterprise.name},
        "region_code": req.region_code,
        "bidding_deadline": req.bidding_deadline.isoformat() if req.bidding_deadline else None,
        "web_url": web_url(f"/announcements/{req.id}"),
    }
    if event_type == "request.awarded":
        data["award"] = {
            "agency": {"id": req.awarded_org_id, "name": req.awarded_org.name, "uscc": req.awarded_org.uscc},
            "price_fen": req.awarded_price_fen, "working_days": req.awarded_days,
            "objection_deadline": req.objection_deadline.isoformat() if req.objection_deadline else None,
        }
    data.update(extra)
    emit(event_type, data)


# --- eligibility and sealed bids ------------------------------------------------------------


def active_listing(org_id: int, service_item_id: int, on: date) -> Listing | None:
    """The agency's published listing for the item, if it is visible (qualified, not sanctioned) on ``on``."""
    return db.session.execute(
        sa.select(Listing).where(
            Listing.organisation_id == org_id, Listing.service_item_id == service_item_id,
            listing_visible_sql(on),
        )
    ).scalar_one_or_none()


def listed_agencies(service_item_id: int, on: date) -> list[Organisation]:
    """Agencies with a visible listing for the item on ``on``, by name."""
    return list(db.session.execute(
        sa.select(Organisation).join(Listing, Listing.organisation_id == Organisation.id)
        .where(Listing.service_item_id == service_item_id, listing_visible_sql(on))
        .order_by(Organisation.name)
    ).scalars())


def is_related_party(agency: Organisation, enterprise: Organisation) -> bool:
    """Same unified social credit code or same legal representative: the agency may not bid."""
    if _norm_code(agency.uscc) == _norm_code(enterprise.uscc):
        return True
    rep = _norm_person(agency.legal_representative)
    return bool(rep) and rep == _norm_person(enterprise.legal_representative)


def bid_problems(req: PurchaseRequest, org: Organisation | None, now: datetime, *,
                 check_status: bool = True) -> list:
    """Why ``org`` may not bid on ``req`` at ``now`` (translated lazily); empty when it may."""
    if org is None:
        return [_l("Only intermediary agencies can bid.")]
    problems = []
    if check_status:
        if req.status is RequestStatus.CANCELLED:
            return [_l("This request was cancelled.")]
        if req.status is not RequestStatus.PUBLISHED:
            return [_l("This request is not open for bids.")]
        if now >= req.bidding_deadline:
            return [_l("The bidding deadline has passed.")]
    if org.id == req.enterprise_id:
        return [_l("An enterprise cannot bid on its own request.")]
    if org.kind is not OrgKind.AGENCY:
        return [_l("Only intermediary agencies can bid.")]
    if is_related_party(org, req.enterprise):
        problems.append(_l("Your agency shares its unified social credit code or legal representative "
                           "with the enterprise, so it may not bid."))
    if req.selection_method is SelectionMethod.DIRECT and org.id != req.direct_agency_id:
        problems.append(_l("This request selects one agency directly; no other agency can bid."))
    excluded = next((e for e in req.exclusions if e.agency_id == org.id), None)
    if excluded is not None:
        problems.append(_l("Your agency is excluded from this request: %(reason)s", reason=excluded.reason))
    on = china_date(now)
    if agency_is_sanctioned(org.id, on):
        problems.append(_l("Your agency is suspended or blacklisted and cannot bid."))
    if agency_is_conflicted(org.id, req.approval_case.department_id):
        problems.append(_l("A regulator found your agency tied to %(department)s, the department "
                           "deciding this approval case, so it may not take part in this request.",
                           department=req.approval_case.department.name))
    if not agency_qualifies_for(org, req.service_item, on):
        problems.append(_l("Your agency holds no valid qualification meeting this service item's requirement."))
    for qtype in req.required_qualifications:
        held = db.session.execute(sa.select(valid_qualification_sql(org.id, qtype.id, on))).scalar()
        if not held:
            problems.append(_l("This request requires a valid “%(name)s” certificate.", name=qtype.name))
    if active_listing(org.id, req.service_item_id, on) is None:
        problems.append(_l("Your agency has no published listing for this service item that is shown today."))
    return problems


def can_bid(req: PurchaseRequest, org: Organisation | None, now: datetime | None = None) -> bool:
    """Whether ``org`` may bid on ``req`` now."""
    return not bid_problems(req, org, now or utcnow())


def _offer_problem(req: PurchaseRequest, org_id: int, price_fen, days, when: datetime):
    """The first reason the price/time offer breaks a rule, as (message, field), or None."""
    if not isinstance(price_fen, int) or price_fen <= 0 or price_fen > MAX_FEN:
        return _l("Enter a price above zero."), "price"
    if not isinstance(days, int) or not 1 <= days <= MAX_BID_DAYS:
        return _l("Enter the number of working days, from 1 to %(n)d.", n=MAX_BID_DAYS), "days"
    if req.is_budgeted and price_fen > req.budget_ceiling_fen:
        return _l("The price is above the budget ceiling of %(ceiling)s.",
                  ceiling=format_fen(req.budget_ceiling_fen)), "price"
    if not req.is_budgeted and not req.quote_min_fen <= price_fen <= req.quote_max_fen:
        return _l("The price must be within the quote range %(low)s – %(high)s.",
                  low=format_fen(req.quote_min_fen), high=format_fen(req.quote_max_fen)), "price"
    listing = db.session.execute(
        sa.select(Listing).where(Listing.organisation_id == org_id,
                                 Listing.service_item_id == req.service_item_id)
    ).scalar_one_or_none()
    terms = commitment_at(listing, when) if listing is not None else None
    if terms is None:
        return _l("Your agency has no listing for this service item."), "price"
    if days > terms.time_limit_days:
        return _l("Your listing commits to at most %(n)d working days; you cannot offer more.",
                  n=terms.time_limit_days), "days"
    if terms.fee_kind in (FeeKind.FIXED, FeeKind.RANGE) and price_fen > terms.fee_max_fen:
        return _l("The price is above the fee your listing commits to (at most %(fee)s).",
                  fee=format_fen(terms.fee_max_fen)), "price"
    return None


def seal_commitment(*, request_id: int, agency_id: int, price_fen: int, days: int, version: int,
                    nonce: str) -> str:
    """SHA-256 over the canonical JSON of a bid's terms and its nonce (revealed at close)."""
    body = canonical_json({"request": request_id, "agency": agency_id, "price_fen": price_fen,
                           "days": days, "version": version, "nonce": nonce})
    return hashlib.sha256(body.encode()).hexdigest()


def _is_agency_staff(actor, org_id: int) -> bool:
    # A signed-in user or an API token acting for its organisation (``TokenActor``); never a
    # job's string actor.
    return (not isinstance(actor, str) and getattr(actor, "role", None) is Role.AGENCY_STAFF
            and getattr(actor, "organisation_id", None) == org_id)


def _check_bidder(org: Organisation, actor) -> None:
    if not _is_agency_staff(actor, org.id):
        raise PermissionDenied(_l("Only the agency's own staff can bid for it."))


def _bidding_open_conditions(now: datetime):
    return (PurchaseRequest.status == RequestStatus.PUBLISHED, PurchaseRequest.bidding_deadline > now)


def live_bid(req_id: int, org_id: int) -> Bid | None:
    """The agency's own bid on the request that is not withdrawn (only ever shown to its owner)."""
    return db.session.execute(
        sa.select(Bid).where(Bid.request_id == req_id, Bid.agency_id == org_id,
                             Bid.status != BidStatus.WITHDRAWN)
    ).scalar_one_or_none()


def submit_bid(req: PurchaseRequest, *, org: Organisation, price_fen: int, days: int, actor: User,
               now: datetime | None = None) -> Bid:
    """Submit a sealed bid; the audit trail records only its commitment.

    Raises:
        PermissionDenied: the actor is not the agency's staff.
        DomainError: bidding is closed or cancelled, the agency is not eligible or excluded, the
            price is above the ceiling or the listing's fee, the days exceed the listing's
            commitment, or the agency already has a bid (``field`` says which when it is one).
    """
    now = now or utcnow()
    _check_bidder(org, actor)
    problems = bid_problems(req, org, now)
    if problems:
        raise DomainError(problems[0])
    if live_bid(req.id, org.id) is not None:
        raise DomainError(_l("You have already submitted a bid on this request; reload the page to revise it."))
    problem = _offer_problem(req, org.id, price_fen, days, now)
    if problem:
        raise DomainError(problem[0], field=problem[1])
    _lock_request(req, *_bidding_open_conditions(now), message=_l("The bidding deadline has passed."))
    nonce = secrets.token_hex(16)
    bid = Bid(
        request_id=req.id, agency_id=org.id, price_fen=price_fen, days=days, version=1,
        seal_nonce=nonce, submitted_at=now, final_submitted_at=now, submitted_by_id=actor.id,
        commitment=seal_commitment(request_id=req.id, agency_id=org.id, price_fen=price_fen,
                                   days=days, version=1, nonce=nonce),
    )
    try:
        with db.session.begin_nested():
            db.session.add(bid)
            db.session.flush()
    except IntegrityError as exc:
        raise DomainError(_l("You have already submitted a bid on this request; reload the page to revise it.")) from exc
    record_event("bid.submitted", bid, actor=actor, payload={"commitment": bid.commitment, "version": 1})
    return bid


def place_bid(req: PurchaseRequest, *, org: Organisation, price_fen: int, days: int,
              expected_version: int | None, actor: User, now: datetime | None = None) -> Bid:
    """Submit the first bid, or revise the one the agency saw (``expected_version``).

    ``expected_version`` None means the agency saw no bid of its own: a second first submission
    (a double click, a second tab) is refused and changes nothing, never taken as a revision.

    Raises:
        PermissionDenied / DomainError: as :func:`submit_bid` and :func:`revise_bid`; also when a
            bid exists though the agency expected none.
        ConcurrentUpdate: the bid the agency saw was revised or withdrawn meanwhile.
    """
    if expected_version is None:
        return submit_bid(req, org=org, price_fen=price_fen, days=days, actor=actor, now=now)
    own = live_bid(req.id, org.id)
    if own is None:
        raise ConcurrentUpdate(_l("Your bid was changed elsewhere since you opened it. Please reload."))
    return revise_bid(own, price_fen=price_fen, days=days, expected_version=expected_version,
                      actor=actor, now=now)


def _own_bid(bid: Bid, actor) -> None:
    if not _is_agency_staff(actor, bid.agency_id):
        raise PermissionDenied(_l("Only the agency that made this bid can change it."))


def revise_bid(bid: Bid, *, price_fen: int, days: int, expected_version: int, actor: User,
               now: datetime | None = None) -> Bid:
    """Change a bid's price and days before the deadline; ``expected_version`` is the one the agency saw.

    Raises:
        PermissionDenied: not the bid's agency.
        ConcurrentUpdate: the bid was revised or withdrawn since the agency loaded it.
        DomainError: bidding is closed or the new offer breaks a rule.
    """
    now = now or utcnow()
    _own_bid(bid, actor)
    req = bid.request
    if bid.status is not BidStatus.SUBMITTED:
        raise DomainError(_l("This bid can no longer be changed."))
    problems = bid_problems(req, bid.agency, now)
    if problems:
        raise DomainError(problems[0])
    problem = _offer_problem(req, bid.agency_id, price_fen, days, now)
    if problem:
        raise DomainError(problem[0], field=problem[1])
    _lock_request(req, *_bidding_open_conditions(now), message=_l("The bidding deadline has passed."))
    version = int(expected_version) + 1
    nonce = secrets.token_hex(16)
    commitment = seal_commitment(request_id=req.id, agency_id=bid.agency_id, price_fen=price_fen,
                                 days=days, version=version, nonce=nonce)
    result = db.session.execute(
        sa.update(Bid)
        .where(Bid.id == bid.id, Bid.version == int(expected_version), Bid.status == BidStatus.SUBMITTED)
        .values(price_fen=price_fen, days=days, version=version, seal_nonce=nonce,
                commitment=commitment, final_submitted_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise ConcurrentUpdate(_l("Your bid was changed elsewhere since you opened it. Please reload."))
    db.session.expire(bid)
    record_event("bid.revised", bid, actor=actor, payload={"commitment": commitment, "version": version})
    return bid


def withdraw_bid(bid: Bid, *, actor: User, now: datetime | None = None) -> Bid:
    """Withdraw a bid before the deadline (the agency may bid again while bidding is open).

    Raises:
        PermissionDenied: not the bid's agency.
        DomainError: bidding has closed.
        InvalidTransition / ConcurrentUpdate: the bid is no longer submitted.
    """
    now = now or utcnow()
    _own_bid(bid, actor)
    _lock_request(bid.request, *_bidding_open_conditions(now), message=_l("The bidding deadline has passed."))
    return BID_MACHINE.transition(bid, BidStatus.WITHDRAWN, actor=actor, payload={"version": bid.version})


# --- closing, selection and award -----------------------------------------------------------


def _bids_of(req: PurchaseRequest, *statuses: BidStatus) -> list[Bid]:
    stmt = sa.select(Bid).options(joinedload(Bid.agency)).where(Bid.request_id == req.id).order_by(Bid.id)
    if statuses:
        stmt = stmt.where(Bid.status.in_(statuses))
    return list(db.session.execute(stmt.execution_options(populate_existing=True)).scalars())


def selection_context(req: PurchaseRequest) -> SelectionContext:
    """What the request's method needs, from the request and the configuration."""
    weights = None
    if req.selection_method is SelectionMethod.SCORING:
        weights = (req.weight_price, req.weight_time, req.weight_credit)
    return SelectionContext(
        seed_hex=req.draw_seed, weights=weights, direct_agency_id=req.direct_agency_id,
        abnormal_mean_pct=_config("PROCUREMENT_ABNORMAL_MEAN_PCT"),
        abnormal_next_pct=_config("PROCUREMENT_ABNORMAL_NEXT_PCT"),
    )


def _candidates(bids: list[Bid]) -> list[Candidate]:
    return [Candidate(b.id, b.agency_id, b.agency.name, b.price_fen, b.days, b.final_submitted_at)
            for b in bids]


def _evaluate(req: PurchaseRequest, valid: list[Bid], *, actor, now: datetime) -> bool:
    """Rank the valid bids and store the outcome; fail the request if too few. True if it can go on."""
    strategy = strategy_for(req.selection_method)
    minimum = strategy.min_valid_bids(current_app.config)
    outcome = strategy.rank(_candidates(valid), selection_context(req))
    data = outcome.as_dict()
    data.update({"valid_bids": len(valid), "minimum": minimum, "evaluated_at": now.isoformat()})
    flagged = set(outcome.flagged)
    for bid in valid:
        bid.is_abnormal = bid.id in flagged
    req.selection_json = json.dumps(data, ensure_ascii=False, sort_keys=True)
    db.session.flush()
    record_event("purchase_request.evaluated", req, actor=actor, payload=data)
    if len(valid) < minimum:
        _fail(req, record_text(_l("Only %(n)d valid bid(s); the method needs at least %(min)d.",
                                  n=len(valid), min=minimum)), actor=actor, now=now)
        return False
    return True


def _fail(req: PurchaseRequest, reason: str, *, actor, now: datetime) -> None:
    req.failure_reason = reason
    req.ended_at = now
    REQUEST_MACHINE.transition(req, RequestStatus.FAILED, actor=actor, reason=reason)
    for bid in _bids_of(req, BidStatus.SUBMITTED):
        BID_MACHINE.transition(bid, BidStatus.LOST, actor=actor)
    index_announcement(req)
    request_event(req, "request.failed", reason=reason)


def close_bidding(req: PurchaseRequest, *, now: datetime | None = None, actor=SYSTEM) -> RequestStatus:
    """Close bidding at the deadline: reveal the bids, re-check them, apply the method.

    Fails the request when fewer valid bids remain than the method needs; otherwise the ranking
    is stored and the award follows (``award_request``) unless the enterprise must first decide
    on an abnormally low price.

    Raises:
        DomainError: the deadline has not been reached.
        InvalidTransition / ConcurrentUpdate: the request is not (or no longer) published.
    """
    now = now or utcnow()
    if req.status is not RequestStatus.PUBLISHED:
        raise InvalidTransition(_l("Bidding is not open on this request."))
    if now < req.bidding_deadline:
        raise DomainError(_l("Bidding is open until the deadline."))
    req.closed_at = now
    REQUEST_MACHINE.transition(req, RequestStatus.BIDDING_CLOSED, actor=actor,
                               payload={"deadline": req.bidding_deadline.isoformat()})
    request_event(req, "request.closed", closed_at=now.isoformat())
    for bid in _bids_of(req):
        record_event("bid.revealed", bid, actor=actor, payload={
            "request": req.id, "agency": bid.agency_id, "price_fen": bid.price_fen, "days": bid.days,
            "version": bid.version, "nonce": bid.seal_nonce, "commitment": bid.commitment,
            "status": str(bid.status), "final_submitted_at": bid.final_submitted_at.isoformat(),
        })
    valid = []
    for bid in _bids_of(req, BidStatus.SUBMITTED):
        problems = bid_problems(req, bid.agency, now, check_status=False)
        offer = _offer_problem(req, bid.agency_id, bid.price_fen, bid.days, bid.final_submitted_at)
        if offer:
            problems.append(offer[0])
        if problems:
            bid.rejection_reason = record_text(problems[0])
            BID_MACHINE.transition(bid, BidStatus.REJECTED, actor=actor, reason=bid.rejection_reason)
        else:
            valid.append(bid)
    if _evaluate(req, valid, actor=actor, now=now):
        index_announcement(req)
        return RequestStatus.BIDDING_CLOSED
    return RequestStatus.FAILED


def pending_decisions(req: PurchaseRequest) -> list[Bid]:
    """Abnormally low bids the enterprise has not yet confirmed or rejected."""
    return list(db.session.execute(
        sa.select(Bid).where(Bid.request_id == req.id, Bid.status == BidStatus.SUBMITTED,
                             Bid.is_abnormal.is_(True), Bid.abnormal_decision.is_(None))
        .order_by(Bid.price_fen, Bid.id)
    ).scalars())


def decide_abnormal_bid(req: PurchaseRequest, bid: Bid, *, confirm: bool, reason: str, actor: User,
                        now: datetime | None = None) -> PurchaseRequest:
    """The enterprise confirms or rejects an abnormally low price, with a reason; the award follows
    once nothing is left to decide.

    Raises:
        PermissionDenied: not the owner.
        DomainError: the bid is not awaiting a decision, or no reason is given.
        ConcurrentUpdate: someone decided first.
    """
    now = now or utcnow()
    _check_owner(req.enterprise_id, actor)
    if bid.request_id != req.id or req.status is not RequestStatus.BIDDING_CLOSED:
        raise DomainError(_l("This bid is not awaiting a decision."))
    if not bid.is_abnormal or bid.abnormal_decision is not None or bid.status is not BidStatus.SUBMITTED:
        raise DomainError(_l("This bid is not awaiting a decision."))
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    _lock_request(req, PurchaseRequest.status == RequestStatus.BIDDING_CLOSED,
                  message=_l("This request changed meanwhile. Please reload."))
    decision = AbnormalDecision.CONFIRMED if confirm else AbnormalDecision.REJECTED
    result = db.session.execute(
        sa.update(Bid)
        .where(Bid.id == bid.id, Bid.abnormal_decision.is_(None), Bid.status == BidStatus.SUBMITTED)
        .values(abnormal_decision=decision, decision_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise ConcurrentUpdate(_l("Someone else decided on this bid first. Please reload."))
    db.session.expire(bid)
    record_event(f"bid.abnormal_{decision}", bid, actor=actor, payload={"reason": reason})
    if not confirm:
        bid.rejection_reason = reason
        BID_MACHINE.transition(bid, BidStatus.REJECTED, actor=actor, reason=reason)
        if not _evaluate(req, _bids_of(req, BidStatus.SUBMITTED), actor=actor, now=now):
            return req
    if not pending_decisions(req):
        award_request(req, actor=actor, now=now)
    return req


def objection_deadline_for(now: datetime) -> datetime:
    """The end (in China) of the N-th working day after ``now``."""
    return china_end_of_day(add_working_days(china_date(now), _config("PROCUREMENT_OBJECTION_DAYS")))


def _set_winner(req: PurchaseRequest, bid: Bid, now: datetime) -> None:
    req.awarded_org_id = bid.agency_id
    req.awarded_price_fen = bid.price_fen
    req.awarded_days = bid.days
    req.awarded_at = now
    req.objection_deadline = objection_deadline_for(now)
    req.award_finalised_at = None


def award_request(req: PurchaseRequest, *, actor=SYSTEM, now: datetime | None = None) -> PurchaseRequest:
    """Award the request to the first valid bid of the stored ranking; the objection period opens.

    Raises:
        DomainError: abnormally low prices still await the enterprise's decision.
        InvalidTransition / ConcurrentUpdate: bidding is not closed (or someone awarded first).
    """
    now = now or utcnow()
    if req.status is not RequestStatus.BIDDING_CLOSED or req.outcome is None:
        raise InvalidTransition(_l("Only a request whose bidding has closed can be awarded."))
    if pending_decisions(req):
        raise DomainError(_l("Confirm or reject the abnormally low prices first."))
    submitted = {b.id: b for b in _bids_of(req, BidStatus.SUBMITTED)}
    entry = None
    # Eligibility is checked again at award time: a bidder flagged or sanctioned since the
    # close loses its place, on the record, and the award goes to the next in the ranking.
    for candidate in (e for e in req.outcome["ranking"] if e["bid_id"] in submitted):
        bid = submitted[candidate["bid_id"]]
        problems = bid_problems(req, bid.agency, now, check_status=False)
        if not problems:
            entry = candidate
            break
        bid.rejection_reason = record_text(problems[0])
        BID_MACHINE.transition(bid, BidStatus.REJECTED, actor=actor, reason=bid.rejection_reason)
        del submitted[bid.id]
    if entry is None:
        _fail(req, record_text(_l("No valid bid is left to award.")), actor=actor, now=now)
        return req
    winner = submitted[entry["bid_id"]]
    _set_winner(req, winner, now)
    REQUEST_MACHINE.transition(req, RequestStatus.AWARDED, actor=actor, payload={
        "winner": winner.agency_id, "bid": winner.id, "rank": entry["rank"],
        "price_fen": winner.price_fen, "days": winner.days, "at": now.isoformat(),
        "objection_deadline": req.objection_deadline.isoformat(),
    })
    BID_MACHINE.transition(winner, BidStatus.WON, actor=actor)
    for bid in submitted.values():
        if bid.id != winner.id:
            BID_MACHINE.transition(bid, BidStatus.LOST, actor=actor)
    index_announcement(req)
    request_event(req, "request.awarded", passed_from=None)
    return req


def winning_bid(req: PurchaseRequest) -> Bid | None:
    """The bid that holds the award (after the award only)."""
    if not req.has_winner:
        return None
    return db.session.execute(
        sa.select(Bid).where(Bid.request_id == req.id, Bid.status == BidStatus.WON)
    ).scalar_one_or_none()


def _may_pass_award(req: PurchaseRequest, actor) -> bool:
    # Only the system (jobs, signals) acts for no organisation; an API token acts for its own.
    if not hasattr(actor, "organisation_id") or _is_official(actor):
        return True
    return actor.organisation_id in (req.enterprise_id, req.awarded_org_id)


def pass_award_to_next(req: PurchaseRequest, reason: str, actor, *, now: datetime | None = None) -> Bid | None:
    """The winner refused or was found ineligible: the award passes to the next valid bid of the
    ranking, on the record; with nobody left the request fails. Returns the new winning bid.

    Raises:
        PermissionDenied: the actor is neither party (nor an official).
        DomainError: no reason given.
        InvalidTransition / ConcurrentUpdate: the request is not awarded (or changed meanwhile).
    """
    now = now or utcnow()
    if not _may_pass_award(req, actor):
        raise PermissionDenied(_l("Only the enterprise, the winner or an official can do this."))
    reason = clean_text(reason, max_len=REASON_MAX, field="reason", multiline=True)
    if req.status is not RequestStatus.AWARDED:
        raise InvalidTransition(_l("The award can pass on only before the contract is signed."))
    current = winning_bid(req)
    if current is None:
        raise InvalidTransition(_l("This request has no winner."))
    current.rejection_reason = reason
    BID_MACHINE.transition(current, BidStatus.REJECTED, actor=actor, reason=reason)
    losers = {b.id: b for b in _bids_of(req, BidStatus.LOST)}
    following = [e for e in req.outcome["ranking"] if e["bid_id"] in losers]
    nxt = None
    for entry in following:
        bid = losers[entry["bid_id"]]
        problems = bid_problems(req, bid.agency, now, check_status=False)
        if not problems:
            nxt = (bid, entry)
            break
        bid.rejection_reason = record_text(problems[0])
        BID_MACHINE.transition(bid, BidStatus.REJECTED, actor=actor, reason=bid.rejection_reason)
    from_org = current.agency_id
    if nxt is None:
        record_event("purchase_request.award_passed", req, actor=actor,
                     payload={"from": from_org, "to": None, "reason": reason, "at": now.isoformat()})
        _fail(req, record_text(_l("The award could not pass on: no valid bid is left in the ranking.")),
              actor=actor, now=now)
        award_passed.send(req, from_org_id=from_org, to_org_id=None, reason=reason)
        return None
    bid, entry = nxt
    BID_MACHINE.transition(bid, BidStatus.WON, actor=actor, reason=reason)
    _set_winner(req, bid, now)
    db.session.flush()
    record_event("purchase_request.award_passed", req, actor=actor, payload={
        "from": from_org, "to": bid.agency_id, "bid": bid.id, "rank": entry["rank"], "reason": reason,
        "price_fen": bid.price_fen, "days": bid.days, "at": now.isoformat(),
        "objection_deadline": req.objection_deadline.isoformat(),
    })
    award_passed.send(req, from_org_id=from_org, to_org_id=bid.agency_id, reason=reason)
    index_announcement(req)
    request_event(req, "request.awarded", passed_from=from_org)
    return bid


def decline_award(bid: Bid, reason: str, *, actor: User, now: datetime | None = None) -> Bid | None:
    """The winning agency refuses the award; it passes to the next in the ranking.

    Raises:
        PermissionDenied: not the winning agency's staff.
        DomainError: the bid does not hold the award.
    """
    _own_bid(bid, actor)
    if bid.status is not BidStatus.WON or bid.request.status is not RequestStatus.AWARDED:
        raise DomainError(_l("This bid does not hold an award you can refuse."))
    return pass_award_to_next(bid.request, reason, actor, now=now)


def award_is_final(req: PurchaseRequest) -> bool:
    """Whether the award is final: the objection period ended with no objection open."""
    return req.has_winner and req.award_finalised_at is not None


def finalise_award(req: PurchaseRequest, *, now: datetime | None = None, actor=SYSTEM) -> bool:
    """Make the award final once the objection period is over and no objection is open; sends
    ``award_finalised``. Returns whether it did.
    """
    now = now or utcnow()
    if (req.status is not RequestStatus.AWARDED or req.award_finalised_at is not None
            or req.objection_deadline is None or now < req.objection_deadline or has_open_objection(req)):
        return False
    db.session.flush()
    result = db.session.execute(
        sa.update(PurchaseRequest)
        .where(PurchaseRequest.id == req.id, PurchaseRequest.status == RequestStatus.AWARDED,
               PurchaseRequest.award_finalised_at.is_(None),
               PurchaseRequest.awarded_org_id == req.awarded_org_id)
        .values(award_finalised_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        return False
    req.__dict__["award_finalised_at"] = now
    record_event("purchase_request.award_finalised", req, actor=actor,
                 payload={"winner": req.awarded_org_id, "at": now.isoformat(),
                          "objection_deadline": req.objection_deadline.isoformat()})
    award_finalised.send(req)
    return True


def advance_request(req: PurchaseRequest, now: datetime) -> bool:
    """Do whatever time allows on one request (close, award, finalise); True if anything changed."""
    changed = False
    if req.status is RequestStatus.PUBLISHED and now >= req.bidding_deadline:
        close_bidding(req, now=now)
        changed = True
    if req.status is RequestStatus.BIDDING_CLOSED and not pending_decisions(req):
        award_request(req, now=now)
        changed = True
    if req.status is RequestStatus.AWARDED and finalise_award(req, now=now):
        changed = True
    return changed


def due_request_ids(now: datetime) -> list[int]:
    """Requests a deadline has caught up with: to close, to award, or whose award may become final."""
    return list(db.session.execute(
        sa.select(PurchaseRequest.id).where(sa.or_(
            sa.and_(PurchaseRequest.status == RequestStatus.PUBLISHED,
                    PurchaseRequest.bidding_deadline <= now),
            PurchaseRequest.status == RequestStatus.BIDDING_CLOSED,
            sa.and_(PurchaseRequest.status == RequestStatus.AWARDED,
                    PurchaseRequest.award_finalised_at.is_(None),
                    PurchaseRequest.objection_deadline <= now),
        )).order_by(PurchaseRequest.id)
    ).scalars())


# --- reading ----------------------------------------------------------------------------------


def _region_prefix(code: str) -> str:
    while code.endswith("00") and len(code) > 2:
        code = code[:-2]
    return code


@dataclass(frozen=True)
class AnnouncementFilters:
    """The public list's filters (already cleaned)."""

    region: str | None = None
    service_item_id: int | None = None
    method: SelectionMethod | None = None
    status: RequestStatus | None = None


def public_requests(filters: AnnouncementFilters, *, page: int = 1, per_page: int = 20):
    """Published announcements (never drafts), newest first, filtered."""
    return db.paginate(public_requests_query(filters), page=page, per_page=per_page, error_out=False)


def public_requests_query(filters: AnnouncementFilters) -> sa.Select:
    """The query behind :func:`public_requests` (the page and the API share it)."""
    stmt = (
        sa.select(PurchaseRequest)
        .options(joinedload(PurchaseRequest.service_item), joinedload(PurchaseRequest.enterprise))
        .where(PurchaseRequest.is_public)
        .order_by(PurchaseRequest.published_at.desc(), PurchaseRequest.id.desc())
    )
    if filters.region:
        stmt = stmt.where(PurchaseRequest.region_code.startswith(_region_prefix(filters.region)))
    if filters.service_item_id:
        stmt = stmt.where(PurchaseRequest.service_item_id == filters.service_item_id)
    if filters.method:
        stmt = stmt.where(PurchaseRequest.selection_method == filters.method)
    if filters.status:
        stmt = stmt.where(PurchaseRequest.status == filters.status)
    return stmt


def announcement_filter_items() -> list[ServiceItem]:
    """Service items that have at least one public announcement."""
    return list(db.session.execute(
        sa.select(ServiceItem).where(ServiceItem.id.in_(
            sa.select(PurchaseRequest.service_item_id).where(PurchaseRequest.is_public)
        )).order_by(ServiceItem.code)
    ).scalars())


def announcement_regions() -> list[str]:
    """Region codes that have public announcements."""
    return list(db.session.execute(
        sa.select(PurchaseRequest.region_code).where(PurchaseRequest.is_public)
        .distinct().order_by(PurchaseRequest.region_code)
    ).scalars())


def get_request_for(user, request_id) -> PurchaseRequest:
    """A request as ``user`` may see it: drafts only for the owner.

    Raises:
        NotFound: no such request or a draft of someone else.
    """
    req = get_by_id(PurchaseRequest, request_id)
    if not req.is_public and not req.is_owned_by(user):
        raise NotFound(_l("This page does not exist."))
    return req


def next_round_of(req: PurchaseRequest) -> PurchaseRequest | None:
    """The round published after this failed one, if any (queried, never a stale cache)."""
    return db.session.execute(
        sa.select(PurchaseRequest).where(PurchaseRequest.previous_round_id == req.id)
    ).scalar_one_or_none()


def rounds_of(req: PurchaseRequest) -> list[PurchaseRequest]:
    """Every round of the request's history, first round first."""
    chain = [req]
    while chain[0].previous_round_id is not None and len(chain) < 1000:
        chain.insert(0, db.session.get(PurchaseRequest, chain[0].previous_round_id))
    while len(chain) < 1000:
        nxt = next_round_of(chain[-1])
        if nxt is None:
            break
        chain.append(nxt)
    return chain


def result_is_public(req: PurchaseRequest) -> bool:
    """Whether the ranking and revealed prices are public: after the award or the failure."""
    return req.has_winner or req.status is RequestStatus.FAILED or (
        req.status is RequestStatus.CANCELLED and req.outcome is not None
    )


def result_visible_to(req: PurchaseRequest, user) -> bool:
    """The owner also sees the ranking while deciding on abnormally low prices."""
    return result_is_public(req) or (req.status is RequestStatus.BIDDING_CLOSED and req.is_owned_by(user))


def revealed_bids(req: PurchaseRequest) -> dict[int, Bid]:
    """Every bid by id, once bidding has closed; nothing at all while bids are sealed."""
    if req.status in (RequestStatus.DRAFT, RequestStatus.PUBLISHED) or req.closed_at is None:
        return {}
    return {b.id: b for b in _bids_of(req)}


def award_history(req: PurchaseRequest) -> list[dict]:
    """The award and every pass to the next bidder, oldest first (from the audit trail).

    Each entry has ``action``, ``at`` (when it took effect) and the agencies' ids and names.
    """
    from marketplace.audit.services import events_for

    names = {e["agency_id"]: e["agency_name"] for e in (req.outcome or {}).get("ranking", [])}
    history = []
    for ev in events_for("purchase_requests", req.id):
        if ev.action not in ("purchase_request.awarded", "purchase_request.award_passed",
                             "purchase_request.award_finalised"):
            continue
        payload = json.loads(ev.payload)
        at = datetime.fromisoformat(payload["at"]) if payload.get("at") else ev.created_at
        entry = {**payload, "action": ev.action.split(".", 1)[1], "at": at}
        for key in ("winner", "from", "to"):
            if payload.get(key) is not None:
                entry[f"{key}_name"] = names.get(payload[key], f"#{payload[key]}")
        history.append(entry)
    return history


def public_result(req: PurchaseRequest) -> dict:
    """The result announcement as public JSON (what ``docs/verify_draw.py`` reads).

    Raises:
        NotFound: the result is not public yet.
    """
    if not result_is_public(req):
        raise NotFound(_l("The result of this request is not public yet."))
    outcome = req.outcome or {}
    data = {
        "request_id": req.id,
        "reference": req.reference,
        "round": req.round_number,
        "status": str(req.status),
        "method": str(req.selection_method),
        "published_at": req.published_at.isoformat() if req.published_at else None,
        "bidding_deadline": req.bidding_deadline.isoformat(),
        "closed_at": req.closed_at.isoformat() if req.closed_at else None,
        "valid_bids": outcome.get("valid_bids"),
        "minimum_valid_bids": outcome.get("minimum"),
        "ranking": outcome.get("ranking", []),
        "details": outcome.get("details", {}),
        "failure_reason": req.failure_reason or None,
    }
    if req.has_winner:
        data["winner"] = {
            "agency_id": req.awarded_org_id, "agency_name": req.awarded_org.name,
            "price_fen": req.awarded_price_fen, "days": req.awarded_days,
            "awarded_at": req.awarded_at.isoformat(),
            "objection_deadline": req.objection_deadline.isoformat(),
            "final": award_is_final(req),
        }
    if req.selection_method is SelectionMethod.RANDOM_DRAW and outcome:
        details = outcome.get("details", {})
        data["draw"] = {
            "seed": details.get("seed"), "commitment": req.draw_commitment,
            "bidders": details.get("bidders", []), "list_hash": details.get("list_hash"),
            "ranking": [{"rank": e["rank"], "bidder_id": e["agency_id"], "key": e["key"]}
                        for e in outcome.get("ranking", [])],
        }
    return data


# --- dashboards -------------------------------------------------------------------------------


@dataclass
class Task:
    """Something a user must do, and by when."""

    request: PurchaseRequest
    action: object
    due: datetime | None = None
    bid: Bid | None = None


def enterprise_tasks(org_id: int, now: datetime) -> list[Task]:
    """What the enterprise must do: publish drafts, decide abnormal prices, watch objection periods."""
    tasks = []
    reqs = db.session.execute(
        sa.select(PurchaseRequest).where(
            PurchaseRequest.enterprise_id == org_id,
            PurchaseRequest.status.in_([RequestStatus.DRAFT, RequestStatus.BIDDING_CLOSED,
                                        RequestStatus.AWARDED, RequestStatus.FAILED]),
        ).order_by(PurchaseRequest.id)
    ).scalars()
    for req in reqs:
        if req.status is RequestStatus.DRAFT:
            tasks.append(Task(req, _l("Check the draft and publish it"), req.bidding_deadline))
        elif req.status is RequestStatus.BIDDING_CLOSED and pending_decisions(req):
            tasks.append(Task(req, _l("Confirm or reject the abnormally low price(s) before the award")))
        elif req.status is RequestStatus.AWARDED and not award_is_final(req):
            tasks.append(Task(req, _l("Objection period running; the award becomes final after it"),
                              req.objection_deadline))
        elif req.status is RequestStatus.FAILED and next_round_of(req) is None:
            tasks.append(Task(req, _l("Bidding failed: publish the request again or cancel the need")))
    return tasks


def enterprise_requests(org_id: int, *, page: int = 1):
    """All the enterprise's requests, newest first."""
    return db.paginate(
        sa.select(PurchaseRequest).options(joinedload(PurchaseRequest.service_item))
        .where(PurchaseRequest.enterprise_id == org_id).order_by(PurchaseRequest.id.desc()),
        page=page, per_page=30, error_out=False,
    )


def agency_bids(org_id: int) -> list[Bid]:
    """The agency's own bids, newest first (its own: never anyone else's)."""
    return list(db.session.execute(
        sa.select(Bid).options(joinedload(Bid.request).joinedload(PurchaseRequest.service_item))
        .where(Bid.agency_id == org_id).order_by(Bid.id.desc()).limit(200)
    ).scalars())


def latest_bid_of(req: PurchaseRequest, org_id: int | None) -> Bid | None:
    """The organisation's newest bid on ``req`` (withdrawn ones included), for the bidder's own eyes."""
    if org_id is None:
        return None
    return db.session.execute(
        sa.select(Bid).where(Bid.request_id == req.id, Bid.agency_id == org_id).order_by(Bid.id.desc()).limit(1)
    ).scalar_one_or_none()


def agency_tasks(org_id: int, now: datetime) -> list[Task]:
    """What the agency must do: confirm direct selections, keep open bids current, answer awards."""
    tasks = []
    invited = db.session.execute(
        sa.select(PurchaseRequest).where(
            PurchaseRequest.status == RequestStatus.PUBLISHED,
            PurchaseRequest.selection_method == SelectionMethod.DIRECT,
            PurchaseRequest.direct_agency_id == org_id,
            PurchaseRequest.bidding_deadline > now,
        ).order_by(PurchaseRequest.bidding_deadline)
    ).scalars()
    for req in invited:
        if live_bid(req.id, org_id) is None:
            tasks.append(Task(req, _l("You were selected directly: confirm with your price and time"),
                              req.bidding_deadline))
    for bid in agency_bids(org_id):
        req = bid.request
        if bid.status is BidStatus.SUBMITTED and req.is_open_for_bids(now):
            tasks.append(Task(req, _l("Your bid can be revised or withdrawn until the deadline"),
                              req.bidding_deadline, bid))
        elif bid.status is BidStatus.WON and req.status is RequestStatus.AWARDED:
            tasks.append(Task(req, _l("You won: the award becomes final after the objection period"),
                              req.objection_deadline, bid))
    return tasks


def open_opportunities(org_id: int, now: datetime, limit: int = 20) -> list[PurchaseRequest]:
    """Open announcements for the service items the agency lists, soonest deadline first."""
    on = china_date(now)
    items = sa.select(Listing.service_item_id).where(Listing.organisation_id == org_id, listing_visible_sql(on))
    return list(db.session.execute(
        sa.select(PurchaseRequest).options(joinedload(PurchaseRequest.service_item))
        .where(PurchaseRequest.status == RequestStatus.PUBLISHED, PurchaseRequest.bidding_deadline > now,
               PurchaseRequest.service_item_id.in_(items),
               PurchaseRequest.selection_method != SelectionMethod.DIRECT)
        .order_by(PurchaseRequest.bidding_deadline).limit(limit)
    ).scalars())


# --- a blacklisting's exit (清退) -------------------------------------------------------------


def reject_open_bids(agency_id: int, reason: str, *, actor, now: datetime | None = None) -> int:
    """Reject an agency's submitted bids on requests still open for bidding, with ``reason``.

    Bids on requests whose bidding closed are left to the award, which checks eligibility again.
    Returns how many bids were rejected (0 when none is open: safe to repeat).

    Raises:
        InvalidTransition / ConcurrentUpdate: a bid moved meanwhile (bidding closed under us).
    """
    now = now or utcnow()
    bids = db.session.execute(
        sa.select(Bid).join(PurchaseRequest, PurchaseRequest.id == Bid.request_id)
        .where(Bid.agency_id == agency_id, Bid.status == BidStatus.SUBMITTED, *_bidding_open_conditions(now))
        .order_by(Bid.id)
    ).scalars().all()
    for bid in bids:
        bid.rejection_reason = reason
        BID_MACHINE.transition(bid, BidStatus.REJECTED, actor=actor, reason=reason)
    return len(bids)


def _on_blacklist_in_force(case, **extra) -> None:
    """Sanctions: a blacklisting is in force; its open bids are rejected (same transaction)."""
    reject_open_bids(case.organisation_id, f"blacklisted: {case.reference}",
                     actor=f"sanction {case.reference}", now=extra.get("now"))


blacklist_in_force.connect(_on_blacklist_in_force)


# --- search -----------------------------------------------------------------------------------


def index_announcement(req: PurchaseRequest) -> None:
    """Queue the announcement for the search index when the search domain is installed.

    Status changes are conditional UPDATEs the ORM does not see, so the services call this
    (``search.register`` tracks the ordinary attribute changes).
    """
    if "search" not in current_app.blueprints:
        return
    from marketplace.search.services import enqueue

    enqueue("announcement", req.id)

