"""The search queue (a durable outbox), the canonical denormalised document store, and the
synonym table applied to queries."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.extensions import db


class SearchQueueEntry(db.Model):
    """A document to (re)index, written in the same transaction as the change it follows.

    One row per document: enqueueing again bumps ``version``, so a processor that read an older
    version leaves the entry for the next run instead of losing the newer change.
    """

    __tablename__ = "search_queue"

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(sa.String(32))
    doc_id: Mapped[int] = mapped_column(sa.BigInteger)
    version: Mapped[int] = mapped_column(default=1)
    enqueued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))

    __table_args__ = (sa.UniqueConstraint("doc_type", "doc_id"),)

    def __repr__(self) -> str:
        return f"<SearchQueueEntry {self.doc_type}:{self.doc_id} v{self.version}>"


class IndexedDocument(db.Model):
    """A visible document as last indexed: what the PostgreSQL and LIKE back-ends search, and
    what a damaged Whoosh index is rebuilt from. Hidden documents have no row.
    """

    __tablename__ = "search_documents"

    id: Mapped[int] = mapped_column(primary_key=True)
    doc_type: Mapped[str] = mapped_column(sa.String(32))
    doc_id: Mapped[int] = mapped_column(sa.BigInteger)
    title: Mapped[str] = mapped_column(sa.String(300))
    body: Mapped[str] = mapped_column(sa.Text, default="")
    url: Mapped[str] = mapped_column(sa.String(500), default="")
    # Category, qualification types and region name, searchable like the body.
    keywords: Mapped[str] = mapped_column(sa.String(1000), default="")
    category: Mapped[str | None] = mapped_column(sa.String(100), index=True)
    region_code: Mapped[str | None] = mapped_column(sa.String(12), index=True)
    # "|甲级|乙级|": portable on SQLite and PostgreSQL, filtered with LIKE '%|乙级|%'.
    qualification_types: Mapped[str] = mapped_column(sa.String(3200), default="")
    credit_grade: Mapped[str | None] = mapped_column(sa.String(2))
    credit_rank: Mapped[int] = mapped_column(sa.SmallInteger, default=9)
    fee_min_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    fee_max_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    time_limit_days: Mapped[int | None] = mapped_column()
    fee_bucket: Mapped[str | None] = mapped_column(sa.String(16))
    time_bucket: Mapped[str | None] = mapped_column(sa.String(16))
    # rjieba terms as a tsvector ('simple' configuration) on PostgreSQL; unused on SQLite.
    tsv: Mapped[str | None] = mapped_column(TSVECTOR().with_variant(sa.Text(), "sqlite"))
    indexed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        sa.UniqueConstraint("doc_type", "doc_id"),
        sa.Index("ix_search_documents_tsv", "tsv", postgresql_using="gin").ddl_if(dialect="postgresql"),
    )

    def __repr__(self) -> str:
        return f"<IndexedDocument {self.doc_type}:{self.doc_id}>"


def join_quals(values: list[str]) -> str:
    """Qualification types as stored: ``|a|b|`` (empty string for none)."""
    return "|" + "|".join(values) + "|" if values else ""


def split_quals(stored: str | None) -> list[str]:
    """The inverse of :func:`join_quals`."""
    return [v for v in (stored or "").split("|") if v]


SYNONYM_TERM_MAX = 40
SYNONYM_EXPANSIONS_MAX = 500


class SearchSynonym(db.Model):
    """An abbreviation of the trade (环评) and what it stands for (环境影响评价), applied to
    queries only: editing one changes what the next search finds, without reindexing.
    """

    __tablename__ = "search_synonyms"

    id: Mapped[int] = mapped_column(primary_key=True)
    # NFKC and lower-case, as query words are compared (see analysis.synonym_key).
    term: Mapped[str] = mapped_column(sa.String(SYNONYM_TERM_MAX), unique=True)
    # The expansions, "|"-joined, each normalised like ``term``.
    expansions: Mapped[str] = mapped_column(sa.String(SYNONYM_EXPANSIONS_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    created_by = relationship("User", foreign_keys=[created_by_id])
    updated_by = relationship("User", foreign_keys=[updated_by_id])

    __table_args__ = (sa.CheckConstraint("term <> '' AND expansions <> ''", name="not_empty"),)

    @property
    def expansion_list(self) -> list[str]:
        return [e for e in self.expansions.split("|") if e]

    def __repr__(self) -> str:
        return f"<SearchSynonym {self.id} {self.term}>"


class SearchSynonymRevision(db.Model):
    """A single row whose ``revision`` changes with every edit of the synonyms: each process
    compares it with the revision of its cached table (one primary-key read per search)."""

    __tablename__ = "search_synonym_revisions"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    revision: Mapped[str] = mapped_column(sa.String(32))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<SearchSynonymRevision {self.revision}>"
