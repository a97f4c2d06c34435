"""Concurrent changes to what the visibility rule reads leave the projection exact (PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from marketplace.agencies import eligibility, services, visibility
from marketplace.agencies.models import Listing, ListingStatus, Qualification
from marketplace.audit.services import record_event
from marketplace.core.errors import ConcurrentUpdate, InvalidTransition
from marketplace.extensions import db as _db
from tests.factories import (
    AgencyFactory,
    IndependenceDeclarationFactory,
    ListingFactory,
    QualificationFactory,
    QualificationTypeFactory,
    ServiceItemFactory,
)

ROUNDS = 4
ACTOR = "race test"


def _market():
    qtype = QualificationTypeFactory()
    items = [ServiceItemFactory(qualification_types=[qtype]) for _ in range(2)]
    orgs = [AgencyFactory() for _ in range(2)]
    listings, quals = [], []
    for org in orgs:
        IndependenceDeclarationFactory(organisation_id=org.id)
        quals.append(QualificationFactory(organisation_id=org.id, qualification_type=qtype))
        for item in items:
            listings.append(ListingFactory(organisation=org, service_item=item, status=ListingStatus.PUBLISHED))
    # The audit chain's head exists before the race (its first creation is not what is tested).
    record_event("test.setup", orgs[0], actor=ACTOR, payload={})
    _db.session.commit()
    return [o.id for o in orgs], [x.id for x in listings], [q.id for q in quals], items[0].id


def _actions(listing_ids, qual_ids, item_id):
    from marketplace.catalog.models import ServiceItem

    def withdraw(i):
        return lambda: services.withdraw_listing(_db.session.get(Listing, listing_ids[i]), actor=ACTOR)

    def expire(i):
        def run():
            qual = _db.session.get(Qualification, qual_ids[i])
            qual.valid_to = max(qual.valid_from, eligibility.today() - timedelta(days=1))
        return run

    def deactivate():
        _db.session.get(ServiceItem, item_id).is_active = False

    return [withdraw(0), withdraw(1), withdraw(2), expire(1), withdraw(3), expire(0), deactivate]


def _race(app, actions) -> list[BaseException]:
    barrier = threading.Barrier(len(actions))
    errors: list[BaseException] = []

    def worker(action):
        with app.app_context():
            try:
                barrier.wait(timeout=30)
                action()
                _db.session.commit()
            except (ConcurrentUpdate, InvalidTransition):
                _db.session.rollback()
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                _db.session.rollback()
                errors.append(exc)
            finally:
                _db.session.remove()

    threads = [threading.Thread(target=worker, args=(a,)) for a in actions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


@pytest.mark.postgres
def test_concurrent_changes_leave_the_projection_exact(app, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises writers)")
    for round_no in range(ROUNDS):
        _org_ids, listing_ids, qual_ids, item_id = _market()
        errors = _race(app, _actions(listing_ids, qual_ids, item_id))
        assert errors == [], errors[:3]
        db.session.expire_all()
        assert visibility.differences() == [], round_no
        assert visibility.use_projection(eligibility.today())
