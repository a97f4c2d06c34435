"""Simultaneous ratings: one per side stays; two sides at once still reveal both (PostgreSQL)."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role, User
from marketplace.contracts.models import Contract
from marketplace.core.errors import DomainError
from marketplace.credit.models import CreditInput
from marketplace.extensions import db as _db
from marketplace.ratings import services
from marketplace.ratings.models import Rating, RatingStatus
from tests.ratings.conftest import AGENCY_SCORES, ENTERPRISE_SCORES, make_finished, other_user

THREADS = 12
ROUNDS = 3


@pytest.fixture
def wide_pool(app, db):
    """A connection for every thread, so that all of them really start together."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises writers; see test_services)")
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


def _race(app, contract_id: int, jobs: list[tuple[int, dict]]) -> tuple[int, list[BaseException]]:
    barrier = threading.Barrier(len(jobs))
    refused, unexpected = [], []
    lock = threading.Lock()

    def worker(user_id, scores):
        with app.app_context():
            try:
                contract = _db.session.get(Contract, contract_id)
                user = _db.session.get(User, user_id)
                barrier.wait(timeout=30)
                services.submit_rating(contract, scores=scores, comment="", actor=user)
                _db.session.commit()
            except DomainError:
                _db.session.rollback()
                with lock:
                    refused.append(user_id)
            except BaseException as exc:  # noqa: BLE001 - collected and reported by the test
                _db.session.rollback()
                with lock:
                    unexpected.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return len(refused), unexpected


@pytest.mark.postgres
def test_simultaneous_ratings_by_one_side_keep_exactly_one(app, db, wide_pool):
    for _ in range(ROUNDS):
        finished = make_finished(db)
        users = [other_user(finished.contract.buyer, Role.ENTERPRISE_STAFF) for _ in range(THREADS)]
        db.session.commit()
        refused, unexpected = _race(app, finished.contract.id, [(u.id, ENTERPRISE_SCORES) for u in users])
        assert unexpected == [], unexpected[:3]
        assert refused == THREADS - 1
        count = db.session.execute(sa.select(sa.func.count(Rating.id))
                                   .where(Rating.contract_id == finished.contract.id)).scalar_one()
        assert count == 1


@pytest.mark.postgres
def test_both_sides_at_once_are_revealed_together(app, db, wide_pool):
    for _ in range(ROUNDS):
        finished = make_finished(db)
        db.session.commit()
        jobs = [(finished.owner.id, ENTERPRISE_SCORES), (finished.agent.id, AGENCY_SCORES)]
        refused, unexpected = _race(app, finished.contract.id, jobs)
        assert unexpected == [] and refused == 0
        db.session.expire_all()
        ratings = db.session.execute(sa.select(Rating).where(Rating.contract_id == finished.contract.id)).scalars().all()
        assert len(ratings) == 2 and all(r.status is RatingStatus.REVEALED for r in ratings)
        inputs = db.session.execute(sa.select(sa.func.count(CreditInput.id))
                                    .where(CreditInput.organisation_id == finished.contract.agency_org_id,
                                           CreditInput.kind == "rating_enterprise")).scalar_one()
        assert inputs == 1
