"""State changes made by a conditional UPDATE (not the ORM's dirty set) still reach the index."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.agencies.eligibility import today
from marketplace.agencies.models import Listing, ListingStatus
from marketplace.catalog.models import QualificationRule
from marketplace.extensions import db as _db
from marketplace.procurement.models import RequestStatus
from marketplace.procurement.states import REQUEST_MACHINE
from marketplace.sanctions import services as sanctions
from marketplace.search.indexing import process_queue
from marketplace.search.models import SearchQueueEntry
from tests.conftest import Browser
from tests.factories import (
    AgencyFactory,
    IndependenceDeclarationFactory,
    ListingFactory,
    QualificationFactory,
    QualificationTypeFactory,
    RegulatorFactory,
    ServiceItemFactory,
    UserFactory,
)


@pytest.fixture
def real_providers(search_app):
    from marketplace.setup import register_search_providers

    register_search_providers(search_app)
    from marketplace.search.indexing import rebuild_index

    rebuild_index()
    yield
    register_search_providers(search_app)


def _queued() -> set[tuple[str, int]]:
    rows = _db.session.execute(sa.select(SearchQueueEntry.doc_type, SearchQueueEntry.doc_id)).all()
    return {(t, i) for t, i in rows}


def _login(app, user_id) -> Browser:
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = user_id
        sess["_fresh"] = True
    return Browser(client)


def test_a_published_listing_reaches_the_search_page(app, db, client, real_providers):
    qtype = QualificationTypeFactory(name="环境影响评价资质", code="HP")
    item = ServiceItemFactory(name="建设项目环境影响报告书编制", qualification_types=[qtype],
                              qualification_rule=QualificationRule.ALL, statutory_days=30)
    agency = AgencyFactory(name="滇中新创环保咨询有限公司")
    staff = UserFactory(organisation=agency, role=Role.AGENCY_STAFF)
    IndependenceDeclarationFactory(organisation_id=agency.id)
    QualificationFactory(organisation_id=agency.id, qualification_type=qtype)
    listing = ListingFactory(organisation=agency, service_item=item)
    db.session.commit()
    process_queue()

    listing_id, staff_id, agency_name = listing.id, staff.get_id(), agency.name
    db.session.expunge_all()  # a fresh request, as a real agency user publishes it
    browser = _login(app, staff_id)
    resp = browser.post(f"/agency/listings/{listing_id}/publish",
                        form_url=f"/agency/listings/{listing_id}")
    assert resp.status_code == 302
    assert db.session.get(Listing, listing_id).status is ListingStatus.PUBLISHED
    # The post-request hook indexed it already; the job finds the queue empty.
    assert _queued() == set()
    process_queue()

    hits = client.get("/search.json", query_string={"q": agency_name}).get_json()["hits"]
    assert ("listing", listing_id) in {(h["type"], h["id"]) for h in hits}
    url = next(h["url"] for h in hits if h["type"] == "listing")
    page = client.get("/search", query_string={"q": "环境影响报告书"}).get_data(as_text=True)
    assert f'href="{url}"' in page


def test_a_sanction_response_by_conditional_update_requeues_the_agency(db, real_providers):
    listing = ListingFactory(status=ListingStatus.PUBLISHED)
    org = listing.organisation
    staff = UserFactory(organisation=org, role=Role.AGENCY_STAFF)
    r1 = RegulatorFactory()
    case = sanctions.propose_sanction(org, kind="suspension", ground_code="serious_overrun",
                                      facts="承诺10个工作日，实际逾期12个工作日。", actor=r1,
                                      start_date=today(), end_date=today() + timedelta(days=30))
    sanctions.notify_agency(case, actor=r1)
    db.session.commit()
    process_queue()
    assert _queued() == set()

    sanctions.respond_to_proposal(case, text="无异议。", actor=staff)
    db.session.commit()
    assert {("agency", org.id), ("listing", listing.id)} <= _queued()


def test_a_request_status_change_requeues_its_announcement(db, real_providers):
    from tests.procurement.conftest import make_scenario

    scenario = make_scenario(db, n_agencies=1)
    req = scenario.published()
    db.session.commit()
    process_queue()
    assert _queued() == set()

    REQUEST_MACHINE.transition(req, RequestStatus.BIDDING_CLOSED, actor=scenario.owner)
    db.session.commit()
    assert ("announcement", req.id) in _queued()


def test_a_rolled_back_conditional_update_queues_nothing(db, real_providers):
    listing = ListingFactory(status=ListingStatus.PUBLISHED)
    db.session.commit()
    process_queue()
    db.session.execute(sa.update(Listing).where(Listing.id == listing.id)
                       .values(status=ListingStatus.WITHDRAWN)
                       .execution_options(synchronize_session=False))
    db.session.rollback()
    db.session.commit()
    assert _queued() == set()
