"""The real catalogue documents in the search: found after commit, gone once hidden."""

import pytest

from marketplace.agencies.models import ListingStatus
from marketplace.agencies.services import withdraw_listing
from marketplace.search.indexing import process_queue
from marketplace.search.services import search
from tests.factories import AgencyFactory, ListingFactory, ServiceItemFactory, UserFactory


@pytest.fixture
def real_providers(app):
    from marketplace.setup import register_search_providers

    register_search_providers(app)
    yield
    register_search_providers(app)


def _hits(text):
    return {(h.doc_type, h.doc_id) for h in search(text).hits}


def test_published_listing_agency_and_item_are_found_then_withdrawal_removes_the_listing(db, real_providers):
    item = ServiceItemFactory(name="地质灾害危险性评估", statutory_days=None)
    agency = AgencyFactory(name="云南地勘地灾评估有限公司")
    listing = ListingFactory(organisation=agency, service_item=item, status=ListingStatus.PUBLISHED,
                             service_standard="按《地质灾害危险性评估规范》编制评估报告。")
    db.session.commit()  # tracking queues the documents in this transaction
    process_queue()
    found = _hits("地灾评估")
    assert ("listing", listing.id) in found
    assert ("agency", agency.id) in found
    assert ("service_item", item.id) in _hits("危险性评估")

    withdraw_listing(listing, actor=UserFactory(organisation=agency), reason="暂停承接")
    db.session.commit()
    process_queue()
    assert ("listing", listing.id) not in _hits("地灾评估")


def test_rollback_queues_nothing(db, real_providers):
    from marketplace.search.indexing import queue_length

    before = queue_length()
    AgencyFactory(name="不会提交的机构")
    db.session.rollback()
    assert queue_length() == before


def test_rebuilding_reads_listings_in_batches_and_finds_every_visible_one(db, real_providers, monkeypatch):
    """A province has more listings than one PostgreSQL statement may bind (65,535 parameters):
    the rebuild must never put every listing id into one statement."""
    import sqlalchemy as sa

    from marketplace.agencies import search as listing_search
    from marketplace.search.indexing import reindex_all

    monkeypatch.setattr(listing_search, "BATCH", 2)
    item = ServiceItemFactory(name="水土保持方案编制", statutory_days=None)
    listings = [
        ListingFactory(organisation=AgencyFactory(name=f"第{n}水保咨询有限公司"), service_item=item,
                       status=ListingStatus.PUBLISHED)
        for n in range(5)
    ]
    hidden = ListingFactory(organisation=AgencyFactory(name="草稿机构"), service_item=item)
    db.session.commit()

    import re

    in_list = re.compile(r"id IN \(((?:\?|%\(\w+\)s)(?:, (?:\?|%\(\w+\)s))*)\)")
    widest = [0]

    def count_parameters(conn, cursor, statement, parameters, context, executemany):
        for values in in_list.findall(statement):
            widest.append(values.count(",") + 1)

    sa.event.listen(db.engine, "before_cursor_execute", count_parameters)
    try:
        counts = reindex_all(["listing"])
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count_parameters)
    assert counts["listing"] == 5
    found = _hits("水土保持方案编制")
    assert {("listing", listing.id) for listing in listings} <= found
    assert ("listing", hidden.id) not in found
    assert max(widest) <= 2  # no list of ids longer than a batch: never every listing at once
