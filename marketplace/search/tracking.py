"""Keep the index following the data without every service having to remember to enqueue.

A domain declares which of its models feed which documents::

    track(Listing, lambda listing: [("listing", listing.id), ("agency", listing.organisation_id)])

After each flush the touched objects' keys are collected; just before the transaction commits
they are written to the search queue in that same transaction (so the intent commits with the
change, and a rollback queues nothing). Expanders turn one key into many (an agency whose
qualification changed → all its listings).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import sqlalchemy as sa
from sqlalchemy.orm import Session

_TRACKED: dict[type, Callable[[object], Iterable[tuple[str, int]]]] = {}
_EXPANDERS: dict[str, Callable[[set[int]], Iterable[tuple[str, int]]]] = {}
TOUCHED = "search_touched"


def track(model: type, keys: Callable[[object], Iterable[tuple[str, int]]]) -> None:
    """Declare that changes to ``model`` rows affect the documents ``keys(obj)`` returns."""
    _TRACKED[model] = keys


def expand(kind: str, expander: Callable[[set[int]], Iterable[tuple[str, int]]]) -> None:
    """Declare a pseudo document type whose ids expand into real keys at commit time."""
    _EXPANDERS[kind] = expander


def _after_flush(session: Session, _context) -> None:
    touched = session.info.setdefault(TOUCHED, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        keys = _TRACKED.get(type(obj))
        if keys is None:
            continue
        try:
            touched.update((str(t), int(i)) for t, i in keys(obj) if i is not None)
        except (TypeError, ValueError):
            continue


def _before_commit(session: Session) -> None:
    if not session.info.get(TOUCHED) and not (session.new or session.dirty or session.deleted):
        return
    session.flush()
    touched = session.info.pop(TOUCHED, set())
    if not touched:
        return
    from marketplace.search.services import enqueue

    final: set[tuple[str, int]] = set()
    by_kind: dict[str, set[int]] = {}
    for doc_type, doc_id in touched:
        if doc_type in _EXPANDERS:
            by_kind.setdefault(doc_type, set()).add(doc_id)
        else:
            final.add((doc_type, doc_id))
    for kind, ids in by_kind.items():
        final.update(_EXPANDERS[kind](ids))
    for doc_type, doc_id in sorted(final):
        enqueue(doc_type, doc_id)


def _after_rollback(session: Session) -> None:
    session.info.pop(TOUCHED, None)


def install() -> None:
    """Attach the listeners once per process (idempotent)."""
    if not sa.event.contains(Session, "after_flush", _after_flush):
        sa.event.listen(Session, "after_flush", _after_flush)
        sa.event.listen(Session, "before_commit", _before_commit)
        sa.event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
