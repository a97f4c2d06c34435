"""Service items in the full-text search."""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.catalog.models import ServiceItem
from marketplace.extensions import db
from marketplace.search.documents import SearchDocument


def _document(item: ServiceItem) -> SearchDocument:
    approvals = "；".join(f"{a.name}（{a.department}）" for a in item.approval_items)
    body = "\n".join(
        part for part in (item.code, item.description, item.deliverable, approvals,
                          item.fee_document) if part
    )
    return SearchDocument(
        doc_type="service_item",
        doc_id=item.id,
        title=item.name,
        body=body,
        url=f"/services/{item.id}",
        category=item.category.name if item.category else None,
        qualification_types=[q.name for q in item.qualification_types],
        time_limit_days=item.statutory_days,
        visible=item.is_active,
    )


class ServiceItemSearchProvider:
    """The public catalogue of intermediary service items."""

    doc_type = "service_item"

    def _query(self):
        return sa.select(ServiceItem).options(
            selectinload(ServiceItem.approval_items), selectinload(ServiceItem.qualification_types),
            selectinload(ServiceItem.category),
        )

    def document_for(self, doc_id: int) -> SearchDocument | None:
        item = db.session.execute(self._query().where(ServiceItem.id == doc_id)).scalar_one_or_none()
        if item is None or not item.is_active:
            return None
        return _document(item)

    def all_ids(self):
        return db.session.execute(sa.select(ServiceItem.id)).scalars().all()

    def iter_documents(self) -> Iterator[SearchDocument]:
        for item in db.session.execute(self._query().where(ServiceItem.is_active.is_(True))).scalars():
            yield _document(item)


def register(app) -> None:
    """Register the provider and what keeps it current."""
    from marketplace.search.documents import register_provider
    from marketplace.search.tracking import track

    register_provider(ServiceItemSearchProvider(), app=app)
    # An item's name or requirements show on its agencies' listings too.
    track(ServiceItem, lambda item: [("service_item", item.id), ("listings_of_item", item.id)])
