"""The synonym table of search: trade abbreviations (环评, 水保, 安评 …) and what they stand for.

Administrators edit it; every search reads it through an in-process cache. The cache is keyed by
the revision in ``search_synonym_revisions`` (one primary-key read per search), which every edit
changes in its own transaction, so each app server sees an edit with its next search.
Synonyms apply to queries only: nothing is reindexed when they change.
"""

from __future__ import annotations

import re
import secrets

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Role
from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, PermissionDenied
from marketplace.extensions import db
from marketplace.search import store
from marketplace.search.analysis import SynonymTable, clean_text, is_synonym_term, synonym_key
from marketplace.search.models import SYNONYM_TERM_MAX, SearchSynonym, SearchSynonymRevision

MAX_EXPANSIONS = 10
_CACHE = "search_synonyms"
_SEPARATORS = re.compile(r"[\n\r,，、;；|/]+")
# A Core statement: the ORM's compile step cost more than the read itself, on every search.
_REVISIONS = SearchSynonymRevision.__table__
_REVISION = sa.select(_REVISIONS.c.revision).where(_REVISIONS.c.id == 1)

# The defaults of a fresh install (the migration that creates the table inserts the same list;
# ``flask seed demo`` and ``flask search install-synonyms`` add whichever are missing).
DEFAULT_SYNONYMS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("环评", ("环境影响评价", "环境影响报告")),
    ("规划环评", ("规划环境影响评价",)),
    ("水保", ("水土保持",)),
    ("安评", ("安全评价",)),
    ("地灾", ("地质灾害危险性评估", "地质灾害")),
    ("能评", ("节能评估", "节能报告")),
    ("稳评", ("社会稳定风险评估",)),
    ("职评", ("职业病危害评价", "职业卫生评价")),
    ("洪评", ("防洪评价", "防洪影响评价")),
    ("震评", ("地震安全性评价",)),
    ("交评", ("交通影响评价",)),
    ("文评", ("文物影响评估",)),
    ("水评", ("水资源论证",)),
    ("雷评", ("雷电灾害风险评估",)),
    ("可研", ("可行性研究",)),
    ("测绘", ("测量",)),
)


# --- reading -----------------------------------------------------------------------------------


def current_table() -> SynonymTable:
    """The synonym table for this search: cached per process, reloaded when the revision moved."""
    revision = db.session.execute(_REVISION).scalar()
    cached = current_app.extensions.get(_CACHE)
    if cached is not None and cached[0] == revision:
        return cached[1]
    # Read after the revision: rows newer than it are only reloaded once more, never missed.
    rows = db.session.execute(sa.select(SearchSynonym.term, SearchSynonym.expansions)).all()
    table = SynonymTable.build((term, expansions.split("|")) for term, expansions in rows)
    current_app.extensions[_CACHE] = (revision, table)
    return table


def list_synonyms() -> list[SearchSynonym]:
    """Every entry, by term."""
    return list(db.session.execute(sa.select(SearchSynonym).order_by(SearchSynonym.term)).scalars())


# --- changing ----------------------------------------------------------------------------------


def check_admin(actor) -> None:
    """Only administrators (or the CLI / seed, given as a string) edit the synonyms.

    Raises:
        PermissionDenied: ``actor`` is not an administrator.
    """
    if isinstance(actor, str):
        return
    if actor is None or getattr(actor, "role", None) is not Role.ADMIN:
        raise PermissionDenied(_l("Only an administrator can edit the search synonyms."))


def _clean_term(value, *, field: str) -> str:
    key = synonym_key(clean_text(value if isinstance(value, str) else ""))
    if not key:
        raise DomainError(_l("Enter a term."), field=field)
    if len(key) > SYNONYM_TERM_MAX:
        raise DomainError(
            _l("A term has at most %(max)d characters.", max=SYNONYM_TERM_MAX), field=field
        )
    if not is_synonym_term(key):
        raise DomainError(
            _l(
                "“%(term)s” cannot be searched for: use one word of letters or digits, without "
                "spaces or punctuation.",
                term=key,
            ),
            field=field,
        )
    return key


def split_expansions(text) -> list[str]:
    """Expansions as typed: one per line, or separated by commas, “、” or semicolons."""
    return [
        part for part in _SEPARATORS.split(text if isinstance(text, str) else "") if part.strip()
    ]


def _clean_expansions(values, term: str) -> list[str]:
    values = split_expansions(values) if isinstance(values, str) else list(values or [])
    if not values:
        raise DomainError(_l("Enter at least one expansion."), field="expansions")
    if len(values) > MAX_EXPANSIONS:
        raise DomainError(
            _l("At most %(max)d expansions per term.", max=MAX_EXPANSIONS), field="expansions"
        )
    cleaned: list[str] = []
    for value in values:
        key = _clean_term(value, field="expansions")
        if key == term:
            raise DomainError(_l("An expansion cannot be the term itself."), field="expansions")
        if key in cleaned:
            raise DomainError(_l("“%(term)s” is listed twice.", term=key), field="expansions")
        cleaned.append(key)
    return cleaned


def _bump_revision() -> None:
    """Give the table a new revision, so every process reloads it after this commit.

    On PostgreSQL the upsert also locks the revision row until commit: concurrent edits run one
    after the other, so the duplicate check below cannot race.
    """
    table = SearchSynonymRevision.__table__
    stmt = store.insert_statement(table).values(
        id=1, revision=secrets.token_hex(16), changed_at=utcnow()
    )
    db.session.execute(
        stmt.on_conflict_do_update(
            index_elements=["id"],
            set_={"revision": stmt.excluded.revision, "changed_at": stmt.excluded.changed_at},
        )
    )


def save_synonym(entry: SearchSynonym | None, *, term: str, expansions, actor) -> SearchSynonym:
    """Create (``entry`` None) or change a synonym entry; searches use it from the next one.

    ``expansions`` is a list, or text with one expansion per line (or comma-separated).

    Raises:
        PermissionDenied: the actor is not an administrator.
        DomainError: a term is empty, too long, not searchable, repeated, or already has an entry.
    """
    check_admin(actor)
    key = _clean_term(term, field="term")
    values = {"term": key, "expansions": "|".join(_clean_expansions(expansions, key))}
    _bump_revision()
    taken = sa.select(SearchSynonym.id).where(SearchSynonym.term == key)
    if entry is not None:
        taken = taken.where(SearchSynonym.id != entry.id)
    if db.session.execute(taken).first() is not None:
        raise DomainError(_l("There is already an entry for “%(term)s”.", term=key), field="term")
    user_id = None if isinstance(actor, str) else actor.id
    now = utcnow()
    if entry is None:
        entry = SearchSynonym(
            **values, created_at=now, created_by_id=user_id, updated_at=now, updated_by_id=user_id
        )
        db.session.add(entry)
        db.session.flush()
        record_event("search_synonym.created", entry, actor=actor, payload=values)
        return entry
    changed = {
        name: [getattr(entry, name), value]
        for name, value in values.items()
        if getattr(entry, name) != value
    }
    if changed:
        for name, (_old, new) in changed.items():
            setattr(entry, name, new)
        entry.updated_at, entry.updated_by_id = now, user_id
        db.session.flush()
        record_event("search_synonym.updated", entry, actor=actor, payload={"changed": changed})
    return entry


def delete_synonym(entry: SearchSynonym, *, actor) -> None:
    """Remove an entry; searches stop using it from the next one.

    Raises:
        PermissionDenied: the actor is not an administrator.
    """
    check_admin(actor)
    _bump_revision()
    record_event(
        "search_synonym.deleted",
        entry,
        actor=actor,
        payload={"term": entry.term, "expansions": entry.expansions},
    )
    db.session.delete(entry)
    db.session.flush()


def install_default_synonyms(*, actor="seed") -> int:
    """Add the default entries whose term has no entry yet; returns how many were added."""
    existing = set(db.session.execute(sa.select(SearchSynonym.term)).scalars())
    added = 0
    for term, expansions in DEFAULT_SYNONYMS:
        if term not in existing:
            save_synonym(None, term=term, expansions=list(expansions), actor=actor)
            added += 1
    return added
