"""The credit ledger: recording inputs and cancelling them (expiry, reversal).

Other domains record facts with :func:`record_credit_input` inside their own transaction (it
flushes, never commits). The ledger is append-only; each entry updates the agency's running
aggregates (``scoring``) and writes one audit event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

from marketplace.accounts.models import Organisation, OrgKind
from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.text import has_control_chars, is_db_id
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
    InputEffect,
    RefType,
    SanctionLevel,
)
from marketplace.credit.scoring import _apply_entry
from marketplace.extensions import db

FUTURE_TOLERANCE = timedelta(minutes=5)


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
