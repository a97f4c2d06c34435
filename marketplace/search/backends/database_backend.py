"""The LIKE back-end: a plain scan of ``search_documents``, used while the configured back-end
cannot answer. Also the base of the PostgreSQL back-end, which shares its filters and facets.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.search.analysis import ParsedQuery
from marketplace.search.backends import BackendResult, Hit, SearchFilters
from marketplace.search.documents import SearchDocument
from marketplace.search.models import IndexedDocument, split_quals

T = IndexedDocument.__table__.c

FACET_COLUMNS = {
    "doc_type": T.doc_type,
    "category": T.category,
    "region_code": T.region_code,
    "credit_grade": T.credit_grade,
    "fee": T.fee_bucket,
    "time": T.time_bucket,
}
NO_FEE = 2**62


def like_pattern(word: str) -> str:
    """``%word%`` with LIKE's wildcards escaped (escape character: backslash)."""
    return "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


class _NoopWriter:
    def apply(self, upserts, deletes) -> None:
        """Nothing to do: the document store is this back-end's index."""


class SqlBackend:
    """Shared by the SQL back-ends: filters, facets, ordering and hit building."""

    name = "sql"
    keeps_own_index = False

    # -- to be provided by subclasses
    def match(self, query: ParsedQuery):
        raise NotImplementedError

    def score(self, query: ParsedQuery):
        raise NotImplementedError

    # -- shared
    def filter_conditions(self, filters: SearchFilters) -> list:
        conds = []
        for name, value in filters.active().items():
            if name == "qualification":
                conds.append(T.qualification_types.like(like_pattern(f"|{value}|"), escape="\\"))
            else:
                conds.append(FACET_COLUMNS[name] == value)
        return conds

    def where(self, query: ParsedQuery, filters: SearchFilters) -> list:
        conds = self.filter_conditions(filters)
        if not query.is_empty:
            conds.append(self.match(query))
        return conds

    def search(self, query: ParsedQuery, filters: SearchFilters, *, offset: int, limit: int,
               facets: bool = True) -> BackendResult:
        conds = self.where(query, filters)
        score = self.score(query) if not query.is_empty else sa.literal(0.0)
        rows = db.session.execute(
            sa.select(T.doc_type, T.doc_id, T.title, T.body, T.url, T.category, T.region_code,
                      T.qualification_types, T.credit_grade, T.fee_min_fen, T.fee_max_fen,
                      T.time_limit_days, score.label("score"))
            .where(*conds)
            .order_by(sa.desc("score"), T.credit_rank, sa.func.coalesce(T.fee_min_fen, NO_FEE),
                      T.doc_type, T.doc_id)
            .offset(offset).limit(limit)
        ).all()
        total = db.session.execute(
            sa.select(sa.func.count()).select_from(IndexedDocument.__table__).where(*conds)
        ).scalar_one()
        hits = [
            Hit(doc_type=r.doc_type, doc_id=r.doc_id, title=r.title, body=r.body, url=r.url,
                score=float(r.score or 0), category=r.category, region_code=r.region_code,
                qualification_types=split_quals(r.qualification_types), credit_grade=r.credit_grade,
                fee_min_fen=r.fee_min_fen, fee_max_fen=r.fee_max_fen, time_limit_days=r.time_limit_days)
            for r in rows
        ]
        return BackendResult(hits, total, self.facet_counts(conds) if facets and total else {})

    def count(self, query: ParsedQuery, filters: SearchFilters) -> int:
        return db.session.execute(
            sa.select(sa.func.count()).select_from(IndexedDocument.__table__)
            .where(*self.where(query, filters))
        ).scalar_one()

    def facet_counts(self, conds: list) -> dict[str, dict[str, int]]:
        """Counts per facet value over the matching documents (one GROUP BY per facet)."""
        result: dict[str, dict[str, int]] = {}
        for name, column in FACET_COLUMNS.items():
            rows = db.session.execute(
                sa.select(column, sa.func.count()).where(*conds, column.is_not(None)).group_by(column)
            ).all()
            result[name] = {value: n for value, n in rows}
        rows = db.session.execute(
            sa.select(T.qualification_types, sa.func.count())
            .where(*conds, T.qualification_types != "").group_by(T.qualification_types)
        ).all()
        result["qualification"] = expand_quals(rows)
        return result

    @contextmanager
    def writing(self, lock_timeout: float) -> Iterator[_NoopWriter]:
        yield _NoopWriter()

    def rebuild(self, documents: Iterable[SearchDocument], *, lock_timeout: float = 0) -> int:
        """Nothing to rebuild: the document store is the index."""
        return 0

    def needs_rebuild(self) -> bool:
        return False


def expand_quals(rows) -> dict[str, int]:
    """Per-qualification counts from (``|a|b|``, count) rows."""
    counter: Counter[str] = Counter()
    for stored, n in rows:
        for value in split_quals(stored):
            counter[value] += n
    return dict(counter)


class DatabaseBackend(SqlBackend):
    """Substring search with LIKE: slow on big tables, but needs no index at all."""

    name = "database"

    def match(self, query: ParsedQuery):
        # Each word, or one of its synonyms, somewhere in the title, keywords or body.
        conds = []
        for variants in query.word_variants:
            conds.append(sa.or_(*(
                col.ilike(like_pattern(word), escape="\\")
                for word in variants for col in (T.title, T.keywords, T.body)
            )))
        return sa.and_(*conds)

    def score(self, query: ParsedQuery):
        # Words found in the title count double; enough to put title hits first.
        parts = [
            sa.case((sa.or_(*(T.title.ilike(like_pattern(w), escape="\\") for w in variants)), 2),
                    else_=1)
            for variants in query.word_variants
        ]
        return sa.cast(sum(parts[1:], parts[0]), sa.Float)
