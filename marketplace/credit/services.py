"""The credit ledger, incremental scores, their recomputation and the public views of them.

Other domains record facts with :func:`record_credit_input` inside their own transaction (it
flushes, never commits). Each input updates the agency's running aggregates in the same
transaction, guarded by a conditional UPDATE on the row's ``version``, and writes one history
row and one audit event. ``recompute`` folds the whole ledger again and compares.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased, selectinload

from marketplace.accounts.models import Organisation, OrgKind
from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import ConcurrentUpdate, DomainError, NotFound
from marketplace.core.text import clean_query, has_control_chars, is_db_id
from marketplace.credit.formula import (
    FORMULAS,
    Aggregates,
    Contribution,
    Evaluation,
    Formula,
    contribution,
    current_formula,
    evaluate,
    formula_by_version,
    points,
)
from marketplace.credit.models import (
    CENTI,
    MAX_OVERRUN_DAYS,
    MAX_REFS,
    MAX_WEIGHT_CENTI,
    NOTE_MAX,
    RATING_KINDS,
    REF_ID_MAX,
    REF_LABEL_MAX,
    CreditInput,
    CreditInputKind,
    CreditInputRef,
    CreditScore,
    CreditScoreHistory,
    HistoryReason,
    InputEffect,
    RefType,
    SanctionLevel,
)
from marketplace.extensions import db

log = logging.getLogger(__name__)

SHANGHAI = ZoneInfo("Asia/Shanghai")
UPDATE_ATTEMPTS = 8
FUTURE_TOLERANCE = timedelta(minutes=5)


def china_today(now: datetime | None = None) -> date:
    """Today's date in China (Asia/Shanghai)."""
    return (now or utcnow()).astimezone(SHANGHAI).date()


def add_months(moment: datetime, months: int) -> datetime:
    """``moment`` shifted by whole calendar months (the day clamped to the month's length)."""
    index = moment.year * 12 + (moment.month - 1) + months
    year, month = divmod(index, 12)
    day = min(moment.day, calendar.monthrange(year, month + 1)[1])
    return moment.replace(year=year, month=month + 1, day=day)


# --- recording inputs ------------------------------------------------------------------------


@dataclass(frozen=True)
class Ref:
    """A plain reference to the object an input arose in."""

    object_type: RefType
    object_id: str
    label: str = ""


def _clean_refs(refs) -> list[Ref]:
    cleaned: list[Ref] = []
    for raw in refs or ():
        if isinstance(raw, Ref):
            kind, obj_id, label = raw.object_type, raw.object_id, raw.label
        elif isinstance(raw, Mapping):
            kind, obj_id, label = raw.get("object_type"), raw.get("object_id"), raw.get("label", "")
        else:
            parts = tuple(raw)
            if len(parts) not in (2, 3):
                raise DomainError(_l("A reference needs an object type and an id."))
            kind, obj_id, label = parts[0], parts[1], parts[2] if len(parts) == 3 else ""
        try:
            kind = RefType(kind)
        except ValueError as exc:
            raise DomainError(_l("Unknown kind of reference: %(kind)s.", kind=str(kind)[:40])) from exc
        obj_id = str(obj_id if obj_id is not None else "").strip()
        label = str(label or "").strip()
        if not obj_id or len(obj_id) > REF_ID_MAX or has_control_chars(obj_id):
            raise DomainError(_l("A reference id must be 1 to %(n)d plain characters.", n=REF_ID_MAX))
        if len(label) > REF_LABEL_MAX or has_control_chars(label):
            raise DomainError(_l("A reference label must be at most %(n)d plain characters.", n=REF_LABEL_MAX))
        cleaned.append(Ref(kind, obj_id, label))
    if len(cleaned) > MAX_REFS:
        raise DomainError(_l("At most %(n)d references per input.", n=MAX_REFS))
    return cleaned


def _centi(value, *, low: Decimal, high: Decimal, message) -> int:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise DomainError(message) from exc
    if not number.is_finite() or number < low or number > high:
        raise DomainError(message)
    return int((number * CENTI).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _checked_value(kind: CreditInputKind, value) -> int:
    if kind in RATING_KINDS:
        return _centi(value, low=Decimal(1), high=Decimal(5),
                      message=_l("A rating must be a number from 1 to 5."))
    if kind is CreditInputKind.OVERRUN_DAYS:
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_OVERRUN_DAYS:
            raise DomainError(_l("An overrun is a whole number of working days from 1 to %(n)d.",
                                 n=MAX_OVERRUN_DAYS))
        return value
    if value not in (1, None):
        raise DomainError(_l("This kind of input counts once; its value must be 1."))
    return 1


def _agency_id(agency_id) -> int:
    org_id = getattr(agency_id, "id", agency_id)
    org = db.session.get(Organisation, org_id) if is_db_id(org_id) else None
    if org is None or org.kind is not OrgKind.AGENCY:
        raise NotFound(_l("This agency does not exist."))
    return org.id


def record_credit_input(
    agency_id,
    kind,
    *,
    value=1,
    weight=1,
    level=None,
    occurred_at: datetime | None = None,
    refs: Iterable = (),
    note: str = "",
    actor=None,
    now: datetime | None = None,
) -> CreditInput:
    """Append one fact to an agency's credit ledger and update its score in this transaction.

    ``value``: the rating on the 1–5 scale (up to two decimals) for ratings, whole working days
    for an overrun, 1 for a complaint upheld, a refusal to sign or a sanction (``level`` then
    says which). ``weight`` (default 1) scales a rating within its kind; the approval-office
    multiplier comes from the formula. ``refs``: ``(object_type, object_id[, label])`` tuples,
    e.g. ``[("contract", 12, "HT-2026-0012"), ("approval_case", 7, "SP2026000007")]``.

    Raises:
        NotFound: the organisation is not an agency.
        DomainError: a value, weight, reference, date or note is out of range.
        ConcurrentUpdate: the score row kept changing under us (retry the request).
    """
    now = now or utcnow()
    try:
        kind = CreditInputKind(kind)
    except ValueError as exc:
        raise DomainError(_l("Unknown kind of credit input.")) from exc
    org_id = _agency_id(agency_id)
    stored_value = _checked_value(kind, value)
    stored_weight = _centi(weight, low=Decimal("0.01"), high=Decimal(MAX_WEIGHT_CENTI) / CENTI,
                           message=_l("A weight must be a number from 0.01 to 100."))
    if kind is CreditInputKind.SANCTION:
        try:
            level = SanctionLevel(level)
        except ValueError as exc:
            raise DomainError(_l("A sanction input needs its level.")) from exc
    else:
        level = None
    occurred_at = occurred_at or now
    if occurred_at.tzinfo is None:
        raise DomainError(_l("The time of the input must include a time zone."))
    if occurred_at > now + FUTURE_TOLERANCE:
        raise DomainError(_l("A credit input cannot lie in the future."))
    note = (note or "").strip()
    if len(note) > NOTE_MAX or has_control_chars(note):
        raise DomainError(_l("The note must be at most %(n)d plain characters.", n=NOTE_MAX))
    cleaned_refs = _clean_refs(refs)

    entry = CreditInput(
        organisation_id=org_id, kind=kind, effect=InputEffect.ADD, value=stored_value,
        weight=stored_weight, level=level, note=note, occurred_at=occurred_at, recorded_at=now,
        recorded_by_id=getattr(actor, "id", None),
    )
    entry.refs = [CreditInputRef(object_type=r.object_type, object_id=r.object_id, label=r.label)
                  for r in cleaned_refs]
    db.session.add(entry)
    db.session.flush()
    _apply_entry(entry, now=now)
    record_event("credit.input_recorded", entry, actor=actor, payload={
        "organisation_id": org_id, "kind": kind.value, "value": stored_value, "weight": stored_weight,
        "level": level.value if level else None,
        "refs": [f"{r.object_type.value}:{r.object_id}" for r in cleaned_refs],
    })
    return entry


def cancel_credit_input(entry: CreditInput, *, effect: InputEffect = InputEffect.REVERSAL,
                        note: str = "", actor=None, now: datetime | None = None,
                        occurred_at: datetime | None = None) -> CreditInput | None:
    """Record an entry cancelling ``entry`` (an expiry or a reversal); None if already cancelled.

    Raises:
        DomainError: ``entry`` itself cancels another entry, or ``effect`` is ADD.
    """
    now = now or utcnow()
    if entry.effect is not InputEffect.ADD or effect is InputEffect.ADD:
        raise DomainError(_l("Only an added input can be cancelled, by an expiry or a reversal."))
    cancelling = CreditInput(
        organisation_id=entry.organisation_id, kind=entry.kind, effect=effect, value=entry.value,
        weight=entry.weight, level=entry.level, cancels_id=entry.id, note=(note or "")[:NOTE_MAX],
        occurred_at=occurred_at or now, recorded_at=now, recorded_by_id=getattr(actor, "id", None),
    )
    try:
        with db.session.begin_nested():
            db.session.add(cancelling)
            db.session.flush()
    except IntegrityError:
        # The unique cancels_id: someone cancelled it first (another job runner, a retry).
        return None
    _apply_entry(cancelling, now=now)
    record_event(f"credit.input_{effect.value}", cancelling, actor=actor, payload={
        "organisation_id": entry.organisation_id, "cancels": entry.id, "kind": entry.kind.value,
    })
    return cancelling


def reverse_inputs_for(ref_type, ref_id, *, kind=None, note: str = "", actor=None,
                       now: datetime | None = None) -> list[CreditInput]:
    """Reverse every live input that refers to ``(ref_type, ref_id)`` (e.g. a revoked sanction)."""
    ref = aliased(CreditInputRef)
    stmt = (
        sa.select(CreditInput)
        .where(CreditInput.effect == InputEffect.ADD, _not_cancelled(),
               sa.select(ref.id).where(ref.input_id == CreditInput.id, ref.object_type == RefType(ref_type),
                                       ref.object_id == str(ref_id)).exists())
        .order_by(CreditInput.id)
    )
    if kind is not None:
        stmt = stmt.where(CreditInput.kind == CreditInputKind(kind))
    done = []
    for entry in db.session.execute(stmt).scalars().all():
        cancelled = cancel_credit_input(entry, effect=InputEffect.REVERSAL, note=note, actor=actor, now=now)
        if cancelled is not None:
            done.append(cancelled)
    return done


def _not_cancelled():
    later = aliased(CreditInput)
    return ~sa.select(later.id).where(later.cancels_id == CreditInput.id).exists()


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
    total = db.session.execute(
        sa.select(sa.func.count(CreditInput.id)).where(CreditInput.organisation_id == org.id)
    ).scalar_one()
    entries = db.session.execute(
        sa.select(CreditInput).where(CreditInput.organisation_id == org.id)
        .options(selectinload(CreditInput.refs))
        .order_by(CreditInput.occurred_at.desc(), CreditInput.id.desc()).limit(limit)
    ).scalars().all()
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


def published_formulas() -> tuple[Formula, ...]:
    """Every published version, oldest first."""
    return FORMULAS


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
