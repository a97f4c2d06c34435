"""Reading the published scores: one agency's or many agencies' score and grade, the observed
market mean, the red list (红名单), the agencies near a grade threshold and the published
formula versions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa

from marketplace.accounts.models import Organisation, OrgKind
from marketplace.core.text import clean_query, is_db_id
from marketplace.credit.dates import china_today
from marketplace.credit.formula import FORMULAS, Formula, current_formula, points
from marketplace.credit.ledger import _agency_id
from marketplace.credit.models import CENTI, CreditScore
from marketplace.extensions import db

# --- reading scores --------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditSummary:
    """An agency's published score and grade."""

    score: float
    grade: str
    rating_count: int


def credit_for(org_ids: Iterable[int]) -> dict[int, CreditSummary]:
    """Score, grade and number of ratings of several agencies in one query (missing: no inputs)."""
    ids = sorted({i for i in org_ids if is_db_id(i)})
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(CreditScore.organisation_id, CreditScore.score_centi, CreditScore.grade,
                  CreditScore.rating_count)
        .where(CreditScore.organisation_id.in_(ids))
    ).all()
    return {r.organisation_id: CreditSummary(r.score_centi / CENTI, r.grade, r.rating_count) for r in rows}


def credit_score_for(org_id: int) -> float | None:
    """The agency's credit score (0–100), or None when nothing about it has been recorded."""
    found = credit_for([org_id]).get(org_id)
    return found.score if found else None


def credit_grade_for(org_id: int) -> str | None:
    """The agency's credit grade (A–D), or None when nothing about it has been recorded."""
    found = credit_for([org_id]).get(org_id)
    return found.grade if found else None


def credit_scores_for(org_ids: Iterable[int]) -> dict[int, float]:
    """Batch variant of :func:`credit_score_for` (agencies without inputs are left out)."""
    return {k: v.score for k, v in credit_for(org_ids).items()}


def credit_grades_for(org_ids: Iterable[int]) -> dict[int, str]:
    """Batch variant of :func:`credit_grade_for` (agencies without inputs are left out)."""
    return {k: v.grade for k, v in credit_for(org_ids).items()}


def score_row(org_id: int) -> CreditScore | None:
    """The stored score row of an agency."""
    return db.session.get(CreditScore, org_id) if is_db_id(org_id) else None


def get_agency(org_id: int) -> Organisation:
    """An agency by id.

    Raises:
        NotFound: no such organisation, or not an agency.
    """
    return db.session.get(Organisation, _agency_id(org_id))



def observed_market_mean() -> Decimal | None:
    """The weighted mean of every live rating on the 0–100 scale (shown beside the constant C)."""
    row = db.session.execute(sa.select(
        sa.func.coalesce(sa.func.sum(CreditScore.enterprise_weight + CreditScore.office_weight), 0),
        sa.func.coalesce(sa.func.sum(CreditScore.enterprise_sum + CreditScore.office_sum), 0),
    )).one()
    weight, total = int(row[0]), int(row[1])
    if weight <= 0:
        return None
    mean = Decimal(total) / CENTI / weight  # Σ w·r ÷ Σ w on the 1–5 scale
    return points(mean).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def red_list(*, q: str = "", limit: int = 50, on: date | None = None) -> list[tuple[Organisation, CreditScore]]:
    """The best-scored agencies with enough ratings and no sanction in force (红名单)."""
    from marketplace.sanctions.eligibility import sanctioned_org_ids_sql

    formula = current_formula()
    on = on or china_today()
    stmt = (
        sa.select(Organisation, CreditScore)
        .join(CreditScore, CreditScore.organisation_id == Organisation.id)
        .where(Organisation.kind == OrgKind.AGENCY,
               CreditScore.rating_count >= formula.red_list_min_ratings,
               Organisation.id.not_in(sanctioned_org_ids_sql(on)))
        .order_by(CreditScore.score_centi.desc(), CreditScore.rating_count.desc(), Organisation.id)
        .limit(max(1, min(limit, 200)))
    )
    q = clean_query(q)
    if q:
        like = "%" + q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        stmt = stmt.where(sa.or_(Organisation.name.ilike(like, escape="\\"), Organisation.uscc == q.upper()))
    return [(org, row) for org, row in db.session.execute(stmt).all()]


def near_threshold(margin: Decimal | int = 3, limit: int = 100) -> list[tuple[Organisation, CreditScore, str]]:
    """Agencies within ``margin`` points above the lower bound of their grade, and every D.

    Returns (organisation, score row, the grade they would fall to) — "D" rows fall nowhere.
    """
    formula = current_formula()
    margin_centi = int(Decimal(margin) * CENTI)
    conditions = [CreditScore.grade == "D"]
    below = dict(zip(("A", "B", "C"), ("B", "C", "D"), strict=True))
    for grade, lowest in formula.thresholds:
        conditions.append(sa.and_(CreditScore.grade == grade,
                                  CreditScore.score_centi < int(lowest * CENTI) + margin_centi))
    rows = db.session.execute(
        sa.select(Organisation, CreditScore)
        .join(CreditScore, CreditScore.organisation_id == Organisation.id)
        .where(sa.or_(*conditions))
        .order_by(CreditScore.score_centi, Organisation.id).limit(limit)
    ).all()
    return [(org, row, below.get(row.grade, "D")) for org, row in rows]



def published_formulas() -> tuple[Formula, ...]:
    """Every published version, oldest first."""
    return FORMULAS
