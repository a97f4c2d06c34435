"""What the sanctions triggers read from the credit ledger and the score history: agencies at a
grade and since when, live inputs of a kind counted per agency, and their references as evidence.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from marketplace.credit.ledger import _not_cancelled
from marketplace.credit.models import (
    CreditInput,
    CreditInputKind,
    CreditInputRef,
    CreditScore,
    CreditScoreHistory,
    InputEffect,
)
from marketplace.extensions import db

# --- what the sanctions triggers read ---------------------------------------------------------


def agencies_with_grade(grade: str) -> list[int]:
    """Ids of agencies whose current grade is ``grade``."""
    return list(db.session.execute(
        sa.select(CreditScore.organisation_id).where(CreditScore.grade == grade)
        .order_by(CreditScore.organisation_id)
    ).scalars())


def grade_streak_start(org_id: int, grade: str) -> int | None:
    """The history row where the agency's current run of ``grade`` began (None if not in it)."""
    last_other = db.session.execute(
        sa.select(sa.func.max(CreditScoreHistory.id))
        .where(CreditScoreHistory.organisation_id == org_id, CreditScoreHistory.grade != grade)
    ).scalar()
    stmt = sa.select(sa.func.min(CreditScoreHistory.id)).where(
        CreditScoreHistory.organisation_id == org_id, CreditScoreHistory.grade == grade)
    if last_other is not None:
        stmt = stmt.where(CreditScoreHistory.id > last_other)
    return db.session.execute(stmt).scalar()


def live_counts_since(kind, since: datetime) -> list[tuple[int, int, int]]:
    """Per agency: (organisation id, live inputs of ``kind`` since ``since``, newest input id)."""
    kind = CreditInputKind(kind)
    rows = db.session.execute(
        sa.select(CreditInput.organisation_id, sa.func.count(CreditInput.id), sa.func.max(CreditInput.id))
        .where(CreditInput.kind == kind, CreditInput.effect == InputEffect.ADD,
               CreditInput.occurred_at >= since, _not_cancelled())
        .group_by(CreditInput.organisation_id)
        .order_by(CreditInput.organisation_id)
    ).all()
    return [(r[0], int(r[1]), int(r[2])) for r in rows]



def live_input_refs(org_id: int, kind, since: datetime, limit: int = 10) -> list[tuple[str, str, str]]:
    """References of the agency's live inputs of ``kind`` (one kind or several) since ``since``,
    newest first (evidence for triggers)."""
    kinds = [CreditInputKind(k) for k in (kind if isinstance(kind, list | tuple) else (kind,))]
    rows = db.session.execute(
        sa.select(CreditInputRef.object_type, CreditInputRef.object_id, CreditInputRef.label)
        .join(CreditInput, CreditInput.id == CreditInputRef.input_id)
        .where(CreditInput.organisation_id == org_id, CreditInput.kind.in_(kinds),
               CreditInput.effect == InputEffect.ADD, CreditInput.occurred_at >= since, _not_cancelled())
        .order_by(CreditInput.id.desc(), CreditInputRef.id).limit(limit)
    ).all()
    return [(r.object_type.value, r.object_id, r.label) for r in rows]
