"""The LIKE back-end: a plain scan of ``search_documents``, used while the configured back-end
cannot answer. Also the base of the PostgreSQL back-end, which shares its filters, facets,
caps and ordering.
"""

from __future__ import annotations

import heapq
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from operator import itemgetter

import sqlalchemy as sa

from marketplace.extensions import db
from marketplace.search.analysis import ParsedQuery
from marketplace.search.backends import BackendResult, Hit, SearchFilters, match_cap
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
        """Ranked hits, the total and the facets from one read of at most ``SEARCH_MATCH_CAP``
        + 1 matches.

        A broad word (服务 is in nearly every document) would otherwise make the database score,
        count and group every match. One statement reads the facet columns and the score of the
        first matches the index yields, up to the cap; they are counted, grouped and ranked
        here, and only the page's hits are read in full. Up to the cap nothing changes: every
        match is scored, counted and grouped. Beyond it the result says "more than N", the
        facets count those N and the hits are the best of them (the deepest page is N anyway).
        """
        conds = self.where(query, filters)
        cap = match_cap()
        score = self.score(query) if not query.is_empty else sa.literal(0.0)
        rows = db.session.execute(
            sa.select(T.id, T.credit_rank, sa.func.coalesce(T.fee_min_fen, NO_FEE).label("fee"),
                      T.doc_type, T.doc_id, *FACET_COLUMNS.values(), T.qualification_types,
                      score.label("score"))
            .where(*conds).limit(cap + 1)
        ).all()
        capped = len(rows) > cap
        rows = rows[:cap]
        if capped and query.is_empty:
            # Browsing without words: the order (credit grade, then fee) is cheap to keep exact.
            page_ids = db.session.execute(
                sa.select(T.id).where(*conds)
                .order_by(T.credit_rank, sa.func.coalesce(T.fee_min_fen, NO_FEE), T.doc_type, T.doc_id)
                .offset(offset).limit(limit)
            ).scalars().all()
            scores = dict.fromkeys(page_ids, 0.0)
        else:
            # Positions in the row: id 0, credit_rank 1, fee 2, doc_type 3, doc_id 4, score -1.
            best = heapq.nsmallest(
                offset + limit, rows, key=lambda r: (-(r[-1] or 0.0), r[1], r[2], r[3], r[4])
            )
            scores = {r[0]: float(r[-1] or 0) for r in best[offset:]}
        hits = self._hits(scores)
        facet_counts = self._count_facets(rows) if facets and rows else {}
        return BackendResult(hits, len(rows), facet_counts, total_capped=capped)

    @staticmethod
    def _hits(scores: dict[int, float]) -> list[Hit]:
        """The hits of ``scores`` (row id → score, in rank order), read in full."""
        if not scores:
            return []
        rows = {r.id: r for r in db.session.execute(
            sa.select(T.id, T.doc_type, T.doc_id, T.title, T.body, T.url, T.category, T.region_code,
                      T.qualification_types, T.credit_grade, T.fee_min_fen, T.fee_max_fen,
                      T.time_limit_days).where(T.id.in_(list(scores)))
        )}
        return [
            Hit(doc_type=r.doc_type, doc_id=r.doc_id, title=r.title, body=r.body, url=r.url,
                score=scores[r.id], category=r.category, region_code=r.region_code,
                qualification_types=split_quals(r.qualification_types), credit_grade=r.credit_grade,
                fee_min_fen=r.fee_min_fen, fee_max_fen=r.fee_max_fen, time_limit_days=r.time_limit_days)
            for r in (rows[i] for i in scores if i in rows)
        ]

    @staticmethod
    def _count_facets(rows) -> dict[str, dict[str, int]]:
        """Counts per facet value over ``rows`` (the matches read; facet columns from 5 on)."""
        result: dict[str, dict[str, int]] = {}
        for i, name in enumerate(FACET_COLUMNS, start=5):
            counts = Counter(map(itemgetter(i), rows))
            counts.pop(None, None)
            result[name] = dict(counts)
        quals = Counter(map(itemgetter(5 + len(FACET_COLUMNS)), rows))
        quals.pop("", None)
        result["qualification"] = expand_quals(quals.items())
        return result

    def count(self, query: ParsedQuery, filters: SearchFilters) -> int:
        """How many documents match, counted up to ``SEARCH_MATCH_CAP`` + 1."""
        capped_ids = sa.select(T.id).where(*self.where(query, filters)).limit(match_cap() + 1)
        return db.session.execute(
            sa.select(sa.func.count()).select_from(capped_ids.subquery())
        ).scalar_one()

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
