"""The canonical document store (``search_documents``), kept by the queue processor for every
back-end: PostgreSQL and the LIKE fallback search it, a damaged Whoosh index is rebuilt from it.
"""

from __future__ import annotations

from collections.abc import Iterator

import sqlalchemy as sa

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.search.analysis import index_terms
from marketplace.search.documents import SearchDocument
from marketplace.search.models import IndexedDocument, SearchQueueEntry, join_quals, split_quals

_TABLE = IndexedDocument.__table__


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def insert_statement(table):
    """INSERT … ON CONFLICT for the current dialect (SQLite and PostgreSQL share the syntax)."""
    if _dialect() == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(table)


def row_values(doc: SearchDocument) -> dict:
    """The column values of a document (without the tsvector)."""
    return {
        "doc_type": doc.doc_type, "doc_id": doc.doc_id, "title": doc.title, "body": doc.body,
        "url": doc.url, "keywords": doc.keywords, "category": doc.category, "region_code": doc.region_code,
        "qualification_types": join_quals(doc.qualification_types),
        "credit_grade": doc.credit_grade, "credit_rank": doc.credit_rank,
        "fee_min_fen": doc.fee_min_fen, "fee_max_fen": doc.fee_max_fen,
        "time_limit_days": doc.time_limit_days, "fee_bucket": doc.fee_bucket,
        "time_bucket": doc.time_bucket, "indexed_at": utcnow(),
    }


def save_documents(docs: list[SearchDocument]) -> None:
    """Insert or replace the rows of ``docs`` (flushes, never commits)."""
    if not docs:
        return
    pg = _dialect() == "postgresql"
    params = []
    for doc in docs:
        values = row_values(doc)
        if pg:
            # bindparam() may not reuse a column's name in an INSERT: prefix them.
            values = {f"p_{name}": value for name, value in values.items()}
            values["p_title_terms"] = " ".join(index_terms(doc.title))
            values["p_keyword_terms"] = " ".join(index_terms(doc.keywords))
            values["p_body_terms"] = " ".join(index_terms(doc.body))
        params.append(values)
    stmt = insert_statement(_TABLE)
    if pg:
        def weighted(param: str, weight: str):
            return sa.func.setweight(
                sa.func.to_tsvector(sa.literal_column("'simple'::regconfig"), sa.bindparam(param)),
                sa.literal_column(f"'{weight}'"),
            )

        tsv = (
            weighted("p_title_terms", "A")
            .op("||")(weighted("p_keyword_terms", "B"))
            .op("||")(weighted("p_body_terms", "C"))
        )
        stmt = stmt.values(
            {c.name: sa.bindparam(f"p_{c.name}") for c in _TABLE.c if c.name not in ("id", "tsv")} | {"tsv": tsv}
        )
    updated = [c.name for c in _TABLE.c if c.name not in ("id", "doc_type", "doc_id")]
    if not pg:
        updated.remove("tsv")
    stmt = stmt.on_conflict_do_update(
        index_elements=["doc_type", "doc_id"],
        set_={name: stmt.excluded[name] for name in updated},
    )
    if pg:
        for start in range(0, len(params), 500):
            db.session.execute(stmt, params[start : start + 500])
    else:
        db.session.execute(stmt, params)


def remove_documents(keys: list[tuple[str, int]]) -> None:
    """Delete the rows of ``keys`` (flushes, never commits)."""
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        db.session.execute(
            sa.delete(IndexedDocument).where(
                sa.tuple_(IndexedDocument.doc_type, IndexedDocument.doc_id).in_(chunk)
            )
        )


def existing_keys(keys: list[tuple[str, int]]) -> set[tuple[str, int]]:
    """Which of ``keys`` have a row."""
    if not keys:
        return set()
    rows = db.session.execute(
        sa.select(IndexedDocument.doc_type, IndexedDocument.doc_id).where(
            sa.tuple_(IndexedDocument.doc_type, IndexedDocument.doc_id).in_(keys)
        )
    )
    return {(r.doc_type, r.doc_id) for r in rows}


def key_states(keys: list[tuple[str, int]], *, stored: bool = True
               ) -> tuple[set[tuple[str, int]], set[tuple[str, int]]]:
    """(which of ``keys`` have a row, which have a change queued), in one round trip.

    With ``stored=False`` only the queue is asked (the first set is then empty).
    """
    if not keys:
        return set(), set()
    queued = sa.select(
        SearchQueueEntry.doc_type, SearchQueueEntry.doc_id, sa.literal("q").label("src")
    ).where(sa.tuple_(SearchQueueEntry.doc_type, SearchQueueEntry.doc_id).in_(keys))
    stmt = queued
    if stored:
        stmt = sa.union_all(
            sa.select(IndexedDocument.doc_type, IndexedDocument.doc_id, sa.literal("s").label("src"))
            .where(sa.tuple_(IndexedDocument.doc_type, IndexedDocument.doc_id).in_(keys)),
            queued,
        )
    existing: set[tuple[str, int]] = set()
    waiting: set[tuple[str, int]] = set()
    for doc_type, doc_id, src in db.session.execute(stmt):
        (existing if src == "s" else waiting).add((doc_type, doc_id))
    return existing, waiting


def iter_documents(batch: int = 2000) -> Iterator[SearchDocument]:
    """Every stored document, streamed in id order (keyset pagination, no long cursor)."""
    columns = [c for c in _TABLE.c if c.name != "tsv"]
    last = 0
    while True:
        rows = db.session.execute(
            sa.select(*columns).where(_TABLE.c.id > last).order_by(_TABLE.c.id).limit(batch)
        ).all()
        if not rows:
            return
        for row in rows:
            yield document_from_row(row)
        last = rows[-1].id


def document_from_row(row) -> SearchDocument:
    """A :class:`SearchDocument` from a ``search_documents`` row (ORM object or result row)."""
    return SearchDocument(
        doc_type=row.doc_type, doc_id=row.doc_id, title=row.title, body=row.body, url=row.url,
        category=row.category, region_code=row.region_code,
        qualification_types=split_quals(row.qualification_types), credit_grade=row.credit_grade,
        fee_min_fen=row.fee_min_fen, fee_max_fen=row.fee_max_fen,
        time_limit_days=row.time_limit_days,
    )


def count_documents() -> int:
    """How many documents the store holds."""
    return db.session.execute(sa.select(sa.func.count()).select_from(IndexedDocument)).scalar_one()
