"""What an agency's "why this score" page shows: the score worked out, the newest ledger entries
with their contributions and cancellations, the score history, what an entry records in words
and the ledger's tally of the agency's ratings.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Organisation
from marketplace.credit import references
from marketplace.credit.formula import (
    Aggregates,
    Contribution,
    Evaluation,
    contribution,
    current_formula,
    evaluate,
    formula_by_version,
)
from marketplace.credit.ledger import _not_cancelled
from marketplace.credit.models import (
    CENTI,
    RATING_KINDS,
    CreditInput,
    CreditInputKind,
    CreditInputRef,
    CreditScore,
    CreditScoreHistory,
    InputEffect,
    RefType,
)
from marketplace.credit.scores import get_agency, score_row
from marketplace.extensions import db


@dataclass(frozen=True)
class EntryView:
    """One ledger entry with what it means under the formula in force."""

    entry: CreditInput
    contribution: Contribution
    cancelled_by: CreditInput | None

    @property
    def is_live(self) -> bool:
        return self.entry.effect is InputEffect.ADD and self.cancelled_by is None


@dataclass(frozen=True)
class Explanation:
    """Everything the "why this score" page shows."""

    org: Organisation
    row: CreditScore | None
    evaluation: Evaluation | None
    entries: list[EntryView]
    total_entries: int
    history: list[CreditScoreHistory]

    @property
    def entries_by_id(self) -> dict[int, CreditInput]:
        return {v.entry.id: v.entry for v in self.entries}


def explain(org_id: int, *, limit: int = 200, history_limit: int = 50) -> Explanation:
    """An agency's score, worked out, with its ledger entries and their contributions.

    Raises:
        NotFound: not an agency.
    """
    org = get_agency(org_id)
    row = score_row(org.id)
    formula = current_formula()
    evaluation = evaluate(formula_by_version(row.formula_version) or formula, Aggregates.of_row(row)) if row else None
    entries = db.session.execute(
        sa.select(CreditInput).where(CreditInput.organisation_id == org.id)
        .options(selectinload(CreditInput.refs))
        .order_by(CreditInput.occurred_at.desc(), CreditInput.id.desc()).limit(limit)
    ).scalars().all()
    # Counting the ledger grows with it; the score row counts every entry as it is applied
    # (``recompute`` checks that count against the ledger). A short ledger is its own count.
    if len(entries) < limit:
        total = len(entries)
    elif row is not None:
        total = max(row.entries, len(entries))
    else:  # pragma: no cover - every entry updates its agency's row in the same transaction
        total = db.session.execute(
            sa.select(sa.func.count(CreditInput.id)).where(CreditInput.organisation_id == org.id)
        ).scalar_one()
    ids = [e.id for e in entries]
    cancellers = {
        c.cancels_id: c for c in db.session.execute(
            sa.select(CreditInput).where(CreditInput.cancels_id.in_(ids))
        ).scalars()
    } if ids else {}
    used = evaluation.formula if evaluation else formula
    views = [
        EntryView(e, contribution(used, e.kind, value=e.value, weight=e.weight, level=e.level),
                  cancellers.get(e.id))
        for e in entries
    ]
    history = db.session.execute(
        sa.select(CreditScoreHistory).where(CreditScoreHistory.organisation_id == org.id)
        .order_by(CreditScoreHistory.id.desc()).limit(history_limit)
    ).scalars().all()
    # The page names each entry's contract, case, rating … with a link: loaded per kind, not per entry.
    references.preload((r.object_type, r.object_id) for e in entries for r in e.refs)
    return Explanation(org, row, evaluation, views, total, list(history))


def history_for(org_id: int, limit: int = 100) -> list[CreditScoreHistory]:
    """The agency's score changes, newest first."""
    return list(db.session.execute(
        sa.select(CreditScoreHistory).where(CreditScoreHistory.organisation_id == org_id)
        .order_by(CreditScoreHistory.id.desc()).limit(limit)
    ).scalars())


def inputs_for(org_id: int, limit: int = 200) -> list[CreditInput]:
    """The agency's ledger entries with their references, newest first."""
    return list(db.session.execute(
        sa.select(CreditInput).where(CreditInput.organisation_id == org_id)
        .options(selectinload(CreditInput.refs))
        .order_by(CreditInput.occurred_at.desc(), CreditInput.id.desc()).limit(limit)
    ).scalars())



# --- what an entry records, in words --------------------------------------------------------


@dataclass(frozen=True)
class Subject:
    """What a ledger entry records beyond its kind: the ground of a sanction or the category of an
    upheld complaint, with the record (sanction, complaint) named by its number."""

    title: str
    ref: CreditInputRef


_SUBJECT_REFS = {CreditInputKind.SANCTION: RefType.SANCTION, CreditInputKind.COMPLAINT_UPHELD: RefType.COMPLAINT}


def entry_subject(entry: CreditInput) -> Subject | None:
    """The subject of ``entry`` (of the entry it cancels, for an expiry or a reversal), or None."""
    from marketplace.credit import references
    from marketplace.sanctions.grounds import ground_title

    source = entry.cancels if entry.effect is not InputEffect.ADD and entry.cancels is not None else entry
    ref_type = _SUBJECT_REFS.get(source.kind)
    ref = next((r for r in source.refs if r.object_type is ref_type), None) if ref_type else None
    if ref is None:
        return None
    found = references.resolve(ref_type, ref.object_id)
    if found is None:  # nothing more to say than the reference beside it
        return None
    if ref_type is RefType.SANCTION:
        return Subject(ground_title(found.obj.ground_code), ref)
    return Subject(str(found.obj.category.label), ref)


# --- ratings as the ledger counts them ------------------------------------------------------


@dataclass(frozen=True)
class RatingTally:
    """The live rating entries of one kind: how many, and their plain mean on the 1–5 scale."""

    kind: CreditInputKind
    count: int
    mean: Decimal


def rating_tallies(org_id: int) -> list[RatingTally]:
    """Count and mean of the agency's live rating entries per kind (what its score rests on)."""
    rows = db.session.execute(
        sa.select(CreditInput.kind, sa.func.count(CreditInput.id), sa.func.sum(CreditInput.value))
        .where(CreditInput.organisation_id == org_id, CreditInput.kind.in_(RATING_KINDS),
               CreditInput.effect == InputEffect.ADD, _not_cancelled())
        .group_by(CreditInput.kind)
    ).all()
    return [
        RatingTally(kind, count, (Decimal(int(total)) / CENTI / count).quantize(Decimal("0.01"), ROUND_HALF_UP))
        for kind, count, total in rows if count
    ]
