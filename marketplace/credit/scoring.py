"""An agency's running aggregates (``credit_scores``) and their incremental update.

Each ledger entry is added to its agency's row in the same transaction by a conditional UPDATE
on the row's ``version`` (retried a few times when another transaction moved it first), with one
history row per change. The recomputation and the formula refresh write through the same helpers.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from marketplace.core.errors import ConcurrentUpdate
from marketplace.credit.formula import Aggregates, Evaluation, Formula, current_formula, evaluate
from marketplace.credit.models import CreditInput, CreditScore, CreditScoreHistory, HistoryReason
from marketplace.extensions import db

UPDATE_ATTEMPTS = 8


def _entry_delta(entry: CreditInput) -> Aggregates:
    return Aggregates.of_entry(entry.kind, value=entry.value, weight=entry.weight,
                               sign=entry.effect.sign, level=entry.level)


def _load_row(org_id: int) -> CreditScore | None:
    return db.session.execute(
        sa.select(CreditScore).where(CreditScore.organisation_id == org_id)
        .execution_options(populate_existing=True)
    ).scalar_one_or_none()


def _ensure_row(org_id: int) -> CreditScore:
    row = _load_row(org_id)
    if row is not None:
        return row
    formula = current_formula()
    blank = evaluate(formula, Aggregates())
    try:
        with db.session.begin_nested():
            db.session.add(CreditScore(
                organisation_id=org_id, version=0, score_centi=blank.score_centi, grade=blank.grade,
                formula_version=formula.version,
            ))
            db.session.flush()
    except IntegrityError:
        pass  # another transaction created it first
    row = _load_row(org_id)
    if row is None:  # pragma: no cover - the other transaction rolled back; try once more
        raise ConcurrentUpdate(_l("Someone else changed this record first. Please reload."))
    return row


def _write_row(row: CreditScore, agg: Aggregates, formula: Formula, *, now: datetime,
               last_input_id: int | None) -> tuple[bool, Evaluation]:
    """Conditional UPDATE of ``row`` to ``agg``; False when another transaction moved it first."""
    result = evaluate(formula, agg)
    values = dict(agg.as_dict(), score_centi=result.score_centi, grade=result.grade,
                  formula_version=formula.version, version=row.version + 1, updated_at=now)
    if last_input_id is not None:
        values["last_input_id"] = last_input_id
    done = db.session.execute(
        sa.update(CreditScore)
        .where(CreditScore.organisation_id == row.organisation_id, CreditScore.version == row.version)
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount
    return done == 1, result


def _history(org_id: int, before: CreditScore, result: Evaluation, *, reason: HistoryReason,
             input_id: int | None, now: datetime) -> None:
    db.session.add(CreditScoreHistory(
        organisation_id=org_id, score_centi=result.score_centi, grade=result.grade,
        previous_score_centi=before.score_centi if before.version else None,
        previous_grade=before.grade if before.version else None,
        formula_version=result.formula.version, reason=reason, input_id=input_id, created_at=now,
    ))


def _apply_entry(entry: CreditInput, *, now: datetime) -> Evaluation:
    """Add one ledger entry to its agency's running aggregates (optimistic, retried)."""
    delta = _entry_delta(entry)
    formula = current_formula()
    for _attempt in range(UPDATE_ATTEMPTS):
        row = _ensure_row(entry.organisation_id)
        before_score, before_grade, before_version = row.score_centi, row.grade, row.version
        ok, result = _write_row(row, Aggregates.of_row(row) + delta, formula, now=now, last_input_id=entry.id)
        if ok:
            snapshot = CreditScore(score_centi=before_score, grade=before_grade, version=before_version)
            _history(entry.organisation_id, snapshot, result, reason=HistoryReason.INPUT,
                     input_id=entry.id, now=now)
            db.session.flush()
            return result
    raise ConcurrentUpdate(_l("Someone else changed this record first. Please reload."))
