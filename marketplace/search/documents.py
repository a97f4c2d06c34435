"""What the search index holds, and how the other domains feed it.

Each domain registers one provider per document type. The search domain never reads another
domain's tables: it asks the provider for a :class:`SearchDocument` (or ``None`` to remove it).

    from marketplace.search.documents import register_provider

    @bp.record_once
    def _register_search(state):
        register_provider(ListingSearchProvider(), app=state.app)

and in the service that changes a listing, inside its transaction::

    from marketplace.search.services import enqueue
    enqueue("listing", listing.id)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.core.regions import region_name
from marketplace.search.analysis import clean_text


class DocType(enum.StrEnum):
    """The kinds of document the search covers."""

    AGENCY = "agency"
    LISTING = "listing"
    SERVICE_ITEM = "service_item"
    ANNOUNCEMENT = "announcement"

    @property
    def label(self):
        return {
            DocType.AGENCY: _l("Agencies"),
            DocType.LISTING: _l("Service listings"),
            DocType.SERVICE_ITEM: _l("Service items"),
            DocType.ANNOUNCEMENT: _l("Purchase announcements"),
        }[self]


# Credit grades, best first; documents without a grade sort after every graded one.
CREDIT_GRADES = ("A", "B", "C", "D")
NO_GRADE_RANK = 9


def credit_rank(grade: str | None) -> int:
    """Sort key of a credit grade: A=1 … D=4, none (or unknown) last."""
    return CREDIT_GRADES.index(grade) + 1 if grade in CREDIT_GRADES else NO_GRADE_RANK


@dataclass(frozen=True)
class Bucket:
    """A facet range [low, high) of a number (fee in fen, time limit in days)."""

    key: str
    low: int | None
    high: int | None
    label: object


FEE_BUCKETS = (
    Bucket("lt10k", None, 1_000_000, _l("Under ¥10,000")),
    Bucket("10k-50k", 1_000_000, 5_000_000, _l("¥10,000–50,000")),
    Bucket("50k-200k", 5_000_000, 20_000_000, _l("¥50,000–200,000")),
    Bucket("ge200k", 20_000_000, None, _l("¥200,000 and more")),
)
TIME_BUCKETS = (
    Bucket("le5", None, 6, _l("Up to 5 working days")),
    Bucket("6-15", 6, 16, _l("6–15 working days")),
    Bucket("16-30", 16, 31, _l("16–30 working days")),
    Bucket("gt30", 31, None, _l("More than 30 working days")),
)


def bucket_for(value: int | None, buckets: tuple[Bucket, ...]) -> str | None:
    """The key of the bucket holding ``value`` (None for no value)."""
    if value is None:
        return None
    for bucket in buckets:
        if (bucket.low is None or value >= bucket.low) and (bucket.high is None or value < bucket.high):
            return bucket.key
    return None


def _facet_value(value: str | None, limit: int = 100) -> str | None:
    value = clean_text(value).strip().replace("|", "/").replace(",", "，")[:limit] if value else ""
    return value or None


@dataclass
class SearchDocument:
    """One searchable thing, already denormalised by its domain's provider."""

    doc_type: str
    doc_id: int
    title: str
    body: str = ""
    url: str = ""
    category: str | None = None
    region_code: str | None = None
    qualification_types: list[str] = field(default_factory=list)
    credit_grade: str | None = None
    fee_min_fen: int | None = None
    fee_max_fen: int | None = None
    time_limit_days: int | None = None
    visible: bool = True

    def __post_init__(self):
        self.doc_type = str(DocType(self.doc_type))
        self.doc_id = int(self.doc_id)
        self.title = clean_text(self.title, 300).strip()
        self.body = clean_text(self.body, 20_000)
        self.url = clean_text(self.url, 500)
        self.category = _facet_value(self.category)
        self.region_code = _facet_value(self.region_code, 12)
        self.qualification_types = sorted(
            {v for v in (_facet_value(q) for q in self.qualification_types or []) if v}
        )[:30]
        grade = (self.credit_grade or "").strip().upper()
        self.credit_grade = grade if grade in CREDIT_GRADES else None

    @property
    def key(self) -> str:
        """Unique key across types: ``listing:42``."""
        return f"{self.doc_type}:{self.doc_id}"

    @property
    def keywords(self) -> str:
        """Facet values as searchable text: category, qualifications and the region's name."""
        parts = [self.category or "", *self.qualification_types, region_name(self.region_code)]
        return " ".join(p for p in parts if p)[:1000]

    @property
    def credit_rank(self) -> int:
        return credit_rank(self.credit_grade)

    @property
    def fee_bucket(self) -> str | None:
        return bucket_for(self.fee_min_fen, FEE_BUCKETS)

    @property
    def time_bucket(self) -> str | None:
        return bucket_for(self.time_limit_days, TIME_BUCKETS)


@runtime_checkable
class SearchProvider(Protocol):
    """What a domain implements to put one document type into the search.

    Optional: ``is_visible_now(ids) -> set[int]``, called at query time with the ids on the
    page, for visibility that changes with time alone (a qualification expiring tonight).
    """

    doc_type: str

    def document_for(self, doc_id: int) -> SearchDocument | None:
        """The document as it should be found now, or None to remove it from the index."""
        ...

    def all_ids(self) -> Iterable[int]:
        """Every id that may have a document (for a full reindex)."""
        ...

    def iter_documents(self) -> Iterator[SearchDocument]:
        """Every visible document (for a full reindex; stream, do not build a list)."""
        ...


def _registry(app=None) -> dict[str, SearchProvider]:
    app = app or current_app
    return app.extensions.setdefault("search_providers", {})


def register_provider(provider: SearchProvider, *, app=None) -> None:
    """Make ``provider`` the source of its document type (replaces an earlier one)."""
    doc_type = str(DocType(provider.doc_type))
    _registry(app)[doc_type] = provider


def unregister_provider(doc_type: str, *, app=None) -> None:
    """Forget the provider of ``doc_type`` (tests)."""
    _registry(app).pop(str(doc_type), None)


def get_provider(doc_type: str) -> SearchProvider | None:
    """The registered provider of ``doc_type``, if any."""
    return _registry().get(str(doc_type))


def providers() -> dict[str, SearchProvider]:
    """Every registered provider by document type."""
    return dict(_registry())
