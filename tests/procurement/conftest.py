"""Procurement test helpers: an enterprise with a case, eligible agencies, a clock to move."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import pytest

from marketplace.accounts.models import Organisation, Role, User
from marketplace.catalog.models import QualificationRule, ServiceItem
from marketplace.core.db import utcnow
from marketplace.procurement import services
from marketplace.procurement.models import ApprovalCase, PurchaseRequest, SelectionMethod
from tests.factories import (
    AgencyFactory,
    EnterpriseFactory,
    QualificationTypeFactory,
    ServiceItemFactory,
    UserFactory,
)
from tests.factories.procurement import ApprovalCaseFactory, make_eligible_agency


@dataclass
class Scenario:
    """An enterprise with an open case needing ``item``, and three eligible agencies."""

    enterprise: Organisation
    owner: User
    item: ServiceItem
    case: ApprovalCase
    agencies: list[Organisation]
    staff: list[User]
    now: datetime = field(default_factory=utcnow)

    def request_input(self, **changes) -> services.RequestInput:
        values = dict(
            title="滇池新区道路工程环境影响评价", content="编制环境影响报告表。",
            selection_method=SelectionMethod.LOWEST_PRICE,
            bidding_deadline=services.default_deadline(self.now), contact_name="钱经理",
            contact_phone="0871-66000000", complaint_phone="0871-12345", scale="1.2亿元",
            is_budgeted=True, budget_ceiling_fen=10_000_000,
        )
        values.update(changes)
        return services.RequestInput(**values)

    def draft(self, **changes) -> PurchaseRequest:
        return services.create_request(self.case, self.item, self.request_input(**changes), actor=self.owner)

    def published(self, **changes) -> PurchaseRequest:
        req = self.draft(**changes)
        services.publish_request(req, actor=self.owner, now=self.now)
        return req

    def bid(self, req, i: int, price_fen: int, days: int = 20, *, at: datetime | None = None):
        return services.submit_bid(req, org=self.agencies[i], price_fen=price_fen, days=days,
                                   actor=self.staff[i], now=at or self.now + timedelta(minutes=i + 1))

    def after_deadline(self, req) -> datetime:
        return req.bidding_deadline + timedelta(minutes=1)


def make_scenario(db, n_agencies: int = 3) -> Scenario:
    qtype = QualificationTypeFactory(name="环境影响评价资质")
    item = ServiceItemFactory(name="环境影响评价", qualification_types=[qtype],
                              qualification_rule=QualificationRule.ANY, statutory_days=60)
    enterprise = EnterpriseFactory(legal_representative="周建国")
    owner = UserFactory(organisation=enterprise, role=Role.ENTERPRISE_STAFF)
    case = ApprovalCaseFactory(applicant=enterprise, approval_item=item.approval_items[0], service_items=[item])
    agencies, staff = [], []
    for _ in range(n_agencies):
        org = make_eligible_agency(item, org=AgencyFactory(legal_representative="吴青山"), days=30)
        agencies.append(org)
        staff.append(UserFactory(organisation=org, role=Role.AGENCY_STAFF))
    db.session.flush()
    return Scenario(enterprise, owner, item, case, agencies, staff)


@pytest.fixture
def scenario(db) -> Scenario:
    return make_scenario(db)


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages (the Chinese UI has its own tests)."""
