"""Inspection helpers: agencies with published listings in two regions and items, regulators."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from marketplace.accounts.models import Organisation, Role, User
from marketplace.catalog.models import ServiceItem
from marketplace.inspections import services
from marketplace.inspections.models import InspectionPlan
from tests.factories import AgencyFactory, GovernmentFactory, ServiceItemFactory, UserFactory
from tests.factories.procurement import make_eligible_agency
from tests.factories.sanctions import RegulatorFactory


@dataclass
class World:
    item: ServiceItem
    other_item: ServiceItem
    kunming: list[Organisation]  # offer ``item``, registered in 530102
    jinan: list[Organisation]  # offer ``other_item``, registered in 370102
    idle: Organisation  # no published listing: not an active agency
    regulators: list[User]
    admin: User

    def plan_input(self, **changes) -> services.PlanInput:
        values = dict(title="2026年第一季度中介机构双随机抽查", basis="依据《关于推进双随机一公开监管的意见》抽查服务承诺履行情况。",
                      scope="all", service_item_id=None, region_code=None, agency_sample_size=3,
                      inspector_count=3, inspectors_per_check=2)
        values.update(changes)
        return services.PlanInput(**values)

    def plan(self, *, by=None, **changes) -> InspectionPlan:
        return services.create_plan(self.plan_input(**changes), actor=by or self.regulators[0])


def make_world(db) -> World:
    item, other = ServiceItemFactory(name="环境影响评价"), ServiceItemFactory(name="地质灾害危险性评估")
    kunming = [make_eligible_agency(item, org=AgencyFactory(region_code="530102")) for _ in range(4)]
    jinan = [make_eligible_agency(other, org=AgencyFactory(region_code="370102")) for _ in range(3)]
    idle = AgencyFactory(region_code="530102")
    dept = GovernmentFactory(name="测试市市场监督管理局")
    regulators = [RegulatorFactory(organisation=dept) for _ in range(4)]
    admin = UserFactory(organisation=GovernmentFactory(), role=Role.ADMIN)
    db.session.flush()
    return World(item, other, kunming, jinan, idle, regulators, admin)


@pytest.fixture
def world(db) -> World:
    return make_world(db)


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages (the Chinese UI has its own tests)."""
