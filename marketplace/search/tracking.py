"""Keep the index following the data without every service having to remember to enqueue.

A domain declares which of its models feed which documents::

    track(Listing, lambda listing: [("listing", listing.id), ("agency", listing.organisation_id)])

After each flush the touched objects' keys are collected; just before the transaction commits
they are written to the search queue in that same transaction (so the intent commits with the
change, and a rollback queues nothing). Expanders turn one key into many (an agency whose
qualification changed → all its listings).

A conditional ``UPDATE ... WHERE status = :expected`` (the state machine, version checks) and a
bulk ``DELETE`` change rows without passing through the session's dirty set, so they are caught
where they are executed: the rows the statement's WHERE clause selects are read first and their
keys collected like a flushed object's.
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


def _tracked_model(statement) -> type | None:
    table = getattr(statement, "table", None)
    if table is None:
        return None
    for model in _TRACKED:
        local = sa.inspect(model).local_table
        if table is local or getattr(table, "name", None) == local.name:
            return model
    return None


def _collect(session: Session, objs) -> None:
    touched = session.info.setdefault(TOUCHED, set())
    for obj in objs:
        if obj is None:
            continue
        try:
            touched.update((str(t), int(i)) for t, i in _TRACKED[type(obj)](obj) if i is not None)
        except (TypeError, ValueError):
            continue


def _on_orm_execute(state) -> object | None:
    """Collect the keys of tracked rows that an UPDATE or DELETE statement changes."""
    if not (state.is_update or state.is_delete):
        return None
    model = _tracked_model(state.statement)
    if model is None:
        return None
    session = state.session
    mapper = sa.inspect(model)
    pk_cols = list(mapper.primary_key)
    params = state.parameters
    if isinstance(params, list | tuple) and params and state.statement.whereclause is None:
        # ORM bulk UPDATE by primary key: the rows are named in the parameters.
        names = [mapper.get_property_by_column(c).key for c in pk_cols]
        pks = [tuple(p.get(n) for n in names) for p in params]
    else:
        select = sa.select(*pk_cols)
        if state.statement.whereclause is not None:
            select = select.where(state.statement.whereclause)
        if session.get_bind(mapper=mapper).dialect.name == "postgresql":
            # Lock what the statement is about to change, so the rows read are the rows changed.
            select = select.with_for_update()
        bind_params = params if isinstance(params, dict) else None
        pks = [tuple(row) for row in session.execute(select, bind_params).all()]
    if not pks:
        return None
    idents = [pk[0] if len(pk) == 1 else pk for pk in pks]
    if state.is_delete:
        # Read the keys before the rows disappear; objects loaded only for this are let go.
        loaded = set(session.identity_map.keys())
        objs = [session.get(model, ident) for ident in idents]
        _collect(session, objs)
        for obj in objs:
            if obj is not None and sa.inspect(obj).identity_key not in loaded:
                session.expunge(obj)
        return None
    result = state.invoke_statement()
    _collect(session, [session.get(model, ident) for ident in idents])
    return result


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
        sa.event.listen(Session, "do_orm_execute", _on_orm_execute)
        sa.event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))
