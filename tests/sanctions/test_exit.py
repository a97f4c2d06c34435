"""A blacklisting in force carries out the exit (清退): listings withdrawn, open bids rejected,
the enterprises of open contracts told and warned on the contract page; a later start waits
for the job on that day."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from marketplace.agencies.models import Listing, ListingStatus
from marketplace.audit.models import AuditEvent
from marketplace.core.db import utcnow
from marketplace.notifications.models import Notification
from marketplace.procurement.models import BidStatus
from marketplace.sanctions import services
from marketplace.sanctions.jobs import run_blacklist_exits
from tests.delivery.conftest import make_in_force
from tests.factories import RegulatorFactory
from tests.procurement.conftest import make_scenario


def _decide(agency, staff, *, kind="blacklist", start=None, end=None, now=None):
    now = now or utcnow()
    today = services.china_day(now)
    r1, r2 = RegulatorFactory(), RegulatorFactory()
    ground = "falsified_report" if kind == "blacklist" else "serious_overrun"
    if kind == "suspension":
        end = end or today + timedelta(days=90)
    case = services.propose_sanction(agency, kind=kind, ground_code=ground, facts="出具虚假评价报告。",
                                     actor=r1, start_date=start or today, end_date=end, now=now)
    services.notify_agency(case, actor=r1, now=now)
    services.respond_to_proposal(case, text="我们对事实有异议。", actor=staff, now=now)
    return services.decide_sanction(case, actor=r2, start_date=start or today, end_date=end, now=now)


def _listing_status(db, org_id):
    return set(db.session.execute(
        sa.select(Listing.status).where(Listing.organisation_id == org_id)).scalars())


def _open_request(s):
    return s.published(bidding_deadline=s.now + timedelta(days=20))


def test_blacklisting_withdraws_listings_and_rejects_open_bids(db):
    s = make_scenario(db)
    req = _open_request(s)
    banned_bid = s.bid(req, 0, 8_000_000)
    other_bid = s.bid(req, 1, 8_100_000)
    banned = s.agencies[0]

    case = _decide(banned, s.staff[0])
    db.session.commit()

    assert case.exit_started_at is not None
    assert _listing_status(db, banned.id) == {ListingStatus.WITHDRAWN}
    assert _listing_status(db, s.agencies[1].id) == {ListingStatus.PUBLISHED}
    db.session.refresh(banned_bid)
    db.session.refresh(other_bid)
    assert banned_bid.status is BidStatus.REJECTED
    assert banned_bid.rejection_reason == f"blacklisted: {case.reference}"
    assert other_bid.status is BidStatus.SUBMITTED
    withdrawn = db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "listing.withdrawn")).scalar_one()
    assert f"blacklisted: {case.reference}" in withdrawn.payload
    # the job finds nothing left to do
    assert run_blacklist_exits(utcnow() + timedelta(days=1)) == 0


def test_open_contracts_are_flagged_to_the_enterprise(db, client, login_as):
    f = make_in_force(db)
    case = _decide(f.contract.agency, f.agent)
    db.session.commit()

    notes = db.session.execute(sa.select(Notification).where(
        Notification.user_id == f.owner.id, Notification.kind == "contracts.agency_blacklisted")).scalars().all()
    assert len(notes) == 1 and case.reference in notes[0].params
    flagged = db.session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "contract.agency_blacklisted")).scalar_one()
    assert flagged.object_id == str(f.contract.id)

    login_as(f.owner)
    page = client.get(f"/contracts/{f.contract.id}").get_data(as_text=True)
    assert 'id="blacklist-banner"' in page and case.reference in page


def test_contract_page_has_no_banner_without_a_blacklisting(db, client, login_as):
    f = make_in_force(db)
    login_as(f.owner)
    page = client.get(f"/contracts/{f.contract.id}").get_data(as_text=True)
    assert "blacklist-banner" not in page


def test_a_later_start_waits_for_the_job_on_that_day(db):
    s = make_scenario(db)
    req = _open_request(s)
    bid = s.bid(req, 0, 8_000_000)
    now = utcnow()
    start = services.china_day(now) + timedelta(days=3)
    case = _decide(s.agencies[0], s.staff[0], start=start, now=now)
    db.session.commit()

    assert case.exit_started_at is None
    assert _listing_status(db, s.agencies[0].id) == {ListingStatus.PUBLISHED}
    assert run_blacklist_exits(now + timedelta(days=1)) == 0
    assert _listing_status(db, s.agencies[0].id) == {ListingStatus.PUBLISHED}

    assert run_blacklist_exits(now + timedelta(days=3)) == 1
    db.session.refresh(case)
    db.session.refresh(bid)
    assert case.exit_started_at is not None
    assert _listing_status(db, s.agencies[0].id) == {ListingStatus.WITHDRAWN}
    assert bid.status is BidStatus.REJECTED
    # idempotent
    assert run_blacklist_exits(now + timedelta(days=4)) == 0
    events = db.session.execute(sa.select(sa.func.count(AuditEvent.seq)).where(
        AuditEvent.action == "sanction.exit_started")).scalar_one()
    assert events == 1


def test_a_suspension_is_no_exit(db):
    s = make_scenario(db)
    req = _open_request(s)
    bid = s.bid(req, 0, 8_000_000)
    case = _decide(s.agencies[0], s.staff[0], kind="suspension")
    db.session.commit()
    assert case.exit_started_at is None
    assert _listing_status(db, s.agencies[0].id) == {ListingStatus.PUBLISHED}
    db.session.refresh(bid)
    assert bid.status is BidStatus.SUBMITTED
    assert run_blacklist_exits(utcnow()) == 0
