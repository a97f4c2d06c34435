"""The public lists read a projection of the visibility rule: every kind of change keeps it exact.

After each change (through the services or the ORM, as the product makes it) the directory's order
and counts, each fee list and each listing page must say what the live rule
(``eligibility.listing_visible_sql``) says, and ``differences()`` (``flask agencies
check-visibility``) must find nothing.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from marketplace.agencies import eligibility, services, visibility
from marketplace.agencies.models import FeeKind, Listing, ListingStatus, ListingVersion
from marketplace.catalog.models import FeeBasis, QualificationRule, ServiceItem
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.sanctions.models import SanctionCase, SanctionKind, SanctionStatus
from tests.factories import (
    AgencyFactory,
    IndependenceDeclarationFactory,
    ListingFactory,
    QualificationFactory,
    QualificationTypeFactory,
    ServiceItemFactory,
)
from tests.factories.sanctions import RegulatorFactory, SanctionCaseFactory

ACTOR = "test"


def live_visible(on) -> dict[int, Listing]:
    rows = sa.select(Listing).where(eligibility.listing_visible_sql(on))
    return {listing.id: listing for listing in db.session.execute(rows).scalars()}


def fee_order(listing: Listing) -> tuple:
    terms = listing.current
    return (terms.fee_min_fen is None, terms.fee_min_fen or 0, terms.time_limit_days, listing.id)


def check_pages(client, market) -> None:
    """The pages show what the live rule says, and the projection is what answered."""
    db.session.expire_all()
    on = eligibility.today()
    assert visibility.differences() == []
    assert visibility.use_projection(on), "the pages should read the projection"
    visible = live_visible(on)

    # The directory: agencies by visible offers (most first), then name; counts match.
    html = client.get("/agencies").get_data(as_text=True)
    counts = {org.id: sum(1 for v in visible.values() if v.organisation_id == org.id) for org in market.orgs}
    expected = sorted(market.orgs, key=lambda o: (-counts[o.id], o.name, o.id))
    positions = [html.index(o.name) for o in expected]
    assert positions == sorted(positions), [o.name for o in expected]

    for item in market.items:
        offers = sorted((v for v in visible.values() if v.service_item_id == item.id), key=fee_order)
        shown = {o.name for o in market.orgs}
        # The directory filtered by the item lists exactly the agencies offering it.
        filtered = client.get(f"/agencies?service_item={item.id}").get_data(as_text=True)
        assert {o.name for o in market.orgs if o.name in filtered} == {
            o.name for o in market.orgs if any(v.organisation_id == o.id for v in offers)
        }
        db.session.refresh(item)
        if not item.is_active:
            continue
        page = client.get(f"/services/{item.id}").get_data(as_text=True)
        names = [o.name for o in market.orgs if o.id in {v.organisation_id for v in offers}]
        assert {n for n in shown if n in page} == set(names), item.name
        order = [v.organisation.name for v in offers]
        assert [page.index(n) for n in order] == sorted(page.index(n) for n in order)
        # The catalogue's count and lowest fee for the item.
        stats = services.offer_stats([item.id], on=on).get(item.id)
        assert (stats or {"count": 0})["count"] == len(offers)
        if offers:
            assert stats["min_fee_fen"] == min(
                (v.current.fee_min_fen for v in offers if v.current.fee_min_fen is not None), default=None
            )

    for listing in market.listings:
        status = client.get(f"/listings/{listing.id}").status_code
        assert status == (200 if listing.id in visible else 404), (listing, status)


class Market:
    def __init__(self):
        self.qtype = QualificationTypeFactory(name="投影测试资质")
        self.item = ServiceItemFactory(name="投影测试测量", qualification_types=[self.qtype],
                                       qualification_rule=QualificationRule.ALL, statutory_days=15,
                                       fee_basis=FeeBasis.GOVERNMENT, fee_document="云发改价格〔2020〕1号")
        self.free_item = ServiceItemFactory(name="投影测试咨询")
        self.items = [self.item, self.free_item]
        self.orgs = [AgencyFactory(name=f"投影测试{c}公司") for c in "甲乙丙丁"]
        self.quals = {}
        for org in self.orgs:
            IndependenceDeclarationFactory(organisation_id=org.id)
            self.quals[org.id] = QualificationFactory(organisation_id=org.id, qualification_type=self.qtype)
        a, b, c, d = self.orgs
        self.listings = [
            ListingFactory(organisation=a, service_item=self.item, status=ListingStatus.PUBLISHED,
                           fee_min_fen=300_000, time_limit_days=12),
            ListingFactory(organisation=b, service_item=self.item, status=ListingStatus.PUBLISHED,
                           fee_min_fen=200_000, time_limit_days=8),
            ListingFactory(organisation=c, service_item=self.item, status=ListingStatus.PUBLISHED,
                           fee_kind=FeeKind.DISCOUNT, discount_bp=1500, time_limit_days=5),
            ListingFactory(organisation=a, service_item=self.free_item, status=ListingStatus.PUBLISHED,
                           fee_min_fen=50_000),
            ListingFactory(organisation=b, service_item=self.free_item, status=ListingStatus.PUBLISHED,
                           fee_min_fen=60_000),
            ListingFactory(organisation=d, service_item=self.free_item, status=ListingStatus.DRAFT,
                           fee_min_fen=40_000),
        ]


def _decided_suspension(org, start):
    return SanctionCaseFactory(
        organisation=org, kind=SanctionKind.SUSPENSION, status=SanctionStatus.DECIDED,
        start_date=start, end_date=start + timedelta(days=30), decider=RegulatorFactory(),
        decided_at=utcnow(), notified_at=utcnow(), response_deadline=start,
    )


def test_every_kind_of_change_keeps_the_public_lists_exact(db, client, monkeypatch):
    market = Market()
    a, b, c, d = market.orgs
    db.session.commit()
    check_pages(client, market)

    # Publish (a draft goes through the state machine's conditional UPDATE) and withdraw.
    draft = market.listings[5]
    services.publish_listing(draft, actor=ACTOR)
    db.session.commit()
    check_pages(client, market)
    services.withdraw_listing(market.listings[0], actor=ACTOR)
    db.session.commit()
    check_pages(client, market)
    services.publish_listing(market.listings[0], actor=ACTOR)
    db.session.commit()

    # New terms (a new version): the fee list re-sorts, the lowest fee changes.
    services.update_commitment(
        market.listings[0],
        services.Commitment(fee_kind=FeeKind.FIXED, fee_min_fen=100_000, fee_max_fen=100_000,
                            time_limit_days=10, service_standard="按规范完成。", fee_basis="包干"),
        actor=ACTOR,
    )
    db.session.commit()
    check_pages(client, market)

    # A qualification is removed, then added again.
    services.remove_qualification(market.quals[b.id], actor=ACTOR)
    db.session.commit()
    check_pages(client, market)
    services.add_qualification(b, qualification_type_id=market.qtype.id, certificate_no="投影-新证",
                               issuer="云南省自然资源厅", valid_from=eligibility.today(),
                               valid_to=eligibility.today() + timedelta(days=1), actor=ACTOR)
    db.session.commit()
    check_pages(client, market)

    # A sanction starts (a new decided suspension), then ends (lifted by credit repair, through a
    # conditional UPDATE).
    case = _decided_suspension(a, eligibility.today())
    db.session.commit()
    check_pages(client, market)
    db.session.execute(
        sa.update(SanctionCase).where(SanctionCase.id == case.id, SanctionCase.status == SanctionStatus.DECIDED)
        .values(repaired_on=eligibility.today()).execution_options(synchronize_session=False)
    )
    db.session.commit()
    check_pages(client, market)

    # The catalogue: statutory days lowered (a listing of 12 days no longer fits), the
    # requirement widened, an item made inactive.
    market.item.statutory_days = 9
    db.session.commit()
    check_pages(client, market)
    other = QualificationTypeFactory(name="投影测试另一资质")
    market.item.qualification_types = [market.qtype, other]
    db.session.commit()
    check_pages(client, market)
    market.item.qualification_types = [market.qtype]
    db.session.commit()
    db.session.execute(
        sa.update(ServiceItem).where(ServiceItem.id == market.free_item.id)
        .values(is_active=False).execution_options(synchronize_session=False)
    )
    db.session.commit()
    check_pages(client, market)

    # An agency renamed (the directory sorts by name after the count), a new one registered.
    a.name = "投影测试子公司"
    market.orgs.append(AgencyFactory(name="投影测试新公司"))
    db.session.commit()
    check_pages(client, market)

    # The day changes: b's new certificate was valid through tomorrow only. Until the job runs
    # the pages use the live rule; then the projection holds the new day.
    day_after = eligibility.today() + timedelta(days=2)
    monkeypatch.setattr(eligibility, "today", lambda: day_after)
    assert not visibility.use_projection(day_after)
    assert client.get(f"/listings/{market.listings[1].id}").status_code == 404
    midnight = datetime.combine(day_after, time(0, 5), tzinfo=eligibility.SHANGHAI).astimezone(UTC)
    from marketplace.jobs.runner import run_once

    assert run_once(now=midnight, only="agencies.visibility")["agencies.visibility"] > 0
    assert visibility.projection_day() == day_after
    check_pages(client, market)
    assert run_once(now=midnight, only="agencies.visibility")["agencies.visibility"] == 0


def test_changes_not_yet_committed_are_answered_by_the_live_rule(db, client):
    market = Market()
    db.session.commit()
    listing = market.listings[0]
    assert eligibility.is_listing_visible(listing)
    services.withdraw_listing(listing, actor=ACTOR)
    # Same transaction, before the commit recomputes the projection: the live rule answers.
    assert not visibility.use_projection(eligibility.today())
    assert not eligibility.is_listing_visible(listing)
    db.session.rollback()
    assert visibility.use_projection(eligibility.today())
    assert eligibility.is_listing_visible(listing)
    check_pages(client, market)


def test_check_visibility_reports_a_projection_changed_behind_its_back(db, app):
    market = Market()
    db.session.commit()
    assert visibility.differences() == []
    # Raw SQL outside the session's hooks (what the check is for).
    with db.engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM listing_visibility WHERE listing_id = :id"), {"id": market.listings[1].id})
    db.session.expire_all()
    assert any(f"listing {market.listings[1].id} " in line for line in visibility.differences())
    runner = app.test_cli_runner()
    result = runner.invoke(args=["agencies", "check-visibility"])
    assert result.exit_code == 1 and "is visible but missing" in result.output
    result = runner.invoke(args=["agencies", "rebuild-visibility"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["agencies", "check-visibility"])
    assert result.exit_code == 0 and "agrees" in result.output


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_randomised_market_matches_the_live_rule_after_every_change(db, client, seed):
    rng = random.Random(seed)
    today = eligibility.today()
    qtypes = [QualificationTypeFactory() for _ in range(3)]
    items = []
    for i in range(4):
        needs = rng.sample(qtypes, rng.randint(0, 2))
        items.append(ServiceItemFactory(
            name=f"随机事项{i}", qualification_types=needs,
            qualification_rule=rng.choice([QualificationRule.ANY, QualificationRule.ALL]) if needs
            else QualificationRule.NONE,
            statutory_days=rng.choice([None, 10, 20]), fee_basis=rng.choice(list(FeeBasis)),
            fee_document="云发改价格〔2020〕1号",
        ))
    orgs = [AgencyFactory(name=f"随机中介{n:02d}号公司") for n in range(8)]
    quals = []
    for org in orgs:
        IndependenceDeclarationFactory(organisation_id=org.id)
        for qtype in rng.sample(qtypes, rng.randint(0, 3)):
            start = today - timedelta(days=rng.randint(0, 30))
            quals.append(QualificationFactory(organisation_id=org.id, qualification_type=qtype, valid_from=start,
                                              valid_to=today + timedelta(days=rng.randint(-1, 3))))
    listings = []
    for org in orgs:
        for item in rng.sample(items, rng.randint(1, 4)):
            kind = FeeKind.DISCOUNT if item.fee_basis is FeeBasis.GOVERNMENT and rng.random() < 0.3 else FeeKind.FIXED
            listings.append(ListingFactory(
                organisation=org, service_item=item, fee_kind=kind, fee_min_fen=rng.randint(1, 50) * 10_000,
                time_limit_days=rng.randint(1, 20), status=rng.choice(list(ListingStatus)),
            ))
    db.session.commit()

    def flip_status():
        listing = rng.choice(listings)
        target = rng.choice([s for s in ListingStatus if s is not listing.status and s is not ListingStatus.DRAFT])
        db.session.execute(sa.update(Listing).where(Listing.id == listing.id).values(status=target)
                           .execution_options(synchronize_session=False))

    def new_terms():
        listing = rng.choice(listings)
        db.session.flush()
        version = listing.current_version + 1
        db.session.add(ListingVersion(listing_id=listing.id, version=version, fee_kind=FeeKind.FIXED,
                                      fee_min_fen=rng.randint(1, 50) * 10_000, fee_max_fen=None,
                                      time_limit_days=rng.randint(1, 20), service_standard="随机", valid_from=utcnow()))
        db.session.flush()
        db.session.execute(sa.update(ListingVersion).where(ListingVersion.listing_id == listing.id,
                                                           ListingVersion.version == version)
                           .values(fee_max_fen=ListingVersion.fee_min_fen))
        listing.current_version = version

    def move_qualification():
        qual = rng.choice(quals)
        qual.valid_to = max(qual.valid_from, today + timedelta(days=rng.randint(-2, 3)))

    def drop_qualification():
        if len(quals) > 1:
            db.session.delete(quals.pop(rng.randrange(len(quals))))

    def sanction():
        _decided_suspension(rng.choice(orgs), today - timedelta(days=rng.randint(0, 3)))

    def lift_sanctions():
        org = rng.choice(orgs)
        db.session.execute(sa.update(SanctionCase).where(SanctionCase.organisation_id == org.id)
                           .values(repaired_on=today).execution_options(synchronize_session=False))

    def change_item():
        item = rng.choice(items)
        choice = rng.randrange(3)
        if choice == 0:
            item.is_active = not item.is_active
        elif choice == 1:
            item.statutory_days = rng.choice([None, 5, 10, 20])
        else:
            item.qualification_types = rng.sample(qtypes, rng.randint(1, 2))
            item.qualification_rule = rng.choice([QualificationRule.ANY, QualificationRule.ALL])

    changes = [flip_status, new_terms, move_qualification, drop_qualification, sanction, lift_sanctions, change_item]
    for _step in range(30):
        rng.choice(changes)()
        db.session.commit()
        db.session.expire_all()
        assert visibility.differences() == [], _step
    market = type("M", (), {"orgs": orgs, "items": items, "listings": listings})
    check_pages(client, market)

