"""Queueing a document change for the index, inside the caller's transaction.

Shared by :mod:`marketplace.search.services` (which re-exports :func:`enqueue` for the other
domains) and :mod:`marketplace.search.indexing` (which processes the queue after commit); it
imports neither, so the two never import each other in a circle.
"""

from __future__ import annotations

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.search import store
from marketplace.search.documents import DocType
from marketplace.search.models import SearchQueueEntry

# Session-info key of the (doc_type, doc_id) keys enqueued in the current transaction.
PENDING = "search_pending"


def enqueue(doc_type: str, doc_id: int) -> None:
    """Queue a document for indexing once the current transaction commits (never commits).

    Safe to call many times for one document and from concurrent transactions: the queue holds
    one row per document whose version goes up.

    Raises:
        ValueError: ``doc_type`` is not a known document type.
    """
    doc_type = str(DocType(doc_type))
    doc_id = int(doc_id)
    table = SearchQueueEntry.__table__
    stmt = store.insert_statement(table).values(
        doc_type=doc_type, doc_id=doc_id, version=1, enqueued_at=utcnow(), attempts=0
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["doc_type", "doc_id"],
        set_={"version": table.c.version + 1, "enqueued_at": stmt.excluded.enqueued_at},
    )
    db.session.execute(stmt)
    db.session.info.setdefault(PENDING, set()).add((doc_type, doc_id))


def enqueue_many(doc_type: str, doc_ids) -> None:
    """:func:`enqueue` for several documents of one type."""
    for doc_id in doc_ids:
        enqueue(doc_type, doc_id)
