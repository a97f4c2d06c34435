"""Purchase requests (采购需求公告): drafting one for a service item of an approval case, the
checks on its text, money, method and qualifications, exclusions (回避), publication, cancellation,
closing once paid (办结), and the next round after a failure.
"""

from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import Organisation, OrgKind, User
from marketplace.audit.services import record_event
from marketplace.catalog.models import QualificationType, ServiceItem
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, InvalidTransition
from marketplace.core.money import MAX_FEN
from marketplace.core.text import clean_text
from marketplace.extensions import db
from marketplace.procurement._common import MAX_ID, _check_owner, _is_official, _lock_request
from marketplace.procurement.deadlines import check_deadline, default_deadline
from marketplace.procurement.eligibility import bid_problems
from marketplace.procurement.events import index_announcement, request_event
from marketplace.procurement.models import (
    CONTENT_MAX,
    PERSON_MAX,
    REASON_MAX,
    SCALE_MAX,
    TITLE_MAX,
    ApprovalCase,
    CaseStatus,
    Exclusion,
    PurchaseRequest,
    RequestStatus,
    SelectionMethod,
)
from marketplace.procurement.states import REQUEST_MACHINE

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


def _clean_phone(value, field: str) -> str:
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    if not text:
        raise DomainError(_l("This field is required."), field=field)
    if not PHONE.match(text):
        raise DomainError(_l("Enter a telephone number, e.g. 0871-12345678."), field=field)
    return text


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
