"""Procurement rows: approval cases, purchase requests, and eligible agencies to bid on them."""

from datetime import timedelta

import factory

from marketplace.agencies.models import FeeKind, ListingStatus
from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.procurement.models import (
    ApprovalCase,
    PurchaseRequest,
    RequestStatus,
    SelectionMethod,
)
from tests.factories.accounts import AgencyFactory, EnterpriseFactory, GovernmentFactory
from tests.factories.agencies import ListingFactory, QualificationFactory
from tests.factories.base import BaseFactory
from tests.factories.catalog import ApprovalItemFactory, ServiceItemFactory


class ApprovalCaseFactory(BaseFactory):
    """An open case needing ``service_items`` (default: one new item tied to its approval item)."""

    class Meta:
        model = ApprovalCase

    case_number = factory.Sequence(lambda n: f"SP2026{n:06d}")
    approval_item = factory.SubFactory(ApprovalItemFactory)
    applicant = factory.SubFactory(EnterpriseFactory)
    department = factory.SubFactory(GovernmentFactory)
    project_code = factory.Sequence(lambda n: f"2026-530102-48-01-{n:06d}")
    project_name = factory.Sequence(lambda n: f"滇池新区测试项目{n}")

    @factory.post_generation
    def service_items(obj, create, extracted, **kwargs):  # noqa: N805
        obj.service_items = list(extracted) if extracted else [
            ServiceItemFactory(approval_items=[obj.approval_item])
        ]
        db.session.flush()


class PurchaseRequestFactory(BaseFactory):
    """A draft request for the case's first service item; deadline ten days ahead."""

    class Meta:
        model = PurchaseRequest

    approval_case = factory.SubFactory(ApprovalCaseFactory)
    enterprise = factory.LazyAttribute(lambda o: o.approval_case.applicant)
    service_item = factory.LazyAttribute(lambda o: o.approval_case.service_items[0])
    region_code = "530102"
    title = factory.Sequence(lambda n: f"测试项目环境影响评价采购公告{n}")
    content = "编制环境影响报告表，并配合完成技术评审。"
    scale = "总投资约1.2亿元"
    is_budgeted = True
    budget_ceiling_fen = 10_000_000
    selection_method = SelectionMethod.LOWEST_PRICE
    bidding_deadline = factory.LazyFunction(lambda: (utcnow() + timedelta(days=10)).replace(microsecond=0))
    contact_name = "钱经理"
    contact_phone = "0871-66000000"
    complaint_phone = "0871-12345"
    status = RequestStatus.DRAFT


def make_eligible_agency(item, *, org=None, days: int = 30, fee_max_fen: int = 50_000_000, **org_kwargs):
    """An agency with valid certificates for ``item`` and a published listing (fee range, ``days``)."""
    org = org or AgencyFactory(**org_kwargs)
    for qtype in item.qualification_types:
        QualificationFactory(organisation_id=org.id, qualification_type=qtype)
    ListingFactory(organisation=org, service_item=item, status=ListingStatus.PUBLISHED,
                   fee_kind=FeeKind.RANGE, fee_min_fen=0, fee_max_fen=fee_max_fen, time_limit_days=days)
    return org
