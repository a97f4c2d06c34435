"""Searching, and queueing changes for the index.

Other domains call :func:`enqueue` inside the transaction that changes a document; the change is
indexed after that transaction commits (see :mod:`marketplace.search.indexing`).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from flask import current_app

from marketplace.search import store
from marketplace.search.analysis import ParsedQuery, clean_query, highlight, parse_query
from marketplace.search.backends import (
    BackendUnavailable,
    Hit,
    SearchFilters,
    fallback_backend,
    get_backend,
    match_cap,
)
from marketplace.search.documents import get_provider
from marketplace.search.indexing import rebuild_index
from marketplace.search.queueing import PENDING, enqueue, enqueue_many
from marketplace.search.synonyms import current_table

log = logging.getLogger(__name__)

__all__ = ["PENDING", "enqueue", "enqueue_many", "search", "still_visible", "suggest"]

MAX_RESULTS = 1000  # deepest result reachable by paging
MAX_PER_PAGE = 100
SNIPPET_CHARS = 160


@dataclass
class Suggestion:
    """Another search worth trying when nothing was found."""

    query: str
    count: int
    filters: SearchFilters = field(default_factory=SearchFilters)
    count_capped: bool = False  # more than ``count`` documents match


@dataclass
class SearchOutcome:
    """What the search page and the JSON endpoint show."""

    query: ParsedQuery
    filters: SearchFilters
    page: int
    per_page: int
    total: int = 0
    total_capped: bool = False  # more than ``total`` matches; the facets count ``total`` of them
    hits: list[Hit] = field(default_factory=list)
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    backend: str = ""
    degraded: bool = False
    searched: bool = False
    suggestions: list[Suggestion] = field(default_factory=list)

    @property
    def pages(self) -> int:
        return max(1, math.ceil(min(self.total, MAX_RESULTS) / self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1

    def iter_pages(self, left_edge=1, left_current=2, right_current=2, right_edge=1):
        """Page numbers with None for gaps, like Flask-SQLAlchemy's pagination."""
        last = 0
        for num in range(1, self.pages + 1):
            if (num <= left_edge or self.page - left_current <= num <= self.page + right_current
                    or num > self.pages - right_edge):
                if last + 1 != num:
                    yield None
                yield num
                last = num


def search(text: str | None, filters: SearchFilters | None = None, *, page: int = 1,
           per_page: int = 20, facets: bool = True) -> SearchOutcome:
    """Find visible documents for the user's text; never raises on what the user typed.

    Words of the synonym table also match what they stand for (环评 finds 环境影响评价, and back).
    Falls back to a LIKE scan of the document store while the configured back-end cannot answer
    (and repairs a small Whoosh index on the spot; a big one is rebuilt by the job).
    """
    synonyms = current_table() if clean_query(text) else None
    parsed = parse_query(text, synonyms)
    filters = filters or SearchFilters()
    per_page = min(max(int(per_page), 1), MAX_PER_PAGE)
    page = min(max(int(page), 1), max(1, MAX_RESULTS // per_page))
    outcome = SearchOutcome(query=parsed, filters=filters, page=page, per_page=per_page)
    if parsed.is_empty and not filters.active():
        return outcome
    backend = get_backend()
    offset = (page - 1) * per_page
    try:
        result = backend.search(parsed, filters, offset=offset, limit=per_page, facets=facets)
        outcome.backend = backend.name
    except BackendUnavailable:
        fallback = fallback_backend()
        result = fallback.search(parsed, filters, offset=offset, limit=per_page, facets=facets)
        outcome.backend, outcome.degraded = fallback.name, True
        _repair(backend)
    hits = still_visible(result.hits, check_store=backend.keeps_own_index and not outcome.degraded)
    outcome.searched = True
    outcome.total = max(result.total - (len(result.hits) - len(hits)), len(hits))
    outcome.total_capped = result.total_capped
    outcome.facets = result.facets
    for hit in hits:
        hit.title_html = highlight(hit.title, parsed)
        hit.snippet_html = highlight(hit.body, parsed, width=SNIPPET_CHARS)
    outcome.hits = hits
    if outcome.total == 0:
        outcome.suggestions = suggest(
            parsed, filters, fallback_backend() if outcome.degraded else backend, synonyms
        )
    return outcome


def _repair(backend) -> None:
    """Rebuild a damaged index now if it is small; otherwise the job does it."""
    if not backend.keeps_own_index:
        return
    try:
        if store.count_documents() <= current_app.config.get("SEARCH_INLINE_REBUILD_MAX", 2000):
            rebuild_index(lock_timeout=0)
    except BackendUnavailable:
        log.info("search index rebuild already running elsewhere")
    except Exception:  # noqa: BLE001 - the page is answered from the database anyway
        log.exception("inline search index rebuild failed")


def still_visible(hits: list[Hit], *, check_store: bool) -> list[Hit]:
    """Drop hits hidden since they were indexed: removed from the store, changed and still
    queued (asked live from their provider), or hidden by time (``is_visible_now``).
    """
    keys = [hit.key for hit in hits]
    if not keys:
        return hits
    drop: set[tuple[str, int]] = set()
    existing, queued = store.key_states(keys, stored=check_store)
    if check_store:
        drop |= set(keys) - existing
    for doc_type, doc_id in queued - drop:
        provider = get_provider(doc_type)
        if provider is None:
            continue
        try:
            doc = provider.document_for(doc_id)
        except Exception:  # noqa: BLE001 - keep the hit; the queue will retry
            log.exception("search provider %s failed for %s", doc_type, doc_id)
            continue
        if doc is None or not doc.visible:
            drop.add((doc_type, doc_id))
    by_type: dict[str, list[int]] = {}
    for doc_type, doc_id in keys:
        if (doc_type, doc_id) not in drop:
            by_type.setdefault(doc_type, []).append(doc_id)
    for doc_type, ids in by_type.items():
        check = getattr(get_provider(doc_type), "is_visible_now", None)
        if check is not None:
            visible = set(check(ids))
            drop |= {(doc_type, i) for i in ids if i not in visible}
    return [hit for hit in hits if hit.key not in drop]


def suggest(parsed: ParsedQuery, filters: SearchFilters, backend, synonyms=None) -> list[Suggestion]:
    """Searches that would find something: each word alone, or the query without filters."""
    suggestions: list[Suggestion] = []
    candidates: list[tuple[str, SearchFilters]] = []
    if len(parsed.words) > 1:
        candidates += [(word, filters) for word in parsed.words[:6]]
    if filters.active() and not parsed.is_empty:
        candidates.append((parsed.text, SearchFilters()))
    for text, flt in candidates:
        try:
            count = backend.count(parse_query(text, synonyms), flt)
        except BackendUnavailable:
            count = fallback_backend().count(parse_query(text, synonyms), flt)
        if count:
            cap = match_cap()
            suggestions.append(Suggestion(text, min(count, cap), flt, count_capped=count > cap))
    return suggestions
