"""The visibility projection: which listings the public lists show today, kept in tables.

``eligibility.listing_visible_sql`` stays the one definition of the rule; evaluating it for every
listing of every agency on every request made the directory and the fee lists cost seconds at a
province's volume. So its result is stored, as of one day, in ``listing_visibility`` (one row a
visible listing, with what the lists sort by), ``agency_visible_counts`` (the directory's order)
and ``service_item_offer_stats`` (the catalogue's counts and lowest fees), filled FROM the rule
with ``INSERT … SELECT``.

It stays exact:

- Whatever the rule reads (listings and their versions, qualifications, sanction cases, service
  items and their qualification requirements) is watched through the ORM session: flushed
  objects (``after_flush``) and conditional ``UPDATE``/``DELETE`` statements (``do_orm_execute``,
  the rows their WHERE clause selects). The affected listings, agencies and items are
  recomputed just before the transaction commits, in that transaction, under a lock on the
  state row (PostgreSQL), so two writers never interleave their refreshes.
- Until then, and whenever the projection's day is not the day asked about (between midnight in
  China and the ``agencies.visibility`` job, or with no projection built yet), readers fall back
  to the live rule: a page is never wrong, only slower.
- A bulk ``INSERT`` through the session into a watched table rebuilds everything at commit.
  Raw SQL outside the session is not seen: ``flask agencies check-visibility`` compares the
  projection with the live rule and ``flask agencies rebuild-visibility`` starts again.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy.orm import Session

from marketplace.accounts.models import Organisation, OrgKind
from marketplace.agencies import eligibility
from marketplace.agencies.models import (
    AgencyVisibleCount,
    Listing,
    ListingVersion,
    ListingVisibility,
    Qualification,
    ServiceItemOfferStat,
    VisibilityState,
)
from marketplace.catalog.models import ServiceItem, service_item_qualifications
from marketplace.core.db import utcnow
from marketplace.extensions import db

PENDING = "visibility_pending"
AS_OF = "visibility_as_of"
STATE_ID = 1


@dataclass
class _Pending:
    """What a transaction changed that the rule reads, to recompute before it commits."""

    listings: set[int] = field(default_factory=set)
    orgs: set[int] = field(default_factory=set)
    items: set[int] = field(default_factory=set)
    # Agencies and items whose aggregates change although none of their listings is in scope
    # any more (a listing deleted or moved).
    count_orgs: set[int] = field(default_factory=set)
    stat_items: set[int] = field(default_factory=set)
    everything: bool = False

    def __bool__(self) -> bool:
        return bool(self.everything or self.listings or self.orgs or self.items
                    or self.count_orgs or self.stat_items)


def _pending(session: Session) -> _Pending:
    found = session.info.get(PENDING)
    if found is None:
        found = session.info[PENDING] = _Pending()
    return found


# --- reading: the projection when it is exact for the day, else the live rule ----------------


def _cache() -> dict:
    # Once per request (``g``), forgotten at every commit and rollback; the session's own
    # ``info`` outside an application context.
    return g.__dict__ if has_app_context() else db.session.info


def projection_day() -> date | None:
    """The day the projection holds (None: never built); read once per request."""
    cache = _cache()
    if AS_OF not in cache:
        cache[AS_OF] = db.session.execute(
            sa.select(VisibilityState.as_of).where(VisibilityState.id == STATE_ID)
        ).scalar()
    return cache[AS_OF]


def use_projection(on: date) -> bool:
    """Whether the projection answers for ``on``: built for that day, nothing pending."""
    session = db.session
    if session.new or session.dirty or session.deleted:
        session.flush()
    if session.info.get(PENDING):
        return False
    return projection_day() == on


def visible_sql(on: date):
    """SQL (over ``Listing``): shown on public pages on ``on``, from the projection if it can."""
    if use_projection(on):
        return (
            sa.select(ListingVisibility.listing_id)
            .where(ListingVisibility.listing_id == Listing.id)
            .exists()
        )
    return eligibility.listing_visible_sql(on)


def is_visible(listing_id: int, on: date) -> bool:
    """Whether one listing is shown on ``on`` (a primary-key look-up when the projection answers)."""
    if use_projection(on):
        return db.session.execute(
            sa.select(ListingVisibility.listing_id).where(ListingVisibility.listing_id == listing_id)
        ).first() is not None
    return db.session.execute(
        sa.select(Listing.id).where(Listing.id == listing_id, eligibility.listing_visible_sql(on))
    ).first() is not None


# --- filling ---------------------------------------------------------------------------------

_COLUMNS = ["listing_id", "organisation_id", "service_item_id", "category_id", "no_amount",
            "fee_min_fen", "fee_max_fen", "time_limit_days"]


def _visible_rows(on: date, scope=None) -> sa.Select:
    stmt = (
        sa.select(
            Listing.id, Listing.organisation_id, Listing.service_item_id, ServiceItem.category_id,
            sa.case((ListingVersion.fee_min_fen.is_(None), 1), else_=0),
            ListingVersion.fee_min_fen, ListingVersion.fee_max_fen, ListingVersion.time_limit_days,
        )
        .join(ListingVersion, sa.and_(ListingVersion.listing_id == Listing.id,
                                      ListingVersion.version == Listing.current_version))
        .join(ServiceItem, ServiceItem.id == Listing.service_item_id)
        .where(eligibility.listing_visible_sql(on))
    )
    return stmt if scope is None else stmt.where(scope)


def _fill_counts(session: Session, org_filter=None) -> None:
    """One row per agency (its visible listings may be none), with its name for the order."""
    visible = (
        sa.select(sa.func.count()).where(ListingVisibility.organisation_id == Organisation.id)
        .correlate(Organisation).scalar_subquery()
    )
    stmt = sa.select(Organisation.id, visible, Organisation.name).where(Organisation.kind == OrgKind.AGENCY)
    if org_filter is not None:
        session.execute(sa.delete(AgencyVisibleCount).where(org_filter(AgencyVisibleCount.organisation_id)))
        stmt = stmt.where(org_filter(Organisation.id))
    session.execute(sa.insert(AgencyVisibleCount).from_select(["organisation_id", "visible_count", "name"], stmt))


def _fill_stats(session: Session, item_filter=None) -> None:
    lv = ListingVisibility
    stmt = sa.select(
        lv.service_item_id, sa.func.count(), sa.func.min(lv.fee_min_fen), sa.func.min(lv.time_limit_days)
    ).group_by(lv.service_item_id)
    if item_filter is not None:
        session.execute(sa.delete(ServiceItemOfferStat).where(item_filter(ServiceItemOfferStat.service_item_id)))
        stmt = stmt.where(item_filter(lv.service_item_id))
    session.execute(sa.insert(ServiceItemOfferStat).from_select(
        ["service_item_id", "offer_count", "min_fee_fen", "min_days"], stmt
    ))


def _lock_state(session: Session) -> VisibilityState | None:
    """The state row, locked on PostgreSQL until the transaction ends (writers take turns)."""
    stmt = sa.select(VisibilityState).where(VisibilityState.id == STATE_ID)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return session.execute(stmt.execution_options(populate_existing=True)).scalar_one_or_none()


def rebuild(on: date | None = None, *, session: Session | None = None) -> int:
    """Fill the whole projection for ``on`` (default: today in China); returns the visible count."""
    session = session or db.session
    on = on or eligibility.today()
    session.flush()
    state = _lock_state(session)
    session.execute(sa.delete(ListingVisibility))
    session.execute(sa.delete(AgencyVisibleCount))
    session.execute(sa.delete(ServiceItemOfferStat))
    session.execute(sa.insert(ListingVisibility).from_select(_COLUMNS, _visible_rows(on)))
    _fill_counts(session)
    _fill_stats(session)
    if state is None:
        session.add(VisibilityState(id=STATE_ID, as_of=on, refreshed_at=utcnow()))
    else:
        state.as_of, state.refreshed_at = on, utcnow()
    session.flush()
    session.info.pop(PENDING, None)
    _forget_day(session)
    return session.execute(sa.select(sa.func.count()).select_from(ListingVisibility)).scalar()


def _refresh(session: Session, pending: _Pending) -> None:
    """Recompute what ``pending`` names, for the projection's own day."""
    state = _lock_state(session)
    if state is None:
        return  # never built: the readers use the live rule, the job builds it
    if pending.everything:
        rebuild(state.as_of, session=session)
        return
    listings, orgs, items = sorted(pending.listings), sorted(pending.orgs), sorted(pending.items)
    scope = sa.or_(
        *([Listing.id.in_(listings)] if listings else []),
        *([Listing.organisation_id.in_(orgs)] if orgs else []),
        *([Listing.service_item_id.in_(items)] if items else []),
    ) if (listings or orgs or items) else sa.false()
    lv = ListingVisibility
    session.execute(sa.delete(lv).where(sa.or_(
        lv.listing_id.in_(listings), lv.organisation_id.in_(orgs), lv.service_item_id.in_(items)
    )))
    session.execute(sa.insert(lv).from_select(_COLUMNS, _visible_rows(state.as_of, scope)))
    count_orgs = sorted(pending.count_orgs | pending.orgs)
    stat_items = sorted(pending.stat_items | pending.items)
    _fill_counts(session, lambda col: sa.or_(
        col.in_(sa.select(Listing.organisation_id).where(scope)), col.in_(count_orgs)
    ))
    _fill_stats(session, lambda col: sa.or_(
        col.in_(sa.select(Listing.service_item_id).where(scope)), col.in_(stat_items)
    ))


# --- watching the session --------------------------------------------------------------------

# What the rule (and the projection's columns) read, per model: changes elsewhere do not matter.
_WATCHED_ATTRS = {
    Listing: ("status", "current_version", "organisation_id", "service_item_id"),
    ListingVersion: None,  # any change
    Qualification: ("organisation_id", "qualification_type_id", "valid_from", "valid_to"),
    ServiceItem: ("is_active", "statutory_days", "fee_basis", "qualification_rule",
                  "qualification_types", "category_id"),
    Organisation: ("name", "kind"),  # the directory's order and who is in it
}


def _sanction_model():
    from marketplace.sanctions.models import SanctionCase

    return SanctionCase


def _watched_attrs(obj) -> tuple | None | bool:
    model = type(obj)
    if model in _WATCHED_ATTRS:
        return _WATCHED_ATTRS[model]
    if model is _sanction_model():
        return ("organisation_id", "kind", "status", "start_date", "end_date", "repaired_on")
    return False


def _changed(obj, attrs) -> bool:
    if attrs is None:
        return True
    state = sa.inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in attrs if name in state.attrs)


def _note(pending: _Pending, obj, *, old: bool = False) -> None:
    if isinstance(obj, Listing):
        pending.listings.add(obj.id)
        pending.count_orgs.add(obj.organisation_id)
        pending.stat_items.add(obj.service_item_id)
        if old:
            state = sa.inspect(obj)
            pending.count_orgs.update(v for v in state.attrs.organisation_id.history.deleted if v)
            pending.stat_items.update(v for v in state.attrs.service_item_id.history.deleted if v)
    elif isinstance(obj, ListingVersion):
        pending.listings.add(obj.listing_id)
    elif isinstance(obj, ServiceItem):
        pending.items.add(obj.id)
    elif isinstance(obj, Organisation):
        pending.count_orgs.add(obj.id)
    else:  # a qualification or a sanction case: the whole agency
        pending.orgs.add(obj.organisation_id)
        if old:
            pending.orgs.update(v for v in sa.inspect(obj).attrs.organisation_id.history.deleted if v)
    pending.listings.discard(None)
    pending.orgs.discard(None)
    pending.items.discard(None)
    pending.count_orgs.discard(None)
    pending.stat_items.discard(None)


def _after_flush(session: Session, _context) -> None:
    for obj in (*session.new, *session.deleted):
        if _watched_attrs(obj) is not False:
            _note(_pending(session), obj)
    for obj in session.dirty:
        attrs = _watched_attrs(obj)
        if attrs is not False and _changed(obj, attrs):
            _note(_pending(session), obj, old=True)


def _statement_keys() -> dict[str, tuple]:
    """Table name → (columns naming the scope, how to note a row)."""
    sanction = _sanction_model()

    def listing_row(p, row):
        p.listings.add(row[0])
        p.count_orgs.add(row[1])
        p.stat_items.add(row[2])

    return {
        Listing.__tablename__: ((Listing.id, Listing.organisation_id, Listing.service_item_id), listing_row),
        ListingVersion.__tablename__: ((ListingVersion.listing_id,), lambda p, row: p.listings.add(row[0])),
        Qualification.__tablename__: ((Qualification.organisation_id,), lambda p, row: p.orgs.add(row[0])),
        sanction.__tablename__: ((sanction.organisation_id,), lambda p, row: p.orgs.add(row[0])),
        ServiceItem.__tablename__: ((ServiceItem.id,), lambda p, row: p.items.add(row[0])),
        Organisation.__tablename__: ((Organisation.id,), lambda p, row: p.count_orgs.add(row[0])),
        service_item_qualifications.name: (
            (service_item_qualifications.c.service_item_id,), lambda p, row: p.items.add(row[0])
        ),
    }


def _on_orm_execute(state):
    """Note the rows an UPDATE or DELETE statement changes; a bulk INSERT: everything."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return None
    table = getattr(state.statement, "table", None)
    watched = _statement_keys().get(getattr(table, "name", None))
    if watched is None:
        return None
    session = state.session
    if state.is_insert:
        _pending(session).everything = True
        return None
    columns, note = watched
    where = state.statement.whereclause
    if where is None:
        _pending(session).everything = True
        return None
    params = state.parameters if isinstance(state.parameters, dict) else None
    select = sa.select(*columns).where(where)
    if session.get_bind().dialect.name == "postgresql":
        # Lock the rows read, so that they are among the rows the statement changes.
        select = select.with_for_update()
    rows = session.execute(select, params).all()
    pending = _pending(session)
    for row in rows:
        note(pending, row)
    pending.count_orgs.discard(None)
    pending.stat_items.discard(None)
    result = state.invoke_statement()
    if getattr(result, "rowcount", -1) > len(rows):
        # A row came to match between the read and the statement (another writer committed):
        # which one is unknown, so everything is recomputed.
        _pending(session).everything = True
    return result


def _before_commit(session: Session) -> None:
    if not (session.info.get(PENDING) or session.new or session.dirty or session.deleted):
        return
    session.flush()
    pending = session.info.pop(PENDING, None)
    if pending:
        _refresh(session, pending)


def _forget_day(session: Session) -> None:
    session.info.pop(AS_OF, None)
    if has_app_context():
        g.__dict__.pop(AS_OF, None)


def _forget(session: Session, *_args) -> None:
    session.info.pop(PENDING, None)
    _forget_day(session)


def _after_rollback(session: Session, previous_transaction) -> None:
    _forget_day(session)
    if not previous_transaction.nested:
        # A savepoint's rollback leaves the changes before it: recomputing more is still exact.
        session.info.pop(PENDING, None)


def install() -> None:
    """Attach the listeners once per process (idempotent)."""
    if not sa.event.contains(Session, "after_flush", _after_flush):
        sa.event.listen(Session, "after_flush", _after_flush)
        sa.event.listen(Session, "do_orm_execute", _on_orm_execute)
        sa.event.listen(Session, "before_commit", _before_commit)
        sa.event.listen(Session, "after_commit", _forget)
        sa.event.listen(Session, "after_soft_rollback", _after_rollback)


# --- the day change and the check ------------------------------------------------------------


def refresh_for_today(now=None) -> int:
    """The job: rebuild the projection when its day is not today in China (idempotent).

    Returns the number of visible listings rebuilt (0 when it was already current).
    """
    from zoneinfo import ZoneInfo

    on = now.astimezone(ZoneInfo("Asia/Shanghai")).date() if now is not None else eligibility.today()
    current = db.session.execute(
        sa.select(VisibilityState.as_of).where(VisibilityState.id == STATE_ID)
    ).scalar()
    if current == on:
        return 0
    return rebuild(on)


def differences(on: date | None = None) -> list[str]:
    """Where the projection disagrees with the live rule for its day (empty: it agrees)."""
    day = db.session.execute(sa.select(VisibilityState.as_of).where(VisibilityState.id == STATE_ID)).scalar()
    if day is None:
        return ["the projection was never built"]
    on = on or day
    problems: list[str] = []
    if day != on:
        problems.append(f"the projection holds {day}, not {on}")
    live = {tuple(r) for r in db.session.execute(_visible_rows(day)).all()}
    stored = {tuple(r) for r in db.session.execute(
        sa.select(*[getattr(ListingVisibility, c) for c in _COLUMNS])
    ).all()}
    for row in sorted(live - stored):
        problems.append(f"listing {row[0]} is visible but missing or different in the projection")
    for row in sorted(stored - live):
        problems.append(f"listing {row[0]} is in the projection but not visible (or differs)")
    lv = ListingVisibility
    visible = dict(db.session.execute(
        sa.select(lv.organisation_id, sa.func.count()).group_by(lv.organisation_id)
    ).all())
    counts = {
        org_id: (visible.get(org_id, 0), name)
        for org_id, name in db.session.execute(
            sa.select(Organisation.id, Organisation.name).where(Organisation.kind == OrgKind.AGENCY)
        ).all()
    }
    stored_counts = {r[0]: (r[1], r[2]) for r in db.session.execute(
        sa.select(AgencyVisibleCount.organisation_id, AgencyVisibleCount.visible_count, AgencyVisibleCount.name)
    ).all()}
    if counts != stored_counts:
        wrong = sorted(k for k in counts.keys() | stored_counts.keys() if counts.get(k) != stored_counts.get(k))
        problems.append(f"the directory's counts differ for agencies {wrong[:20]}")
    stats = {r[0]: tuple(r[1:]) for r in db.session.execute(
        sa.select(lv.service_item_id, sa.func.count(), sa.func.min(lv.fee_min_fen),
                  sa.func.min(lv.time_limit_days)).group_by(lv.service_item_id)
    ).all()}
    stored_stats = {r[0]: tuple(r[1:]) for r in db.session.execute(
        sa.select(ServiceItemOfferStat.service_item_id, ServiceItemOfferStat.offer_count,
                  ServiceItemOfferStat.min_fee_fen, ServiceItemOfferStat.min_days)
    ).all()}
    if stats != stored_stats:
        wrong = sorted(k for k in stats.keys() | stored_stats.keys() if stats.get(k) != stored_stats.get(k))
        problems.append(f"offer statistics differ for service items {wrong[:20]}")
    return problems
