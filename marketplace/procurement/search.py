"""Purchase announcements in the full-text search (what the public announcement page shows)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.extensions import db
from marketplace.procurement.models import ApprovalCase, Exclusion, PurchaseRequest
from marketplace.procurement.services import record_text
from marketplace.search.documents import SearchDocument


def announcement_search_document(req: PurchaseRequest) -> SearchDocument | None:
    """The search document of a public announcement (None for a draft: not searchable).

    Holds only what the public page shows; never anything about bids (not even their number).
    """
    if not req.is_public:
        return None
    parts = [req.content, req.scale, req.service_item.name, req.enterprise.name,
             req.approval_case.project_name, req.approval_case.approval_item.name,
             record_text(req.selection_method.label), record_text(req.status.label)]
    if req.direct_reason:
        parts.append(req.direct_reason)
    if req.has_winner and req.awarded_org is not None:
        parts.append(req.awarded_org.name)
    if req.cancel_reason:
        parts.append(req.cancel_reason)
    return SearchDocument(
        doc_type="announcement", doc_id=req.id, title=req.title, body="\n".join(p for p in parts if p),
        url=f"/announcements/{req.id}", category=req.service_item.name, region_code=req.region_code,
        qualification_types=[q.name for q in req.required_qualifications],
        fee_max_fen=req.budget_ceiling_fen if req.is_budgeted else req.quote_max_fen,
        fee_min_fen=None if req.is_budgeted else req.quote_min_fen,
    )


# Requests read per statement when rebuilding the index.
BATCH = 500


def _query():
    """Requests with everything their document shows, loaded in a few IN queries per batch."""
    return sa.select(PurchaseRequest).options(
        selectinload(PurchaseRequest.service_item), selectinload(PurchaseRequest.enterprise),
        selectinload(PurchaseRequest.approval_case).selectinload(ApprovalCase.approval_item),
        selectinload(PurchaseRequest.awarded_org),
        selectinload(PurchaseRequest.required_qualifications),
    )


class AnnouncementSearchProvider:
    """Feeds purchase announcements to the search domain."""

    doc_type = "announcement"

    def document_for(self, doc_id: int) -> SearchDocument | None:
        req = db.session.execute(_query().where(PurchaseRequest.id == doc_id)).scalar_one_or_none()
        return announcement_search_document(req) if req is not None else None

    def all_ids(self) -> Iterable[int]:
        return db.session.execute(sa.select(PurchaseRequest.id).order_by(PurchaseRequest.id)).scalars()

    def iter_documents(self) -> Iterator[SearchDocument]:
        # In batches by id, each loaded with its relations in one IN query per relation (it
        # was one request, then its item, enterprise, case… one at a time).
        last = 0
        while True:
            requests = db.session.execute(
                _query().where(PurchaseRequest.is_public, PurchaseRequest.id > last)
                .order_by(PurchaseRequest.id).limit(BATCH)
            ).scalars().all()
            if not requests:
                return
            last = requests[-1].id
            for req in requests:
                doc = announcement_search_document(req)
                if doc is not None:
                    yield doc


def register(app) -> None:
    """Register the provider and what keeps it current (bids are never tracked)."""
    from marketplace.search.documents import register_provider
    from marketplace.search.tracking import track

    register_provider(AnnouncementSearchProvider(), app=app)
    track(PurchaseRequest, lambda req: [("announcement", req.id)])
    track(Exclusion, lambda exclusion: [("announcement", exclusion.request_id)])
