"""The published, versioned credit formula.

Score = Bayesian average of the ratings on a 0–100 scale, minus penalties, clamped to 0–100::

    points(r)  = (r − 1) × 25                      a rating r on the 1–5 scale
    R          = (m × C + Σ wᵢ × points(rᵢ)) / (m + Σ wᵢ)
    wᵢ         = the rating's weight × (k for approval-office ratings, else 1)
    P          = min(overrun days × p_day, P_overrun_cap) + complaints upheld × p_complaint
                 + refusals to sign × p_refusal + Σ sanctions × p_level
    score      = max(0, min(100, R − P)), rounded half up to 0.01
    grade      = A, B, C by the first threshold the score reaches, else D

The market mean C is a **published constant** of each version, not the live mean of all ratings:
a live mean would change every agency's score whenever anyone is rated, so scores could not be
updated incrementally nor reproduced from an agency's own inputs. The formula page shows the
observed mean beside it, and a new version adjusts the constant when they drift apart.

Time decay is a step: an input counts for ``decay_months`` after it occurred, then the daily job
records an *expiry* entry in the ledger that cancels it. The ledger alone therefore determines
every score (no hidden "as of" date), and the expiry is visible on the agency's credit page.

A new version is added at the end of ``FORMULAS`` with a later ``effective_from``; the daily job
re-scores every agency from its stored aggregates on that day. Published versions never change.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import lazy_gettext as _l

from marketplace.credit.dates import china_today
from marketplace.credit.models import CENTI, CreditInputKind, SanctionLevel

POINTS_PER_STEP = Decimal(25)  # 1 → 0, 2 → 25, 3 → 50, 4 → 75, 5 → 100
HUNDRED = Decimal(100)
ZERO = Decimal(0)
CENT = Decimal("0.01")
GRADES = ("A", "B", "C", "D")


@dataclass(frozen=True)
class Formula:
    """One published version of the credit formula."""

    version: int
    effective_from: date
    prior_weight: Decimal  # m: how many "average" ratings a new agency starts with
    market_mean: Decimal  # C on the 0–100 scale
    office_multiplier: Decimal  # k: an approval office's rating counts k times
    overrun_per_day: Decimal
    overrun_cap: Decimal
    complaint_penalty: Decimal
    refusal_penalty: Decimal
    sanction_penalties: Mapping[SanctionLevel, Decimal]
    decay_months: int
    thresholds: tuple[tuple[str, Decimal], ...]  # (grade, lowest score), best first; below all: D
    red_list_min_ratings: int
    changes: object = None  # what changed from the previous version (lazy text)

    def sanction_penalty(self, level: SanctionLevel) -> Decimal:
        return self.sanction_penalties[level]

    def lower_bound(self, grade: str) -> Decimal:
        """The lowest score of ``grade`` (0 for D)."""
        return dict(self.thresholds).get(grade, ZERO)

    def grade_for(self, score: Decimal) -> str:
        """The grade of a (rounded) score."""
        for grade, lowest in self.thresholds:
            if score >= lowest:
                return grade
        return "D"


FORMULAS: tuple[Formula, ...] = (
    Formula(
        version=1,
        effective_from=date(2024, 1, 1),
        prior_weight=Decimal(5),
        market_mean=Decimal(75),  # 4.0 on the 1–5 scale
        office_multiplier=Decimal(2),
        overrun_per_day=Decimal(1),
        overrun_cap=Decimal(30),
        complaint_penalty=Decimal(5),
        refusal_penalty=Decimal(3),
        sanction_penalties={
            SanctionLevel.WARNING: Decimal(5),
            SanctionLevel.SUSPENSION: Decimal(15),
            SanctionLevel.BLACKLIST: Decimal(40),
        },
        decay_months=24,
        thresholds=(("A", Decimal(85)), ("B", Decimal(70)), ("C", Decimal(60))),
        red_list_min_ratings=3,
        changes=_l("First published version."),
    ),
)


def formula_on(day: date) -> Formula:
    """The version in force on ``day`` (the first version before its effective date)."""
    chosen = FORMULAS[0]
    for formula in FORMULAS:
        if formula.effective_from <= day:
            chosen = formula
    return chosen


def formula_by_version(version: int) -> Formula | None:
    """A published version by number."""
    return next((f for f in FORMULAS if f.version == version), None)


def current_formula() -> Formula:
    """The version in force today (Asia/Shanghai)."""
    return formula_on(china_today())


def points(rating: Decimal) -> Decimal:
    """A rating on the 1–5 scale mapped to 0–100."""
    return (rating - 1) * POINTS_PER_STEP


@dataclass(frozen=True)
class Aggregates:
    """The formula-independent running totals of an agency's ledger (all integers)."""

    rating_count: int = 0
    enterprise_weight: int = 0  # Σ weight, hundredths
    enterprise_sum: int = 0  # Σ weight × rating, ten-thousandths
    office_weight: int = 0
    office_sum: int = 0
    overrun_days: int = 0
    complaints: int = 0
    refusals: int = 0
    warnings: int = 0
    suspensions: int = 0
    blacklistings: int = 0
    entries: int = 0

    def __add__(self, other: Aggregates) -> Aggregates:
        return Aggregates(**{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)})

    def as_dict(self) -> dict[str, int]:
        return {f.name: int(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def of_row(cls, row) -> Aggregates:
        return cls(**{f.name: int(getattr(row, f.name) or 0) for f in fields(cls)})

    @classmethod
    def of_entry(cls, kind: CreditInputKind, *, value: int, weight: int, sign: int,
                 level: SanctionLevel | None = None) -> Aggregates:
        """What one ledger entry adds (sign +1) or takes away (sign −1)."""
        delta: dict[str, int] = {"entries": 1}
        if kind is CreditInputKind.RATING_ENTERPRISE:
            delta.update(rating_count=sign, enterprise_weight=sign * weight,
                         enterprise_sum=sign * weight * value)
        elif kind is CreditInputKind.RATING_APPROVAL_OFFICE:
            delta.update(rating_count=sign, office_weight=sign * weight, office_sum=sign * weight * value)
        elif kind is CreditInputKind.OVERRUN_DAYS:
            delta["overrun_days"] = sign * value
        elif kind is CreditInputKind.COMPLAINT_UPHELD:
            delta["complaints"] = sign
        elif kind is CreditInputKind.SIGNING_REFUSAL:
            delta["refusals"] = sign
        elif kind is CreditInputKind.SANCTION:
            column = {SanctionLevel.WARNING: "warnings", SanctionLevel.SUSPENSION: "suspensions",
                      SanctionLevel.BLACKLIST: "blacklistings"}[SanctionLevel(level)]
            delta[column] = sign
        return cls(**delta)


@dataclass(frozen=True)
class Evaluation:
    """A score worked out step by step, for the pages that explain it."""

    formula: Formula
    prior_points: Decimal  # m × C
    rating_points: Decimal  # Σ wᵢ × points(rᵢ)
    rating_weight: Decimal  # Σ wᵢ
    average: Decimal  # R, unrounded
    overrun_penalty: Decimal
    overrun_capped: bool
    complaint_penalty: Decimal
    refusal_penalty: Decimal
    sanction_penalty: Decimal
    score: Decimal  # rounded to 0.01, clamped

    @property
    def penalty(self) -> Decimal:
        return self.overrun_penalty + self.complaint_penalty + self.refusal_penalty + self.sanction_penalty

    @property
    def score_centi(self) -> int:
        return int(self.score * CENTI)

    @property
    def grade(self) -> str:
        return self.formula.grade_for(self.score)

    @property
    def average_rounded(self) -> Decimal:
        return self.average.quantize(CENT, rounding=ROUND_HALF_UP)


def evaluate(formula: Formula, agg: Aggregates) -> Evaluation:
    """The score and grade that ``agg`` gives under ``formula`` (exact decimal arithmetic)."""
    k = formula.office_multiplier
    w_ent = Decimal(agg.enterprise_weight) / CENTI
    s_ent = Decimal(agg.enterprise_sum) / (CENTI * CENTI)
    w_off = Decimal(agg.office_weight) / CENTI
    s_off = Decimal(agg.office_sum) / (CENTI * CENTI)
    # Σ w × (r − 1) × 25 = 25 × (Σ w × r − Σ w)
    rating_points = POINTS_PER_STEP * (s_ent - w_ent) + k * POINTS_PER_STEP * (s_off - w_off)
    rating_weight = w_ent + k * w_off
    prior_points = formula.prior_weight * formula.market_mean
    denominator = formula.prior_weight + rating_weight
    average = (prior_points + rating_points) / denominator if denominator > 0 else formula.market_mean
    raw_overrun = Decimal(max(agg.overrun_days, 0)) * formula.overrun_per_day
    overrun = min(raw_overrun, formula.overrun_cap)
    complaint = Decimal(max(agg.complaints, 0)) * formula.complaint_penalty
    refusal = Decimal(max(agg.refusals, 0)) * formula.refusal_penalty
    sanction = (
        Decimal(max(agg.warnings, 0)) * formula.sanction_penalty(SanctionLevel.WARNING)
        + Decimal(max(agg.suspensions, 0)) * formula.sanction_penalty(SanctionLevel.SUSPENSION)
        + Decimal(max(agg.blacklistings, 0)) * formula.sanction_penalty(SanctionLevel.BLACKLIST)
    )
    raw = average - (overrun + complaint + refusal + sanction)
    score = min(max(raw, ZERO), HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)
    return Evaluation(
        formula=formula, prior_points=prior_points, rating_points=rating_points,
        rating_weight=rating_weight, average=average, overrun_penalty=overrun,
        overrun_capped=raw_overrun > formula.overrun_cap, complaint_penalty=complaint,
        refusal_penalty=refusal, sanction_penalty=sanction, score=score,
    )


@dataclass(frozen=True)
class Contribution:
    """What one ledger entry means under a formula, for the "why this score" page."""

    effective_weight: Decimal | None = None  # ratings: weight × multiplier
    rating_points: Decimal | None = None  # ratings: points(r)
    penalty: Decimal | None = None  # penalties: points taken off (before any cap)


def contribution(formula: Formula, kind: CreditInputKind, *, value: int, weight: int,
                 level: SanctionLevel | None = None) -> Contribution:
    """How one entry enters the formula."""
    if kind.is_rating:
        multiplier = formula.office_multiplier if kind is CreditInputKind.RATING_APPROVAL_OFFICE else 1
        return Contribution(effective_weight=Decimal(weight) / CENTI * multiplier,
                            rating_points=points(Decimal(value) / CENTI))
    if kind is CreditInputKind.OVERRUN_DAYS:
        return Contribution(penalty=Decimal(value) * formula.overrun_per_day)
    if kind is CreditInputKind.COMPLAINT_UPHELD:
        return Contribution(penalty=formula.complaint_penalty)
    if kind is CreditInputKind.SIGNING_REFUSAL:
        return Contribution(penalty=formula.refusal_penalty)
    return Contribution(penalty=formula.sanction_penalty(SanctionLevel(level)))


# The worked example on the formula page: three enterprise ratings, one approval-office rating,
# a four-day overrun and one upheld complaint.
EXAMPLE_RATINGS_ENTERPRISE = (Decimal("4.6"), Decimal("4.2"), Decimal("3.8"))
EXAMPLE_RATINGS_OFFICE = (Decimal("4.5"),)
EXAMPLE_OVERRUN_DAYS = 4
EXAMPLE_COMPLAINTS = 1


def example_aggregates() -> Aggregates:
    """The aggregates of the worked example."""
    total = Aggregates()
    for rating in EXAMPLE_RATINGS_ENTERPRISE:
        total += Aggregates.of_entry(CreditInputKind.RATING_ENTERPRISE, value=int(rating * CENTI),
                                     weight=CENTI, sign=1)
    for rating in EXAMPLE_RATINGS_OFFICE:
        total += Aggregates.of_entry(CreditInputKind.RATING_APPROVAL_OFFICE, value=int(rating * CENTI),
                                     weight=CENTI, sign=1)
    total += Aggregates.of_entry(CreditInputKind.OVERRUN_DAYS, value=EXAMPLE_OVERRUN_DAYS, weight=CENTI, sign=1)
    for _ in range(EXAMPLE_COMPLAINTS):
        total += Aggregates.of_entry(CreditInputKind.COMPLAINT_UPHELD, value=1, weight=CENTI, sign=1)
    return total
