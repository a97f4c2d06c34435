"""Search back-ends: one interface, chosen by ``SEARCH_BACKEND`` ("whoosh" or "postgres").

``database`` (a LIKE scan of ``search_documents``) is not chosen by configuration: it is what the
others fall back to while they cannot answer (a damaged Whoosh index is being rebuilt).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields, replace
from typing import Protocol

from flask import current_app

from marketplace.search.analysis import ParsedQuery
from marketplace.search.documents import SearchDocument

log = logging.getLogger(__name__)

# Facet names; the same names are the filter names and the query-string parameters.
FACETS = ("doc_type", "category", "region_code", "qualification", "credit_grade", "fee", "time")

# Matches a SQL back-end reads at most per search: counted, grouped for the facets and ranked.
# Broad words beyond it are shown as "more than N results"; N is also the deepest page.
MATCH_CAP = 1_000


def match_cap() -> int:
    """``SEARCH_MATCH_CAP`` from the configuration (default :data:`MATCH_CAP`)."""
    return max(1, int(current_app.config.get("SEARCH_MATCH_CAP", MATCH_CAP)))


class BackendUnavailable(Exception):
    """The back-end cannot answer now (index missing, damaged or being rebuilt)."""


@dataclass(frozen=True)
class SearchFilters:
    """Facet values the results must have; None means any."""

    doc_type: str | None = None
    category: str | None = None
    region_code: str | None = None
    qualification: str | None = None
    credit_grade: str | None = None
    fee: str | None = None
    time: str | None = None

    def active(self) -> dict[str, str]:
        """The filters that are set, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}

    def without(self, *names: str) -> SearchFilters:
        return replace(self, **dict.fromkeys(names))

    def with_(self, name: str, value: str | None) -> SearchFilters:
        return replace(self, **{name: value})


@dataclass
class Hit:
    """One found document, with what the results page shows."""

    doc_type: str
    doc_id: int
    title: str
    body: str
    url: str
    score: float = 0.0
    category: str | None = None
    region_code: str | None = None
    qualification_types: list[str] = field(default_factory=list)
    credit_grade: str | None = None
    fee_min_fen: int | None = None
    fee_max_fen: int | None = None
    time_limit_days: int | None = None
    title_html: str = ""
    snippet_html: str = ""

    @property
    def key(self) -> tuple[str, int]:
        return (self.doc_type, self.doc_id)


@dataclass
class BackendResult:
    """A page of hits (best first), the total number of matches and the facet counts.

    ``total_capped``: there are more than ``total`` matches, which were not all read (the
    facets then count those ``total`` matches only).
    """

    hits: list[Hit]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    total_capped: bool = False


class IndexWriter(Protocol):
    """Applies changes while the back-end's write lock is held."""

    def apply(self, upserts: list[SearchDocument], deletes: list[tuple[str, int]]) -> None: ...


class SearchBackend(Protocol):
    """What every back-end does. All read the same analysed terms, so they find the same hits."""

    name: str
    keeps_own_index: bool

    def search(self, query: ParsedQuery, filters: SearchFilters, *, offset: int, limit: int,
               facets: bool = True) -> BackendResult:
        """Ranked hits: relevance, then credit grade (A first, none last), then fee ascending.

        Raises:
            BackendUnavailable: the index cannot be read now.
        """
        ...

    def count(self, query: ParsedQuery, filters: SearchFilters) -> int:
        """How many documents match."""
        ...

    def writing(self, lock_timeout: float) -> AbstractContextManager[IndexWriter]:
        """Hold the write lock; apply changes with the returned writer.

        Raises:
            BackendUnavailable: the lock was not free in time or the index needs rebuilding.
        """
        ...

    def rebuild(self, documents: Iterable[SearchDocument], *, lock_timeout: float) -> int:
        """Replace the whole index with ``documents``; returns how many were indexed."""
        ...

    def needs_rebuild(self) -> bool:
        """Whether the index is missing or known to be damaged."""
        ...


def _cache() -> dict:
    return current_app.extensions.setdefault("search_backends", {})


def index_dir() -> str:
    """Where the Whoosh index lives: ``SEARCH_INDEX_DIR`` or ``<instance>/search_index``."""
    return current_app.config.get("SEARCH_INDEX_DIR") or os.path.join(
        current_app.instance_path, "search_index"
    )


def get_backend(name: str | None = None) -> SearchBackend:
    """The configured back-end (per app and index directory, created once)."""
    from marketplace.extensions import db

    name = name or current_app.config.get("SEARCH_BACKEND", "whoosh")
    if name == "postgres" and db.engine.dialect.name != "postgresql":
        log.warning("SEARCH_BACKEND=postgres needs a PostgreSQL database; using the LIKE back-end")
        name = "database"
    key = (name, index_dir() if name == "whoosh" else None)
    cache = _cache()
    if key not in cache:
        if name == "whoosh":
            from marketplace.search.backends.whoosh_backend import WhooshBackend

            cache[key] = WhooshBackend(key[1])
        elif name == "postgres":
            from marketplace.search.backends.postgres_backend import PostgresBackend

            cache[key] = PostgresBackend()
        elif name == "database":
            from marketplace.search.backends.database_backend import DatabaseBackend

            cache[key] = DatabaseBackend()
        else:
            raise RuntimeError(f"unknown SEARCH_BACKEND {name!r} (whoosh, postgres)")
    return cache[key]


def fallback_backend() -> SearchBackend:
    """The plain database back-end used while the configured one cannot answer."""
    return get_backend("database")
