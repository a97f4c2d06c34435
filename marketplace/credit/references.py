"""What a reference points to: the contract, approval case, complaint, request, rating or sanction
behind a credit input or a piece of sanction evidence, its public number and its public page.

The referenced tables belong to other domains; this module is the one place that reads them for a
reference, when one is entered (``resolve``: what a regulator typed, a number or an id) and when
one is shown (``describe``: the number with a link, never a database id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sqlalchemy as sa
from flask import g, has_app_context, has_request_context, url_for
from werkzeug.routing import BuildError

from marketplace.core.text import is_db_id
from marketplace.credit.models import RefType
from marketplace.extensions import db

# The public numbers whose digits are the primary key: CG000012-1, TS000003, CF000007.
_KEYED_NUMBERS = {
    RefType.PURCHASE_REQUEST: re.compile(r"CG(\d{1,10})(?:-\d{1,4})?", re.IGNORECASE),
    RefType.COMPLAINT: re.compile(r"TS(\d{1,10})", re.IGNORECASE),
    RefType.SANCTION: re.compile(r"CF(\d{1,10})", re.IGNORECASE),
}


@dataclass(frozen=True)
class Resolved:
    """The object a typed number or id stands for."""

    object_type: RefType
    object_id: str  # its primary key, as text
    number: str  # its public number ("" for a rating or a delivery, which have none)
    obj: object

    @property
    def contract_id(self) -> int | None:
        return int(self.object_id) if self.object_type is RefType.CONTRACT else None

    @property
    def approval_case_id(self) -> int | None:
        return int(self.object_id) if self.object_type is RefType.APPROVAL_CASE else None


def _model(kind: RefType):
    from marketplace.complaints.models import Complaint
    from marketplace.contracts.models import Contract
    from marketplace.delivery.models import Delivery
    from marketplace.procurement.models import ApprovalCase, PurchaseRequest
    from marketplace.ratings.models import Rating
    from marketplace.sanctions.models import SanctionCase

    return {
        RefType.CONTRACT: Contract,
        RefType.APPROVAL_CASE: ApprovalCase,
        RefType.PURCHASE_REQUEST: PurchaseRequest,
        RefType.COMPLAINT: Complaint,
        RefType.SANCTION: SanctionCase,
        RefType.RATING: Rating,
        RefType.DELIVERY: Delivery,
    }.get(kind)


def _number_of(kind: RefType, obj) -> str:
    if kind is RefType.CONTRACT:
        return obj.contract_no
    if kind is RefType.APPROVAL_CASE:
        return obj.case_number
    if kind in (RefType.PURCHASE_REQUEST, RefType.COMPLAINT, RefType.SANCTION):
        return obj.reference
    return ""


def _by_id(model, text: str):
    if not (text.isascii() and text.isdigit()) or len(text) > 10 or not is_db_id(int(text)):
        return None
    return db.session.get(model, int(text))


def _by_number(kind: RefType, model, text: str):
    import sqlalchemy as sa

    numbers = g.get("_credit_ref_numbers", {}) if has_app_context() else {}
    if (kind, text) in numbers:  # looked up with the rest of the page by preload()
        return numbers[kind, text]
    if kind is RefType.CONTRACT:
        return db.session.execute(
            sa.select(model).where(model.contract_no == text)
        ).scalar_one_or_none()
    if kind is RefType.APPROVAL_CASE:
        return db.session.execute(
            sa.select(model).where(model.case_number == text)
        ).scalar_one_or_none()
    pattern = _KEYED_NUMBERS.get(kind)
    match = pattern.fullmatch(text) if pattern else None
    if match is None:
        return None
    obj = _by_id(model, str(int(match.group(1))))
    # CG000012-2 names round 2 of request 12: another round is not this announcement.
    if obj is not None and "-" in text and _number_of(kind, obj).upper() != text.upper():
        return None
    return obj


def resolve(kind, typed) -> Resolved | None:
    """The object of ``kind`` that ``typed`` (its public number, or its id) stands for, or None.

    A number is tried first: a contract or case number made of digits only is a number, not an id.
    ``other`` records are free text and never resolve.
    """
    kind = RefType(getattr(kind, "value", kind))
    text = str(typed or "").strip()
    model = _model(kind)
    if model is None or not text:
        return None
    obj = _by_number(kind, model, text) or _by_id(model, text)
    if obj is None:
        return None
    return Resolved(kind, str(obj.id), _number_of(kind, obj), obj)


def _case_page_for_viewer(case) -> str | None:
    """The case's own page, for a signed-in user who may see it (it has no public page)."""
    from flask_login import current_user

    from marketplace.procurement.services import can_view_case

    if not has_request_context() or not getattr(current_user, "is_authenticated", False):
        return None
    return (
        url_for("procurement.case", case_id=case.id) if can_view_case(current_user, case) else None
    )


def _public_url(kind: RefType, obj) -> str | None:
    from marketplace.ratings.models import RatingStatus
    from marketplace.sanctions.models import PUBLIC_STATUSES as SANCTION_PUBLIC

    if kind is RefType.CONTRACT:
        if obj.in_force_at is not None:
            return url_for("contracts.certificate", contract_no=obj.contract_no)
        return url_for("procurement.announcement", request_id=obj.request_id)
    if kind is RefType.APPROVAL_CASE:
        public = [r for r in obj.requests if r.is_public]
        if public:
            return url_for("procurement.announcement", request_id=public[-1].id)
        return _case_page_for_viewer(obj)
    if kind is RefType.PURCHASE_REQUEST:
        return (
            url_for("procurement.announcement", request_id=obj.id)
            if obj.is_public
            else None
        )
    if kind is RefType.SANCTION:
        return url_for("sanctions.case", case_id=obj.id) if obj.status in SANCTION_PUBLIC else None
    if kind is RefType.RATING:
        return (
            url_for("ratings.organisation", org_id=obj.subject_org_id)
            if obj.status is RatingStatus.REVEALED
            else None
        )
    return None


@dataclass(frozen=True)
class Described:
    """How a reference reads on a page: its kind, its number (or name) and its public page."""

    kind_label: str
    number: str
    url: str | None

    @property
    def text(self) -> str:
        return f"{self.kind_label} {self.number}".strip()


def preload(refs) -> None:
    """Load the records ``refs`` ((object_type, object_id) pairs) name, one statement per kind
    (and per relationship their public page reads), so that describing a page of ledger entries
    does not look each one up. The records are kept for the request (the session holds them
    weakly)."""
    from sqlalchemy.orm import selectinload

    wanted: dict[RefType, set[int]] = {}
    for object_type, object_id in refs:
        try:
            kind = RefType(getattr(object_type, "value", object_type))
        except ValueError:
            continue
        text = str(object_id or "")
        model = _model(kind)
        if model is not None and text.isascii() and text.isdigit() and len(text) <= 10 and is_db_id(int(text)):
            wanted.setdefault(kind, set()).add(int(text))
    kept = g.setdefault("_credit_ref_objects", []) if has_app_context() else []
    numbers = g.setdefault("_credit_ref_numbers", {}) if has_app_context() else {}
    for kind, column in ((RefType.CONTRACT, "contract_no"), (RefType.APPROVAL_CASE, "case_number")):
        # resolve() tries a contract or case number before an id: answer those lookups too.
        texts = {str(i) for i in wanted.get(kind, ())}
        if texts:
            model = _model(kind)
            found = {getattr(o, column): o for o in db.session.execute(
                sa.select(model).where(getattr(model, column).in_(sorted(texts)))).scalars()}
            kept.extend(found.values())
            numbers.update({(kind, t): found.get(t) for t in texts})
    for kind, ids in wanted.items():
        model = _model(kind)
        stmt = sa.select(model).where(model.id.in_(sorted(ids)))
        if kind is RefType.APPROVAL_CASE:
            stmt = stmt.options(selectinload(model.requests))
        kept.extend(db.session.execute(stmt).scalars().all())


def describe(object_type, object_id, label: str = "") -> Described:
    """The reference as the public reads it; never a database id.

    Looked up by id (or by the number a regulator typed before numbers were resolved at entry);
    a reference that matches nothing reads as its label, or as what was typed if that was not an
    id. Cached per request.
    """
    from marketplace.ratings.models import RatingRole

    try:
        kind = RefType(getattr(object_type, "value", object_type))
    except ValueError:
        return Described(str(object_type), str(label), None)
    key = (kind, str(object_id), label or "")
    cache = g.setdefault("_credit_refs", {}) if has_app_context() else {}
    if key in cache:
        return cache[key]
    text = str(object_id or "")
    found = resolve(kind, text) if kind is not RefType.OTHER else None
    url = None
    if found is not None:
        try:
            url = _public_url(kind, found.obj)
        except BuildError:
            url = None
        number = found.number
        if kind is RefType.RATING:
            number = str(found.obj.role.label)
    elif kind is RefType.RATING and label in RatingRole.__members__.values():
        number = str(RatingRole(label).label)
    else:
        number = label or ("" if text.isdigit() else text)
    kind_label = "" if kind is RefType.RATING else str(kind.label)
    if kind is RefType.OTHER:
        kind_label, number = "", label or text
    cache[key] = result = Described(kind_label, number, url)
    return result
