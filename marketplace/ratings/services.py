"""Dual evaluation rules (双向评价): who may rate a finished contract, blindness, reveal, replies,
moderation and the credit inputs.

- A contract finished (completed on acceptance, or terminated after it was in force) opens a
  rating window of ``RATING_WINDOW_DAYS`` calendar days (default 14).
- Three ratings, each once: the enterprise rates the agency (five dimensions), the approval
  department of the linked approval case rates the result for that case, the agency rates the
  enterprise. No edits.
- Blind: nothing is shown to the other side or the public until both the enterprise and the
  agency have rated, or the window closes (the job). Then every rating of the contract is
  revealed at once; a rating given after that is public when given.
- Revealing a rating about the agency records it in the agency's credit ledger (the mean of its
  dimensions), exactly once.
- After the reveal the rated party may reply once; a regulator may hide an abusive comment, or an
  abusive reply, with a reason on the record (the text stays on file), never a score.

Services flush and never commit; the caller commits once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from marketplace.accounts.models import Role
from marketplace.audit.services import events_for, record_event
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.contracts.signals import contract_terminated
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotFound, PermissionDenied
from marketplace.core.text import clean_text, is_db_id
from marketplace.credit import services as credit
from marketplace.credit.models import CreditInputKind
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.ratings.models import (
    COMMENT_MAX,
    HIDE_REASON_MAX,
    REPLY_MAX,
    Rating,
    RatingRole,
    RatingStatus,
    RatingWindow,
)
from marketplace.ratings.states import RATING_MACHINE

log = logging.getLogger(__name__)

SYSTEM = "system"
FINISHED = (ContractStatus.COMPLETED, ContractStatus.TERMINATED)
CREDIT_KIND = {
    RatingRole.ENTERPRISE: CreditInputKind.RATING_ENTERPRISE,
    RatingRole.APPROVAL_OFFICE: CreditInputKind.RATING_APPROVAL_OFFICE,
}

register_kind("ratings.received", _l("A rating of contract %(no)s was submitted. It stays sealed until both "
                                     "sides have rated or the rating period ends on %(date)s."))
register_kind("ratings.revealed", _l("The ratings of contract %(no)s are now public."))
register_kind("ratings.replied", _l("The rated party replied to your rating of contract %(no)s."))
register_kind("ratings.comment_hidden", _l("A regulator hid the comment of your rating of contract "
                                           "%(no)s: %(reason)s"))
register_kind("ratings.reply_hidden", _l("A regulator hid your reply to the rating of contract "
                                         "%(no)s: %(reason)s"))


def window_days() -> int:
    """How many calendar days the parties have to rate a finished contract."""
    return int(current_app.config.get("RATING_WINDOW_DAYS", 14))


def _link(contract_id: int) -> str:
    return f"/contracts/{contract_id}/ratings"


# --- the window --------------------------------------------------------------------------------


def window_of(contract: Contract) -> RatingWindow | None:
    """The contract's rating window, if it was opened."""
    return db.session.execute(
        sa.select(RatingWindow).where(RatingWindow.contract_id == contract.id)
    ).scalar_one_or_none()


def is_rateable(contract: Contract) -> bool:
    """A real, finished contract: completed, or terminated after it had been in force."""
    if contract.status is ContractStatus.COMPLETED:
        return True
    return contract.status is ContractStatus.TERMINATED and contract.in_force_at is not None


def finished_at(contract: Contract) -> datetime | None:
    """When the contract was completed or terminated, from the audit trail."""
    for event in reversed(events_for("contracts", contract.id)):
        if event.action in ("contract.completed", "contract.terminated"):
            return event.created_at
    return None


def open_window(contract: Contract, *, now: datetime | None = None) -> RatingWindow:
    """The contract's rating window, opened from the moment it finished (idempotent).

    Raises:
        DomainError: the contract is not finished (or ended without ever being in force).
    """
    existing = window_of(contract)
    if existing is not None:
        return existing
    if not is_rateable(contract):
        raise DomainError(_l("A contract can be rated once its service is finished."))
    opened = now or finished_at(contract) or utcnow()
    window = RatingWindow(
        contract_id=contract.id, buyer_org_id=contract.buyer_org_id,
        agency_org_id=contract.agency_org_id, approval_case_id=contract.request.approval_case_id,
        opened_at=opened, closes_at=opened + timedelta(days=window_days()),
    )
    try:
        with db.session.begin_nested():
            db.session.add(window)
            db.session.flush()
    except IntegrityError:
        found = window_of(contract)
        if found is None:
            raise
        return found
    record_event("rating_window.opened", window, actor=SYSTEM, payload={
        "contract": contract.contract_no, "closes_at": window.closes_at.isoformat(),
    })
    return window


def _on_delivery_accepted(sender, **extra) -> None:
    """Delivery accepted the result and completed the contract: open its rating window."""
    open_window(sender, now=extra.get("now"))


def _on_contract_terminated(sender, **extra) -> None:
    """A contract ended early: it can be rated if it had been in force."""
    if is_rateable(sender):
        open_window(sender, now=extra.get("now"))


def connect_signals() -> None:
    """Subscribe to the delivery and contracts signals (idempotent; done at import)."""
    contract_terminated.connect(_on_contract_terminated)
    try:
        from marketplace.delivery.signals import delivery_accepted
    except ImportError:  # pragma: no cover - delivery not installed
        return
    delivery_accepted.connect(_on_delivery_accepted)


connect_signals()


# --- who may rate ------------------------------------------------------------------------------


def role_of(user, contract: Contract) -> RatingRole | None:
    """Which rating ``user`` may give on ``contract`` (their organisation's), or None."""
    if not getattr(user, "is_authenticated", False) or user.organisation_id is None:
        return None
    if user.role is Role.ENTERPRISE_STAFF and user.organisation_id == contract.buyer_org_id:
        return RatingRole.ENTERPRISE
    if user.role is Role.AGENCY_STAFF and user.organisation_id == contract.agency_org_id:
        return RatingRole.AGENCY
    if (user.role is Role.APPROVAL_OFFICER
            and user.organisation_id == contract.request.approval_case.department_id):
        return RatingRole.APPROVAL_OFFICE
    return None


def subject_of(role: RatingRole, contract: Contract) -> int:
    """The organisation a rating of ``role`` is about."""
    return contract.buyer_org_id if role is RatingRole.AGENCY else contract.agency_org_id


def can_reply(user, rating: Rating) -> bool:
    """The rated party's own staff, once the rating is public and not yet answered."""
    if not (rating.is_revealed and rating.reply is None and getattr(user, "is_authenticated", False)):
        return False
    wanted = Role.ENTERPRISE_STAFF if rating.role is RatingRole.AGENCY else Role.AGENCY_STAFF
    return user.role is wanted and user.organisation_id == rating.subject_org_id


def get_contract_for(user, contract_id) -> Contract:
    """A finished contract whose ratings ``user`` may open (a party or the case's department).

    Raises:
        NotFound: no such contract, not finished, or ``user`` has no part in it.
    """
    contract = db.session.get(Contract, contract_id) if is_db_id(contract_id) else None
    if contract is None or not is_rateable(contract):
        raise NotFound(_l("This page does not exist."))
    if role_of(user, contract) is None and getattr(user, "role", None) not in (Role.REGULATOR, Role.ADMIN):
        raise NotFound(_l("This page does not exist."))
    return contract


def get_rating(rating_id) -> Rating:
    """A rating by id.

    Raises:
        NotFound: no such rating.
    """
    rating = db.session.get(Rating, rating_id) if is_db_id(rating_id) else None
    if rating is None:
        raise NotFound(_l("This page does not exist."))
    return rating


# --- giving a rating ---------------------------------------------------------------------------


def mean_centi(scores: dict[str, int]) -> int:
    """The mean of the scores in hundredths, rounded half up."""
    mean = (Decimal(sum(scores.values())) / len(scores)).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return int(mean * 100)


def _checked_scores(role: RatingRole, scores: dict) -> dict[str, int]:
    cleaned = {}
    for dim in role.dimensions:
        value = scores.get(dim)
        if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            value = int(value.strip())
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise DomainError(_l("Give every score as a whole number from 1 to 5."), field=dim)
        cleaned[dim] = value
    unknown = set(scores) - set(role.dimensions)
    if unknown:
        raise DomainError(_l("This rating has no such dimension."))
    return cleaned


def _lock_window(window: RatingWindow) -> None:
    """Take the window's row lock (PostgreSQL) so the two sides' ratings are serialised."""
    db.session.execute(
        sa.update(RatingWindow).where(RatingWindow.id == window.id)
        .values(lock_seq=RatingWindow.lock_seq + 1).execution_options(synchronize_session=False)
    )
    db.session.refresh(window)


def submit_rating(contract: Contract, *, scores: dict, comment: str, actor,
                  now: datetime | None = None) -> Rating:
    """Give the actor's organisation's rating of a finished contract, once.

    When both the enterprise and the agency have rated, every rating of the contract is revealed
    (and the ratings about the agency reach its credit). The other side is told a rating arrived.

    Raises:
        PermissionDenied: the actor is not an authorised user of a party or of the case's department.
        DomainError: the contract is not finished, the rating period has ended, a score is out of
            range, the comment is too long, or this rating was already given.
    """
    now = now or utcnow()
    role = role_of(actor, contract)
    if role is None:
        raise PermissionDenied(_l("Only the parties of this contract and the approval department "
                                  "of its case can rate it."))
    window = open_window(contract)
    if now >= window.closes_at:
        raise DomainError(_l("The rating period of this contract ended on %(date)s.",
                             date=window.closes_at.date().isoformat()))
    cleaned = _checked_scores(role, scores)
    comment = clean_text(comment, max_len=COMMENT_MAX, field="comment", required=False, multiline=True)
    _lock_window(window)
    if _rating_of(contract.id, role) is not None:
        raise DomainError(_l("This contract has already been rated by your side; a rating cannot be changed."))
    rating = Rating(
        window_id=window.id, contract_id=contract.id, approval_case_id=window.approval_case_id,
        role=role, author_org_id=actor.organisation_id, author_id=actor.id,
        subject_org_id=subject_of(role, contract), mean_centi=mean_centi(cleaned), comment=comment,
        submitted_at=now, **cleaned,
    )
    try:
        with db.session.begin_nested():
            db.session.add(rating)
            db.session.flush()
    except IntegrityError as exc:
        raise DomainError(_l("This contract has already been rated by your side; a rating cannot be "
                             "changed.")) from exc
    record_event("rating.submitted", rating, actor=actor, payload={
        "contract": contract.contract_no, "role": role.value, "scores": cleaned,
        "mean": str(rating.mean), "approval_case": rating.approval_case.case_number,
    })
    if window.revealed_at is not None:
        _reveal_rating(rating, now=now)
    elif _both_sides_rated(contract.id):
        reveal_window(window, now=now, actor=SYSTEM)
    if rating.status is RatingStatus.SUBMITTED:
        notify_organisation(rating.subject_org, "ratings.received",
                            params={"no": contract.contract_no, "date": window.closes_at.date().isoformat()},
                            link=_link(contract.id), dedupe_key=f"rating-received:{rating.id}")
    return rating


def _rating_of(contract_id: int, role: RatingRole) -> Rating | None:
    return db.session.execute(
        sa.select(Rating).where(Rating.contract_id == contract_id, Rating.role == role)
    ).scalar_one_or_none()


def _both_sides_rated(contract_id: int) -> bool:
    roles = set(db.session.execute(
        sa.select(Rating.role).where(Rating.contract_id == contract_id)
    ).scalars())
    return {RatingRole.ENTERPRISE, RatingRole.AGENCY} <= roles


# --- the reveal --------------------------------------------------------------------------------


def reveal_window(window: RatingWindow, *, now: datetime, actor=SYSTEM) -> bool:
    """Make every rating of the window public (once) and record the agency's credit inputs.

    Returns False when another transaction revealed it first.
    """
    result = db.session.execute(
        sa.update(RatingWindow)
        .where(RatingWindow.id == window.id, RatingWindow.revealed_at.is_(None))
        .values(revealed_at=now).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        return False
    window.__dict__["revealed_at"] = now
    ratings = list(db.session.execute(
        sa.select(Rating).where(Rating.window_id == window.id, Rating.status == RatingStatus.SUBMITTED)
        .order_by(Rating.id).execution_options(populate_existing=True)
    ).scalars())
    record_event("rating_window.revealed", window, actor=actor, payload={
        "contract": window.contract.contract_no, "ratings": [r.id for r in ratings],
        "cause": "window_closed" if now >= window.closes_at else "both_rated",
    })
    for rating in ratings:
        _reveal_rating(rating, now=now)
    if ratings:
        contract = window.contract
        # Buyer then agency (one notice each, also if they were one organisation): a set's order varied by run.
        for org in dict.fromkeys((contract.buyer, contract.agency)):
            notify_organisation(org, "ratings.revealed", params={"no": contract.contract_no},
                                link=_link(contract.id), dedupe_key=f"ratings-revealed:{contract.id}")
    return True


def _reveal_rating(rating: Rating, *, now: datetime) -> None:
    rating.revealed_at = now
    RATING_MACHINE.transition(rating, RatingStatus.REVEALED, actor=SYSTEM)
    kind = CREDIT_KIND.get(rating.role)
    if kind is None or rating.credit_input_id is not None:
        return
    contract, case = rating.contract, rating.approval_case
    entry = credit.record_credit_input(
        rating.subject_org_id, kind, value=rating.mean, occurred_at=min(rating.submitted_at, now),
        refs=[("contract", contract.id, contract.contract_no), ("approval_case", case.id, case.case_number),
              ("rating", rating.id, rating.role.value)],
        note=f"{contract.contract_no} {rating.role.value}", now=now,
    )
    rating.credit_input_id = entry.id


def due_windows(now: datetime) -> list[int]:
    """Windows whose period ended and that are not yet revealed."""
    return list(db.session.execute(
        sa.select(RatingWindow.id)
        .where(RatingWindow.revealed_at.is_(None), RatingWindow.closes_at <= now)
        .order_by(RatingWindow.id)
    ).scalars())


def finished_without_window() -> list[int]:
    """Finished contracts whose window was never opened (e.g. ended before this domain listened)."""
    return list(db.session.execute(
        sa.select(Contract.id)
        .outerjoin(RatingWindow, RatingWindow.contract_id == Contract.id)
        .where(RatingWindow.id.is_(None), sa.or_(
            Contract.status == ContractStatus.COMPLETED,
            sa.and_(Contract.status == ContractStatus.TERMINATED, Contract.in_force_at.is_not(None)),
        ))
        .order_by(Contract.id)
    ).scalars())


# --- reply and moderation ----------------------------------------------------------------------


def reply_to_rating(rating: Rating, *, text: str, actor, now: datetime | None = None) -> Rating:
    """The rated party answers a public rating, once.

    Raises:
        PermissionDenied: not the rated party's staff.
        DomainError: the rating is not public yet, already answered, or the text is empty or too long.
    """
    now = now or utcnow()
    wanted = Role.ENTERPRISE_STAFF if rating.role is RatingRole.AGENCY else Role.AGENCY_STAFF
    if not (getattr(actor, "role", None) is wanted and actor.organisation_id == rating.subject_org_id):
        raise PermissionDenied(_l("Only the rated party can reply to a rating."))
    if not rating.is_revealed:
        raise DomainError(_l("A rating can be answered once it is public."))
    text = clean_text(text, max_len=REPLY_MAX, field="text", multiline=True)
    result = db.session.execute(
        sa.update(Rating).where(Rating.id == rating.id, Rating.reply.is_(None))
        .values(reply=text, replied_at=now, replied_by_id=actor.id)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError(_l("This rating has already been answered; there is one reply per rating."))
    db.session.refresh(rating)
    record_event("rating.replied", rating, actor=actor, payload={"length": len(text)})
    notify_organisation(rating.author_org, "ratings.replied", params={"no": rating.contract.contract_no},
                        link=_link(rating.contract_id), dedupe_key=f"rating-replied:{rating.id}")
    return rating


def _moderation_reason(reason: str, actor) -> str:
    if getattr(actor, "role", None) is not Role.REGULATOR:
        raise PermissionDenied(_l("Only a regulator can moderate ratings."))
    return clean_text(reason, max_len=HIDE_REASON_MAX, field="reason", multiline=True)


def hide_comment(rating: Rating, *, reason: str, actor, now: datetime | None = None) -> Rating:
    """A regulator hides an abusive comment; the scores stay and the reason is public.

    Raises:
        PermissionDenied: not a regulator.
        DomainError: no reason, the rating is not public, has no comment, or is already hidden.
    """
    now = now or utcnow()
    reason = _moderation_reason(reason, actor)
    if not rating.is_revealed or not rating.comment:
        raise DomainError(_l("Only the comment of a public rating can be hidden."))
    result = db.session.execute(
        sa.update(Rating).where(Rating.id == rating.id, Rating.comment_hidden_at.is_(None))
        .values(comment_hidden_at=now, comment_hidden_by_id=actor.id, comment_hidden_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError(_l("This comment is already hidden."))
    db.session.refresh(rating)
    record_event("rating.comment_hidden", rating, actor=actor, payload={"reason": reason})
    notify_organisation(rating.author_org, "ratings.comment_hidden",
                        params={"no": rating.contract.contract_no, "reason": reason[:200]},
                        link=_link(rating.contract_id), dedupe_key=f"rating-hidden:{rating.id}")
    return rating


def hide_reply(rating: Rating, *, reason: str, actor, now: datetime | None = None) -> Rating:
    """A regulator hides an abusive reply, as a comment: the reason is public in its place, the
    text stays on file, and the rated party cannot reply again.

    Raises:
        PermissionDenied: not a regulator.
        DomainError: no reason, the rating has no reply, or the reply is already hidden.
    """
    now = now or utcnow()
    reason = _moderation_reason(reason, actor)
    if rating.reply is None:
        raise DomainError(_l("This rating has no reply to hide."))
    result = db.session.execute(
        sa.update(Rating).where(Rating.id == rating.id, Rating.reply.is_not(None),
                                Rating.reply_hidden_at.is_(None))
        .values(reply_hidden_at=now, reply_hidden_by_id=actor.id, reply_hidden_reason=reason)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise DomainError(_l("This reply is already hidden."))
    db.session.refresh(rating)
    record_event("rating.reply_hidden", rating, actor=actor, payload={"reason": reason})
    notify_organisation(rating.subject_org, "ratings.reply_hidden",
                        params={"no": rating.contract.contract_no, "reason": reason[:200]},
                        link=_link(rating.contract_id), dedupe_key=f"rating-reply-hidden:{rating.id}")
    return rating


# --- reading -----------------------------------------------------------------------------------


def visible_ratings(user, contract: Contract) -> list[Rating]:
    """The contract's ratings ``user`` may read: their own side's, and the public ones."""
    role = role_of(user, contract)
    return [r for r in db.session.execute(
        sa.select(Rating).where(Rating.contract_id == contract.id).order_by(Rating.id)
    ).scalars() if r.is_revealed or r.role is role]


def own_rating(user, contract: Contract) -> Rating | None:
    """The rating ``user``'s side gave on ``contract``."""
    role = role_of(user, contract)
    return _rating_of(contract.id, role) if role else None


@dataclass
class Panel:
    """What the contract page and the case page show about a contract's ratings."""

    contract: Contract
    window: RatingWindow | None
    role: RatingRole | None
    own: Rating | None
    can_rate: bool


def panel_for(user, contract: Contract, now: datetime | None = None) -> Panel | None:
    """The rating box of a contract for ``user``; None when the contract cannot be rated."""
    if not is_rateable(contract):
        return None
    now = now or utcnow()
    window = window_of(contract)
    role = role_of(user, contract)
    own = _rating_of(contract.id, role) if role else None
    open_now = window is None or now < window.closes_at
    return Panel(contract, window, role, own, role is not None and own is None and open_now)


def case_contracts(case) -> list[Contract]:
    """The finished contracts of an approval case (for its department's rating links)."""
    from marketplace.procurement.models import PurchaseRequest

    rows = db.session.execute(
        sa.select(Contract).join(PurchaseRequest, PurchaseRequest.id == Contract.request_id)
        .where(PurchaseRequest.approval_case_id == case.id, Contract.status.in_(FINISHED))
        .order_by(Contract.id)
    ).scalars()
    return [c for c in rows if is_rateable(c)]


def public_ratings_about(org_id: int, *, limit: int = 50) -> list[Rating]:
    """The public ratings an organisation received, newest first."""
    return list(db.session.execute(
        sa.select(Rating).options(selectinload(Rating.contract), selectinload(Rating.approval_case),
                                  selectinload(Rating.author_org), selectinload(Rating.subject_org))
        .where(Rating.subject_org_id == org_id, Rating.status == RatingStatus.REVEALED)
        .order_by(Rating.revealed_at.desc(), Rating.id.desc()).limit(limit)
    ).scalars())


@dataclass
class Summary:
    """The aggregate of an organisation's public ratings of one role."""

    role: RatingRole
    count: int
    mean: Decimal | None


def public_summary(org_id: int) -> list[Summary]:
    """Count and mean of the public ratings an organisation received, per role.

    The ratings about an agency (by the enterprise and by the approval office) are read from the
    credit ledger, the published record every revealed rating enters and its score rests on: the
    summary counts exactly the ratings the credit page lists and counts. The agencies' ratings of
    an enterprise feed no credit and are read from the ratings themselves.
    """
    by_kind = {kind: role for role, kind in CREDIT_KIND.items()}
    out = [Summary(by_kind[t.kind], t.count, t.mean) for t in credit.rating_tallies(org_id)]
    rows = db.session.execute(
        sa.select(Rating.role, sa.func.count(Rating.id), sa.func.avg(Rating.mean_centi))
        .where(Rating.subject_org_id == org_id, Rating.status == RatingStatus.REVEALED,
               Rating.role.not_in(list(CREDIT_KIND)))
        .group_by(Rating.role)
    ).all()
    for role, count, avg in rows:
        mean = (Decimal(str(avg)) / 100).quantize(Decimal("0.01"), ROUND_HALF_UP) if avg is not None else None
        out.append(Summary(role, count, mean))
    return sorted(out, key=lambda s: list(RatingRole).index(s.role))


def moderation_queue(*, limit: int = 100) -> list[Rating]:
    """Public ratings with a comment or a reply, newest first, for regulators."""
    return list(db.session.execute(
        sa.select(Rating).where(Rating.status == RatingStatus.REVEALED,
                                sa.or_(Rating.comment != "", Rating.reply.is_not(None)))
        .order_by(Rating.revealed_at.desc(), Rating.id.desc()).limit(limit)
    ).scalars())
