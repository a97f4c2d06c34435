"""Decay, formula versions and recomputation: the daily expiry of inputs older than the decay
window, re-scoring under a new formula version, and folding the whole ledger again to check (and
repair) every stored score (``flask credit recompute``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import ConcurrentUpdate
from marketplace.credit.dates import add_months
from marketplace.credit.formula import Aggregates, current_formula, evaluate
from marketplace.credit.ledger import _not_cancelled, cancel_credit_input
from marketplace.credit.models import (
    CENTI,
    RATING_KINDS,
    CreditInput,
    CreditInputKind,
    CreditScore,
    HistoryReason,
    InputEffect,
    SanctionLevel,
)
from marketplace.credit.scoring import UPDATE_ATTEMPTS, _ensure_row, _history, _load_row, _write_row
from marketplace.extensions import db

# --- decay, formula versions and recomputation -------------------------------------------------


def expire_inputs(now: datetime | None = None, batch: int = 500) -> int:
    """Record an expiry for every live input older than the decay window (job; idempotent).

    The expiry's ``occurred_at`` is the moment the window closed, so the ledger reads the same
    whenever the job ran.
    """
    now = now or utcnow()
    formula = current_formula()
    cutoff = add_months(now, -formula.decay_months)
    expired = 0
    while True:
        entries = db.session.execute(
            sa.select(CreditInput)
            .where(CreditInput.effect == InputEffect.ADD, CreditInput.occurred_at <= cutoff, _not_cancelled())
            .order_by(CreditInput.id).limit(batch)
        ).scalars().all()
        if not entries:
            return expired
        for entry in entries:
            closes = min(add_months(entry.occurred_at, formula.decay_months), now)
            if cancel_credit_input(entry, effect=InputEffect.EXPIRY, actor="credit.decay", now=now,
                                   occurred_at=closes,
                                   note=f"decay window of {formula.decay_months} months"):
                expired += 1
        if len(entries) < batch:
            return expired


def refresh_formula(now: datetime | None = None) -> int:
    """Re-score every agency still scored under an older formula version (job; idempotent)."""
    now = now or utcnow()
    formula = current_formula()
    changed = 0
    org_ids = db.session.execute(
        sa.select(CreditScore.organisation_id).where(CreditScore.formula_version != formula.version)
    ).scalars().all()
    for org_id in org_ids:
        row = _load_row(org_id)
        if row is None or row.formula_version == formula.version:
            continue
        before = CreditScore(score_centi=row.score_centi, grade=row.grade, version=row.version)
        ok, result = _write_row(row, Aggregates.of_row(row), formula, now=now, last_input_id=None)
        if ok:
            _history(org_id, before, result, reason=HistoryReason.FORMULA, input_id=None, now=now)
            changed += 1
    db.session.flush()
    return changed


def ledger_aggregates(org_ids: Sequence[int] | None = None) -> dict[int, Aggregates]:
    """Fold the ledger in the database: the aggregates every agency should have."""
    sign = sa.case((CreditInput.effect == InputEffect.ADD, 1), else_=-1)
    k = CreditInput.kind

    def total(condition, amount):
        return sa.func.coalesce(sa.func.sum(sa.case((condition, amount), else_=0)), 0)

    stmt = sa.select(
        CreditInput.organisation_id,
        total(k.in_(list(RATING_KINDS)), sign).label("rating_count"),
        total(k == CreditInputKind.RATING_ENTERPRISE, sign * CreditInput.weight).label("enterprise_weight"),
        total(k == CreditInputKind.RATING_ENTERPRISE,
              sign * CreditInput.weight * CreditInput.value).label("enterprise_sum"),
        total(k == CreditInputKind.RATING_APPROVAL_OFFICE, sign * CreditInput.weight).label("office_weight"),
        total(k == CreditInputKind.RATING_APPROVAL_OFFICE,
              sign * CreditInput.weight * CreditInput.value).label("office_sum"),
        total(k == CreditInputKind.OVERRUN_DAYS, sign * CreditInput.value).label("overrun_days"),
        total(k == CreditInputKind.COMPLAINT_UPHELD, sign).label("complaints"),
        total(k == CreditInputKind.SIGNING_REFUSAL, sign).label("refusals"),
        total(sa.and_(k == CreditInputKind.SANCTION, CreditInput.level == SanctionLevel.WARNING),
              sign).label("warnings"),
        total(sa.and_(k == CreditInputKind.SANCTION, CreditInput.level == SanctionLevel.SUSPENSION),
              sign).label("suspensions"),
        total(sa.and_(k == CreditInputKind.SANCTION, CreditInput.level == SanctionLevel.BLACKLIST),
              sign).label("blacklistings"),
        sa.func.count(CreditInput.id).label("entries"),
    ).group_by(CreditInput.organisation_id)
    if org_ids is not None:
        stmt = stmt.where(CreditInput.organisation_id.in_(list(org_ids)))
    result = {}
    for row in db.session.execute(stmt).mappings():
        result[row["organisation_id"]] = Aggregates(
            **{name: int(value) for name, value in row.items() if name != "organisation_id"}
        )
    return result


@dataclass(frozen=True)
class Difference:
    """A stored score that does not match the ledger."""

    organisation_id: int
    stored: Aggregates | None
    expected: Aggregates | None
    stored_score: str
    expected_score: str
    fields: tuple[str, ...]

    def describe(self) -> str:
        return (f"agency {self.organisation_id}: stored {self.stored_score}, ledger gives "
                f"{self.expected_score} (differs in: {', '.join(self.fields)})")


def _describe(row_score: int, grade: str, version: int) -> str:
    return f"{Decimal(row_score) / CENTI:.2f} {grade} (formula v{version})"


def check_scores(batch: int = 1000) -> list[Difference]:
    """Compare every stored score with a fresh fold of the ledger under the formula in force."""
    formula = current_formula()
    expected_all = ledger_aggregates()
    differences: list[Difference] = []
    seen: set[int] = set()
    offset = 0
    while True:
        rows = db.session.execute(
            sa.select(CreditScore).order_by(CreditScore.organisation_id).offset(offset).limit(batch)
        ).scalars().all()
        if not rows:
            break
        offset += len(rows)
        for row in rows:
            seen.add(row.organisation_id)
            stored = Aggregates.of_row(row)
            expected = expected_all.get(row.organisation_id, Aggregates())
            result = evaluate(formula, expected)
            fields = [name for name, value in stored.as_dict().items() if expected.as_dict()[name] != value]
            if row.score_centi != result.score_centi:
                fields.append("score")
            if row.grade != result.grade:
                fields.append("grade")
            if row.formula_version != formula.version:
                fields.append("formula_version")
            if fields:
                differences.append(Difference(
                    row.organisation_id, stored, expected,
                    _describe(row.score_centi, row.grade, row.formula_version),
                    _describe(result.score_centi, result.grade, formula.version), tuple(fields),
                ))
    for org_id, expected in sorted(expected_all.items()):
        if org_id not in seen:
            result = evaluate(formula, expected)
            differences.append(Difference(
                org_id, None, expected, "nothing",
                _describe(result.score_centi, result.grade, formula.version), ("missing",),
            ))
    return differences


def recompute_scores(*, actor=None, now: datetime | None = None) -> list[Difference]:
    """Fix every stored score that differs from the ledger; returns what was fixed."""
    now = now or utcnow()
    formula = current_formula()
    differences = check_scores()
    for diff in differences:
        expected = diff.expected or Aggregates()
        for _attempt in range(UPDATE_ATTEMPTS):
            row = _ensure_row(diff.organisation_id)
            before = CreditScore(score_centi=row.score_centi, grade=row.grade, version=row.version)
            ok, result = _write_row(row, expected, formula, now=now, last_input_id=None)
            if ok:
                _history(diff.organisation_id, before, result, reason=HistoryReason.RECOMPUTE,
                         input_id=None, now=now)
                break
        else:
            raise ConcurrentUpdate(_l("Someone else changed this record first. Please reload."))
        record_event("credit.recomputed", ("credit_scores", diff.organisation_id), actor=actor,
                     payload={"stored": diff.stored_score, "ledger": diff.expected_score,
                              "fields": list(diff.fields)})
    db.session.flush()
    return differences
