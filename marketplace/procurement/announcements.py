"""Reading the public record: the list of announcements and its filters, a request as a user may
see it, when the result (ranking, revealed prices) is public, the award history and the result
announcement as public JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload

from marketplace.catalog.models import ServiceItem
from marketplace.core.errors import NotFound
from marketplace.extensions import db
from marketplace.procurement._common import get_by_id
from marketplace.procurement.award import award_is_final
from marketplace.procurement.evaluation import _bids_of
from marketplace.procurement.models import Bid, PurchaseRequest, RequestStatus, SelectionMethod


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
