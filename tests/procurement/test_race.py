"""Award, close and bid-revision races give exactly one outcome."""

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.core.errors import ConcurrentUpdate, DomainError, InvalidTransition
from marketplace.extensions import db as _db
from marketplace.procurement import services
from marketplace.procurement.models import Bid, BidStatus, PurchaseRequest, RequestStatus
from tests.procurement.conftest import make_scenario

THREADS = 50
ROUNDS = 20
EXPECTED = (ConcurrentUpdate, InvalidTransition)


def _awards(req_id: int) -> int:
    return _db.session.execute(
        sa.select(sa.func.count()).where(AuditEvent.action == "purchase_request.awarded",
                                         AuditEvent.object_id == str(req_id))
    ).scalar()


def _winners(req_id: int) -> int:
    return _db.session.execute(
        sa.select(sa.func.count()).where(Bid.request_id == req_id, Bid.status == BidStatus.WON)
    ).scalar()


def _prepared_request(db, *, closed: bool):
    s = make_scenario(db)
    req = s.published()
    s.bid(req, 0, 5_000_000)
    s.bid(req, 1, 5_100_000)
    s.bid(req, 2, 5_200_000)
    now = s.after_deadline(req)
    if closed:
        services.close_bidding(req, now=now)
    db.session.commit()
    return req.id, now


def _race(app, req_id: int, now, actions) -> list[BaseException]:
    barrier = threading.Barrier(len(actions))
    unexpected: list[BaseException] = []
    lock = threading.Lock()

    def worker(action):
        with app.app_context():
            try:
                req = _db.session.get(PurchaseRequest, req_id)
                barrier.wait(timeout=30)
                action(req, now)
                _db.session.commit()
            except EXPECTED:
                _db.session.rollback()
            except DomainError as exc:  # any other refusal is a defect here
                _db.session.rollback()
                with lock:
                    unexpected.append(exc)
            except BaseException as exc:  # noqa: BLE001 - collected and reported by the test
                _db.session.rollback()
                with lock:
                    unexpected.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return unexpected


def _job_step(req, now):
    """What the job does for one request; after losing a race it looks again, as the next run would."""
    try:
        services.advance_request(req, now)
    except EXPECTED:
        _db.session.rollback()
        services.advance_request(_db.session.get(PurchaseRequest, req.id), now)


def _award(req, now):
    services.award_request(req, now=now)


@pytest.fixture
def wide_pool(app, db):
    """A connection for every thread, so that all of them really start together.

    The app's pool holds 15 connections; the race needs 50 open transactions at once.
    """
    if db.engine.dialect.name != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises writers; see the sequential tests)")
    engines = _db._app_engines[app]
    original = engines[None]
    wide = sa.create_engine(original.url, pool_size=THREADS + 5, max_overflow=0)
    db.session.remove()
    engines[None] = wide
    try:
        yield
    finally:
        db.session.remove()
        engines[None] = original
        wide.dispose()


@pytest.mark.postgres
def test_concurrent_award_and_close_give_exactly_one_award(app, db, wide_pool):
    actions = [(_job_step, _award)[i % 2] for i in range(THREADS)]
    for round_no in range(ROUNDS):
        req_id, now = _prepared_request(db, closed=bool(round_no % 2))
        unexpected = _race(app, req_id, now, actions)
        assert unexpected == [], unexpected[:3]
        db.session.expire_all()
        req = db.session.get(PurchaseRequest, req_id)
        assert req.status is RequestStatus.AWARDED, (round_no, req.status)
        assert _awards(req_id) == 1, round_no
        assert _winners(req_id) == 1, round_no
        closes = db.session.execute(
            sa.select(sa.func.count()).where(AuditEvent.action == "purchase_request.bidding_closed",
                                             AuditEvent.object_id == str(req_id))
        ).scalar()
        assert closes == 1


@pytest.mark.postgres
def test_concurrent_bid_revisions_give_exactly_one_version(app, db, wide_pool):
    s = make_scenario(db)
    req = s.published()
    bid = s.bid(req, 0, 5_000_000)
    db.session.commit()
    bid_id, staff_id = bid.id, s.staff[0].id
    barrier = threading.Barrier(20)
    outcomes, lock = [], threading.Lock()

    def worker(n):
        with app.app_context():
            from marketplace.accounts.models import User

            try:
                mine = _db.session.get(Bid, bid_id)
                actor = _db.session.get(User, staff_id)
                barrier.wait(timeout=30)
                services.revise_bid(mine, price_fen=4_000_000 + n, days=10, expected_version=1, actor=actor,
                                    now=s.now + timedelta(minutes=5))
                _db.session.commit()
                result = "ok"
            except ConcurrentUpdate:
                _db.session.rollback()
                result = "refused"
            except BaseException as exc:  # noqa: BLE001
                _db.session.rollback()
                result = repr(exc)
            finally:
                _db.session.remove()
            with lock:
                outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(outcomes) == ["ok"] + ["refused"] * 19
    db.session.expire_all()
    assert db.session.get(Bid, bid_id).version == 2


@pytest.mark.postgres
def test_two_concurrent_first_bids_give_one_bid_and_one_clear_refusal(app, db, wide_pool):
    """A double click: two first submissions (no version) of one agency at the same moment."""
    s = make_scenario(db)
    req = s.published()
    db.session.commit()
    req_id, org_id, staff_id = req.id, s.agencies[0].id, s.staff[0].id
    for round_no in range(5):
        barrier = threading.Barrier(2)
        outcomes, lock = [], threading.Lock()

        def worker(n, barrier=barrier, outcomes=outcomes, lock=lock, round_no=round_no):
            with app.app_context():
                from marketplace.accounts.models import Organisation, User

                try:
                    found = _db.session.get(PurchaseRequest, req_id)
                    org, actor = _db.session.get(Organisation, org_id), _db.session.get(User, staff_id)
                    barrier.wait(timeout=30)
                    services.place_bid(found, org=org, price_fen=5_000_000 + n, days=10, expected_version=None,
                                       actor=actor, now=s.now + timedelta(minutes=round_no + 1))
                    _db.session.commit()
                    result = "ok"
                except DomainError as exc:
                    _db.session.rollback()
                    result = str(exc.message)
                except BaseException as exc:  # noqa: BLE001 - reported by the assertion
                    _db.session.rollback()
                    result = repr(exc)
                finally:
                    _db.session.remove()
                with lock:
                    outcomes.append(result)

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(outcomes) == [
            "You have already submitted a bid on this request; reload the page to revise it.", "ok"
        ], (round_no, outcomes)
        db.session.expire_all()
        bids = db.session.execute(sa.select(Bid).where(Bid.request_id == req_id,
                                                       Bid.status == BidStatus.SUBMITTED)).scalars().all()
        assert len(bids) == 1 and bids[0].version == 1
        revised = db.session.execute(sa.select(sa.func.count()).where(
            AuditEvent.action == "bid.revised", AuditEvent.object_id == str(bids[0].id))).scalar()
        assert revised == 0
        services.withdraw_bid(bids[0], actor=db.session.get(type(s.staff[0]), staff_id),
                              now=s.now + timedelta(minutes=round_no + 1, seconds=30))
        db.session.commit()


def test_second_award_is_refused_sequentially(db):
    """The same guards on SQLite: a second award or close of the same request is refused."""
    req_id, now = _prepared_request(db, closed=True)
    req = db.session.get(PurchaseRequest, req_id)
    services.award_request(req, now=now)
    db.session.commit()
    with pytest.raises(InvalidTransition):
        services.award_request(req, now=now)
    with pytest.raises(InvalidTransition):
        services.close_bidding(req, now=now)
    # a reader that still believes bidding is closed loses at the database
    stale = db.session.get(PurchaseRequest, req_id)
    stale.__dict__["status"] = RequestStatus.BIDDING_CLOSED
    with pytest.raises((ConcurrentUpdate, sa.exc.IntegrityError)):
        services.award_request(stale, now=now)
    db.session.rollback()
    db.session.expire_all()
    assert _awards(req_id) == 1 and _winners(req_id) == 1


def test_second_close_is_refused_sequentially(db):
    req_id, now = _prepared_request(db, closed=False)
    req = db.session.get(PurchaseRequest, req_id)
    services.close_bidding(req, now=now)
    db.session.commit()
    stale = db.session.get(PurchaseRequest, req_id)
    stale.__dict__["status"] = RequestStatus.PUBLISHED
    with pytest.raises(ConcurrentUpdate):
        services.close_bidding(stale, now=now)
    db.session.expire_all()
    closes = db.session.execute(
        sa.select(sa.func.count()).where(AuditEvent.action == "purchase_request.bidding_closed")
    ).scalar()
    assert closes == 1


def test_a_stale_bid_revision_is_refused_sequentially(scenario, db):
    s = scenario
    req = s.published()
    bid = s.bid(req, 0, 5_000_000)
    db.session.commit()
    services.revise_bid(bid, price_fen=4_000_000, days=10, expected_version=1, actor=s.staff[0], now=s.now)
    db.session.commit()
    with pytest.raises(ConcurrentUpdate):
        services.revise_bid(bid, price_fen=3_000_000, days=10, expected_version=1, actor=s.staff[0], now=s.now)
