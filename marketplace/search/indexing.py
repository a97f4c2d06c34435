"""Keeping the index in step with the data, after commit and never from inside a transaction.

``enqueue`` writes a ``search_queue`` row in the caller's transaction. When that transaction
commits, a session hook notes the keys, and at the end of the request (or app context) they are
processed: the provider builds the document, ``search_documents`` is updated and the Whoosh
index is written. If anything fails the entries stay queued; the ``search.process_queue`` job
and ``flask search process-queue`` take whatever is left, and ``flask search reindex``
rebuilds everything from the providers.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import sqlalchemy as sa

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.search import store
from marketplace.search.backends import BackendUnavailable, get_backend
from marketplace.search.documents import SearchDocument, get_provider, providers
from marketplace.search.models import IndexedDocument, SearchQueueEntry
from marketplace.search.queueing import PENDING

log = logging.getLogger(__name__)

COMMITTED = "search_committed"
Q = SearchQueueEntry.__table__


@dataclass
class QueueResult:
    """What one run of the queue did."""

    indexed: int = 0
    removed: int = 0
    failed: int = 0
    skipped: int = 0  # no provider registered for the type: left queued
    deferred: int = 0  # stored, but the index was locked or damaged: left queued

    @property
    def processed(self) -> int:
        return self.indexed + self.removed


def _claim(conds: list, after_id: int, limit: int) -> tuple[list, int | None]:
    """Lock up to ``limit`` entries after ``after_id``; returns them and the last id seen.

    PostgreSQL: ``FOR UPDATE SKIP LOCKED``, so two processors never take the same entry and an
    entry being re-enqueued waits for us. SQLite: a first write takes the database write lock,
    so nothing commits between our reads of the documents and our commit.
    """
    columns = (Q.c.id, Q.c.doc_type, Q.c.doc_id, Q.c.version)
    base = sa.select(*columns).where(Q.c.id > after_id, *conds).order_by(Q.c.id).limit(limit)
    if db.session.get_bind().dialect.name == "postgresql":
        rows = db.session.execute(base.with_for_update(skip_locked=True)).all()
        return rows, (rows[-1].id if rows else None)
    ids = db.session.execute(
        sa.select(Q.c.id).where(Q.c.id > after_id, *conds).order_by(Q.c.id).limit(limit)
    ).scalars().all()
    if not ids:
        return [], None
    db.session.execute(sa.update(Q).where(Q.c.id.in_(ids)).values(attempts=Q.c.attempts))
    rows = db.session.execute(sa.select(*columns).where(Q.c.id.in_(ids)).order_by(Q.c.id)).all()
    return rows, ids[-1]


def _record_failures(failures: dict[int, str]) -> None:
    for entry_id, error in failures.items():
        db.session.execute(
            sa.update(Q).where(Q.c.id == entry_id)
            .values(attempts=Q.c.attempts + 1, last_error=error[:500])
        )


def _process_batch(entries, backend, lock_timeout: float, result: QueueResult) -> None:
    upserts: list[SearchDocument] = []
    deletes: list[tuple[str, int]] = []
    done = []
    failures: dict[int, str] = {}
    for entry in entries:
        provider = get_provider(entry.doc_type)
        if provider is None:
            result.skipped += 1
            continue
        try:
            doc = provider.document_for(entry.doc_id)
        except sa.exc.SQLAlchemyError:
            raise  # the session is unusable: fail the batch
        except Exception as exc:  # noqa: BLE001 - one bad document must not block the others
            log.exception("search provider %s failed for %s", entry.doc_type, entry.doc_id)
            failures[entry.id] = repr(exc)
            continue
        if doc is not None and (doc.doc_type, doc.doc_id) != (entry.doc_type, entry.doc_id):
            failures[entry.id] = f"provider returned {doc.key} for {entry.doc_type}:{entry.doc_id}"
            continue
        if doc is None or not doc.visible:
            deletes.append((entry.doc_type, entry.doc_id))
        else:
            upserts.append(doc)
        done.append(entry)
    store.save_documents(upserts)
    store.remove_documents(deletes)
    _record_failures(failures)
    result.failed += len(failures)
    try:
        with backend.writing(lock_timeout) as writer:
            writer.apply(upserts, deletes)
            if done:
                # Only the version we read: a change enqueued meanwhile stays for the next run.
                db.session.execute(
                    sa.delete(Q).where(Q.c.id == sa.bindparam("eid"), Q.c.version == sa.bindparam("ver")),
                    [{"eid": e.id, "ver": e.version} for e in done],
                )
            db.session.commit()
    except BackendUnavailable as exc:
        # The store is current (the fallback and a rebuild read it); the index catches up later.
        log.warning("search index not written (%s); %d entries stay queued", exc, len(done))
        db.session.commit()
        result.deferred += len(done)
        return
    result.indexed += len(upserts)
    result.removed += len(deletes)


def process_queue(*, keys=None, limit: int = 200, lock_timeout: float = 10.0) -> QueueResult:
    """Index queued changes (all, or only ``keys``); commits after each batch.

    Call it outside any unit of work. A failing batch is rolled back and its entries stay queued
    with ``attempts`` and ``last_error`` set.
    """
    result = QueueResult()
    backend = get_backend()
    key_list = sorted(set(keys)) if keys is not None else None
    chunks = (
        [[]] if key_list is None
        else [key_list[i : i + limit] for i in range(0, len(key_list), limit)]
    )
    for chunk in chunks:
        conds = [sa.tuple_(Q.c.doc_type, Q.c.doc_id).in_(chunk)] if chunk else []
        after_id = 0
        while True:
            entries, last_id = _claim(conds, after_id, limit)
            if last_id is None:
                break
            after_id = last_id
            if not entries:
                db.session.rollback()
                continue
            try:
                _process_batch(entries, backend, lock_timeout, result)
            except Exception as exc:  # noqa: BLE001 - entries stay queued for the next run
                db.session.rollback()
                log.exception("search queue batch failed")
                _record_failures({e.id: repr(exc) for e in entries})
                db.session.commit()
                result.failed += len(entries)
    return result


def process_committed() -> QueueResult | None:
    """Process what this session's committed transactions enqueued (the post-request hook)."""
    if not db.session.registry.has():
        return None
    keys = db.session.info.pop(COMMITTED, None)
    if not keys:
        return None
    try:
        # Anything uncommitted now would be discarded at teardown anyway.
        db.session.rollback()
        return process_queue(keys=keys, lock_timeout=2.0)
    except Exception:  # noqa: BLE001 - best effort: the job processes what is left
        db.session.rollback()
        log.exception("processing the search queue after commit failed")
        return None


def _after_commit(session) -> None:
    pending = session.info.pop(PENDING, None)
    if pending:
        session.info.setdefault(COMMITTED, set()).update(pending)


def _after_rollback(session) -> None:
    session.info.pop(PENDING, None)


def _teardown(_exc=None) -> None:
    process_committed()


def init_app(app) -> None:
    """Install the after-commit hooks (called once per app when the blueprint registers)."""
    if not sa.event.contains(db.session, "after_commit", _after_commit):
        sa.event.listen(db.session, "after_commit", _after_commit)
        sa.event.listen(db.session, "after_rollback", _after_rollback)
    app.teardown_request(_teardown)
    app.teardown_appcontext(_teardown)


def rebuild_index(*, lock_timeout: float = 600.0) -> int:
    """Rebuild the back-end's own index (Whoosh) from the document store; 0 for SQL back-ends."""
    backend = get_backend()
    if not backend.keeps_own_index:
        return 0
    return backend.rebuild(store.iter_documents(), lock_timeout=lock_timeout)


def reindex_all(doc_types: list[str] | None = None, *, batch: int = 1000) -> dict[str, int]:
    """Rebuild the store from every registered provider, then the index from the store.

    Rows of a type the providers no longer yield are removed; types without a provider are kept.
    """
    started = utcnow()
    counts: dict[str, int] = {}
    for doc_type, provider in providers().items():
        if doc_types and doc_type not in doc_types:
            continue
        count, chunk = 0, []
        for doc in provider.iter_documents():
            if doc.visible:
                chunk.append(doc)
            if len(chunk) >= batch:
                store.save_documents(chunk)
                db.session.commit()
                count, chunk = count + len(chunk), []
        store.save_documents(chunk)
        count += len(chunk)
        db.session.execute(
            sa.delete(IndexedDocument).where(
                IndexedDocument.doc_type == doc_type, IndexedDocument.indexed_at < started
            )
        )
        db.session.commit()
        counts[doc_type] = count
    rebuild_index()
    return counts


def check_index() -> bool:
    """Whether the back-end can answer; a damaged Whoosh index is marked for rebuilding."""
    backend = get_backend()
    if not backend.keeps_own_index:
        return True
    if backend.needs_rebuild():
        return False
    try:
        backend.doc_count()
    except Exception:  # noqa: BLE001 - any failure to read means damaged
        backend.mark_rebuild("the index cannot be opened")
        return False
    return True


def queue_length() -> int:
    return db.session.execute(sa.select(sa.func.count()).select_from(Q)).scalar_one()
