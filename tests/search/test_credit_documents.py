"""Credit grades and sanctions reach the search: grade facet, ranking, suspended agencies gone."""

from datetime import timedelta

import pytest

from marketplace.agencies.eligibility import today
from marketplace.agencies.models import ListingStatus
from marketplace.credit.services import credit_grade_for, record_credit_input
from marketplace.sanctions import services as sanctions
from marketplace.search.backends import SearchFilters
from marketplace.search.indexing import process_queue
from marketplace.search.services import search
from tests.factories import (
    AgencyFactory,
    ListingFactory,
    RegulatorFactory,
    ServiceItemFactory,
    UserFactory,
)


@pytest.fixture
def real_providers(app):
    from marketplace.setup import register_search_providers

    register_search_providers(app)
    yield
    register_search_providers(app)


def _keys(text):
    return {(h.doc_type, h.doc_id) for h in search(text).hits}


def _listing(item, name):
    agency = AgencyFactory(name=name)
    return ListingFactory(organisation=agency, service_item=item, status=ListingStatus.PUBLISHED,
                          service_standard="按《防雷装置检测技术规范》出具检测报告。")


def test_grades_are_a_facet_and_rank_equal_matches(db, real_providers):
    item = ServiceItemFactory(name="防雷装置检测", statutory_days=None)
    good, poor = _listing(item, "昆明甲等防雷检测有限公司"), _listing(item, "昆明乙等防雷检测有限公司")
    db.session.flush()
    for _ in range(4):
        record_credit_input(good.organisation_id, "rating_enterprise", value=5)
        record_credit_input(poor.organisation_id, "rating_enterprise", value=1)
    db.session.commit()  # the ledger entries queue both agencies' documents
    process_queue()
    good_grade, poor_grade = credit_grade_for(good.organisation_id), credit_grade_for(poor.organisation_id)
    assert good_grade < poor_grade  # "A" before "D"

    outcome = search("防雷检测", SearchFilters(doc_type="listing"))
    assert [h.doc_id for h in outcome.hits][:2] == [good.id, poor.id]
    assert {good_grade, poor_grade} <= set(outcome.facets["credit_grade"])
    only_good = search("防雷检测", SearchFilters(doc_type="listing", credit_grade=good_grade))
    assert [h.doc_id for h in only_good.hits] == [good.id]


def test_a_suspension_takes_the_listing_out_of_the_results(db, real_providers):
    item = ServiceItemFactory(name="防雷装置检测", statutory_days=None)
    listing = _listing(item, "昆明丙等防雷检测有限公司")
    staff = UserFactory(organisation=listing.organisation)
    db.session.commit()
    process_queue()
    assert ("listing", listing.id) in _keys("防雷检测")

    r1, r2 = RegulatorFactory(), RegulatorFactory()
    case = sanctions.propose_sanction(listing.organisation, kind="suspension", ground_code="serious_overrun",
                                      facts="承诺10个工作日，实际逾期12个工作日。", actor=r1,
                                      start_date=today(), end_date=today() + timedelta(days=30))
    sanctions.notify_agency(case, actor=r1)
    sanctions.respond_to_proposal(case, text="无异议。", actor=staff)
    sanctions.decide_sanction(case, actor=r2, start_date=today(), end_date=today() + timedelta(days=30))
    db.session.commit()
    # gone at once, before the queue is even processed (visibility is checked at query time) ...
    assert ("listing", listing.id) not in _keys("防雷检测")
    process_queue()
    # ... and after re-indexing too; the agency itself can still be looked up
    assert ("listing", listing.id) not in _keys("防雷检测")
    assert ("agency", listing.organisation_id) in _keys("昆明丙等防雷检测")
