"""A suspension or blacklisting in force takes the agency out of the market: listings and bids."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.agencies.eligibility import agency_is_sanctioned, listing_visible_sql, today
from marketplace.agencies.models import Listing
from marketplace.core.errors import DomainError
from marketplace.sanctions import services
from tests.factories import RegulatorFactory
from tests.procurement.conftest import make_scenario


def _visible_listing_orgs(db):
    rows = db.session.execute(sa.select(Listing.organisation_id).where(listing_visible_sql(today())))
    return set(rows.scalars())


def _suspend(agency, staff):
    r1, r2 = RegulatorFactory(), RegulatorFactory()
    case = services.propose_sanction(agency, kind="suspension", ground_code="serious_overrun",
                                     facts="合同承诺20个工作日，实际逾期15个工作日。", actor=r1,
                                     start_date=today(), end_date=today() + timedelta(days=90))
    services.notify_agency(case, actor=r1)
    services.respond_to_proposal(case, text="我们对事实有异议。", actor=staff)
    return services.decide_sanction(case, actor=r2, start_date=today(), end_date=today() + timedelta(days=90))


def test_a_suspended_agency_disappears_from_the_market_and_cannot_bid(db):
    s = make_scenario(db)
    banned, other = s.agencies[0], s.agencies[1]
    req = s.published()
    assert {banned.id, other.id} <= _visible_listing_orgs(db)

    case = _suspend(banned, s.staff[0])
    db.session.commit()
    assert agency_is_sanctioned(banned.id) and not agency_is_sanctioned(other.id)
    assert banned.id not in _visible_listing_orgs(db) and other.id in _visible_listing_orgs(db)
    with pytest.raises(DomainError):
        s.bid(req, 0, 8_000_000)
    s.bid(req, 1, 8_000_000)  # the others carry on

    # revoked on appeal: back in the market at once
    services.appeal_sanction(case, text="逾期系因甲方延迟提供资料，证据见附件。", actor=s.staff[0])
    services.decide_appeal(case, actor=RegulatorFactory(), outcome="revoked", reason="复核认定逾期不可归责于该机构。")
    db.session.commit()
    assert not agency_is_sanctioned(banned.id)
    assert banned.id in _visible_listing_orgs(db)
