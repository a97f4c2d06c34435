"""Listings: the three commitments, their rules, the lifecycle and the version history."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.agencies import eligibility, services
from marketplace.agencies.models import FeeKind, Listing, ListingStatus, ListingVersion
from marketplace.agencies.states import LISTING_MACHINE, TRANSITIONS
from marketplace.audit.models import AuditEvent
from marketplace.catalog.models import FeeBasis
from marketplace.core.errors import (
    ConcurrentUpdate,
    DomainError,
    InvalidTransition,
    PermissionDenied,
)
from tests.factories import GovernmentFactory, ListingFactory, ServiceItemFactory, UserFactory


def terms(**overrides) -> services.Commitment:
    values = {
        "fee_kind": FeeKind.RANGE, "fee_min_fen": 3_000_000, "fee_max_fen": 6_000_000,
        "fee_basis": "按测量面积计费", "time_limit_days": 10,
        "service_standard": "依据《城市测量规范》完成，成果一次性通过核实。",
    }
    values.update(overrides)
    return services.Commitment(**values)


def counts(db):
    return (
        db.session.scalar(sa.select(sa.func.count()).select_from(Listing)),
        db.session.scalar(sa.select(sa.func.count()).select_from(ListingVersion)),
    )


def test_create_listing_makes_a_draft_with_version_one(db, staff, item):
    listing = services.create_listing(staff.organisation, item, terms(), actor=staff)
    db.session.commit()
    assert listing.status is ListingStatus.DRAFT
    assert listing.current.version == 1
    assert listing.current.fee_min_fen == 3_000_000
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "listing.created")).one()
    assert event.object_id == str(listing.id)


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"fee_min_fen": 7_000_000, "fee_max_fen": 6_000_000}, "fee_max"),
        ({"time_limit_days": 16}, "time_limit_days"),
        ({"time_limit_days": 0}, "time_limit_days"),
        ({"time_limit_days": 2**31}, "time_limit_days"),
        ({"fee_min_fen": -1}, "fee_min"),
        ({"fee_max_fen": 10**15}, "fee_max"),
        ({"fee_kind": FeeKind.FIXED, "fee_min_fen": None}, "fee_amount"),
        ({"fee_kind": FeeKind.DISCOUNT, "discount_bp": 1000}, "fee_kind"),
        ({"service_standard": "x" * 5001}, "service_standard"),
        ({"service_standard": "   "}, "service_standard"),
        ({"fee_basis": "bad\x00text"}, "fee_basis"),
        ({"change_note": "y" * 301}, "change_note"),
    ],
)
def test_bad_commitments_are_refused_and_change_nothing(db, staff, item, overrides, field):
    before = counts(db)
    with pytest.raises(DomainError) as exc:
        services.create_listing(staff.organisation, item, terms(**overrides), actor=staff)
    db.session.rollback()
    assert exc.value.field == field
    assert str(exc.value)
    assert counts(db) == before


def test_discount_needs_a_government_standard(db, staff):
    item = ServiceItemFactory(fee_basis=FeeBasis.GOVERNMENT, fee_document="财建〔2009〕17号")
    listing = services.create_listing(
        staff.organisation, item, terms(fee_kind=FeeKind.DISCOUNT, discount_bp=1500), actor=staff
    )
    assert listing.current.discount_bp == 1500 and listing.current.fee_min_fen is None
    assert listing.current.discount_percent == "15"
    with pytest.raises(DomainError) as exc:
        services.update_commitment(listing, terms(fee_kind=FeeKind.DISCOUNT, discount_bp=10_000), actor=staff)
    assert exc.value.field == "discount_percent"


def test_only_the_agencys_own_staff_can_list(db, staff, item, make_user):
    for role in (Role.AGENCY_STAFF, Role.ENTERPRISE_STAFF, Role.ADMIN, Role.REGULATOR):
        with pytest.raises(PermissionDenied):
            services.create_listing(staff.organisation, item, terms(), actor=make_user(role))
    listing = services.create_listing(staff.organisation, item, terms(), actor=staff)
    other = make_user(Role.AGENCY_STAFF)
    with pytest.raises(PermissionDenied):
        services.update_commitment(listing, terms(), actor=other)
    with pytest.raises(PermissionDenied):
        services.publish_listing(listing, actor=other)


def test_one_listing_per_item(db, staff, item):
    services.create_listing(staff.organisation, item, terms(), actor=staff)
    with pytest.raises(DomainError) as exc:
        services.create_listing(staff.organisation, item, terms(), actor=staff)
    assert exc.value.field == "service_item_id"


def test_publish_needs_declaration_and_valid_qualification(db, staff, item, qtype):
    from tests.factories import IndependenceDeclarationFactory, QualificationFactory

    listing = services.create_listing(staff.organisation, item, terms(), actor=staff)
    db.session.commit()
    with pytest.raises(DomainError):
        services.publish_listing(listing, actor=staff)
    db.session.rollback()
    IndependenceDeclarationFactory(organisation_id=staff.organisation_id)
    # An expired certificate of the right type does not count.
    today = eligibility.today()
    QualificationFactory(organisation_id=staff.organisation_id, qualification_type=qtype,
                         valid_from=today - timedelta(days=800), valid_to=today - timedelta(days=1))
    db.session.commit()
    with pytest.raises(DomainError) as exc:
        services.publish_listing(listing, actor=staff)
    db.session.rollback()
    assert qtype.name in str(exc.value)
    QualificationFactory(organisation_id=staff.organisation_id, qualification_type=qtype)
    db.session.commit()
    services.publish_listing(listing, actor=staff)
    db.session.commit()
    assert listing.status is ListingStatus.PUBLISHED
    assert eligibility.is_listing_visible(listing)
    assert db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "agency_listings").order_by(AuditEvent.seq)
    ).all() == ["listing.created", "listing.published"]


def test_withdraw_and_publish_again(db, staff, item, qualified):
    listing = services.create_listing(staff.organisation, item, terms(), actor=staff)
    services.publish_listing(listing, actor=staff)
    services.withdraw_listing(listing, actor=staff, reason="业务调整")
    assert listing.status is ListingStatus.WITHDRAWN
    assert not eligibility.is_listing_visible(listing)
    services.publish_listing(listing, actor=staff)
    assert eligibility.is_listing_visible(listing)
    with pytest.raises(InvalidTransition):
        services.publish_listing(listing, actor=staff)


@pytest.mark.parametrize("source", list(ListingStatus))
@pytest.mark.parametrize("target", list(ListingStatus))
def test_every_transition_pair(db, source, target):
    listing = ListingFactory(status=source)
    if target in TRANSITIONS[source]:
        LISTING_MACHINE.transition(listing, target, actor="test")
        assert listing.status is target
        assert db.session.get(Listing, listing.id).status is target
    else:
        with pytest.raises(InvalidTransition):
            LISTING_MACHINE.transition(listing, target, actor="test")


def test_nothing_else_assigns_a_listing_status():
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "marketplace"
    for path in (root / "agencies").rglob("*.py"):
        assert not re.search(r"\.status\s*=(?!=)", path.read_text()), path


def test_changes_keep_history_and_commitment_at_a_past_date(db, staff, item, qualified):
    listing = services.create_listing(staff.organisation, item, terms(time_limit_days=12), actor=staff)
    services.publish_listing(listing, actor=staff)
    db.session.commit()
    v1 = listing.current
    # Back-date version 1 so that "a past date" has something to show.
    v1.valid_from = v1.valid_from - timedelta(days=10)
    db.session.commit()
    services.update_commitment(
        listing, terms(fee_kind=FeeKind.FIXED, fee_min_fen=4_500_000, time_limit_days=8,
                       change_note="降价提速"),
        actor=staff, expected_version=1,
    )
    db.session.commit()
    assert listing.current_version == 2
    assert listing.current.fee_min_fen == listing.current.fee_max_fen == 4_500_000
    today = eligibility.today()
    past = services.commitment_at(listing, today - timedelta(days=5))
    assert past.version == 1 and past.time_limit_days == 12
    assert services.commitment_at(listing, today).version == 2
    assert services.commitment_at(listing, today - timedelta(days=30)) is None
    assert [v.version for v in services.listing_history(listing.id)] == [2, 1]
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "listing.commitment_changed")
    ).one()
    assert '"time_limit_days":8' in event.payload


def test_a_stale_edit_changes_nothing(db, staff, item):
    listing = services.create_listing(staff.organisation, item, terms(), actor=staff)
    services.update_commitment(listing, terms(time_limit_days=9), actor=staff, expected_version=1)
    db.session.commit()
    with pytest.raises(ConcurrentUpdate):
        services.update_commitment(listing, terms(time_limit_days=5), actor=staff, expected_version=1)
    listing = db.session.get(Listing, listing.id)
    assert listing.current_version == 2 and listing.current.time_limit_days == 9


def test_lowering_the_statutory_limit_hides_listings_above_it(db, staff, item, qualified):
    listing = services.create_listing(staff.organisation, item, terms(time_limit_days=15), actor=staff)
    services.publish_listing(listing, actor=staff)
    db.session.commit()
    assert eligibility.is_listing_visible(listing)
    admin = UserFactory(role=Role.ADMIN, organisation=GovernmentFactory())
    from marketplace.catalog.services import save_service_item

    save_service_item(
        item, code=item.code, name=item.name, category_id=item.category_id,
        approval_item_ids=[a.id for a in item.approval_items], qualification_rule=item.qualification_rule,
        qualification_type_ids=[t.id for t in item.qualification_types], statutory_days=10,
        actor=admin,
    )
    db.session.commit()
    assert not eligibility.is_listing_visible(listing)
    row = services.own_listings(staff.organisation_id)[0]
    assert row.qualifies and not row.compliant and not row.visible
    assert services.publishing_problems(listing)
