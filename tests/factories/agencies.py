"""Agency rows: profiles, regions, declarations, qualifications, practitioners, listings."""

from datetime import timedelta

import factory

from marketplace.agencies.eligibility import today
from marketplace.agencies.models import (
    AgencyProfile,
    FeeKind,
    IndependenceDeclaration,
    Listing,
    ListingStatus,
    ListingVersion,
    Practitioner,
    Qualification,
    ServiceRegion,
)
from marketplace.core.db import utcnow
from marketplace.extensions import db
from tests.factories.accounts import AgencyFactory
from tests.factories.base import BaseFactory
from tests.factories.catalog import QualificationTypeFactory, ServiceItemFactory


class AgencyProfileFactory(BaseFactory):
    class Meta:
        model = AgencyProfile

    organisation = factory.SubFactory(AgencyFactory)
    introduction = "专业从事建设项目前期咨询服务。"
    website = ""
    serves_nationwide = True


class ServiceRegionFactory(BaseFactory):
    class Meta:
        model = ServiceRegion

    organisation_id = factory.LazyFunction(lambda: AgencyFactory().id)
    region_code = "530100"


class IndependenceDeclarationFactory(BaseFactory):
    class Meta:
        model = IndependenceDeclaration

    organisation_id = factory.LazyFunction(lambda: AgencyFactory().id)
    statement = "本机构声明与任何政府部门无隶属关系，已与原主管部门脱钩。"
    decoupling_note = ""
    signer_name = "张三"
    signer_position = "法定代表人"
    signed_at = factory.LazyFunction(utcnow)


class PractitionerFactory(BaseFactory):
    class Meta:
        model = Practitioner

    organisation_id = factory.LazyFunction(lambda: AgencyFactory().id)
    name = factory.Sequence(lambda n: f"从业人员{n}")
    certificate_no = factory.Sequence(lambda n: f"ZC{n:08d}")
    specialty = "注册测绘师"


class QualificationFactory(BaseFactory):
    """A certificate valid from a year ago to a year ahead unless told otherwise."""

    class Meta:
        model = Qualification

    organisation_id = factory.LazyFunction(lambda: AgencyFactory().id)
    qualification_type = factory.SubFactory(QualificationTypeFactory)
    certificate_no = factory.Sequence(lambda n: f"乙测资字{53000000 + n}")
    level = "乙级"
    issuer = "云南省自然资源厅"
    valid_from = factory.LazyFunction(lambda: today() - timedelta(days=365))
    valid_to = factory.LazyFunction(lambda: today() + timedelta(days=365))


TERM_FIELDS = ("fee_kind", "fee_min_fen", "fee_max_fen", "discount_bp", "fee_basis",
               "time_limit_days", "service_standard")


class ListingFactory(BaseFactory):
    """A listing with its first version; pass ``status=ListingStatus.PUBLISHED`` to publish.

    The terms of version 1 come from ``fee_kind``, ``fee_min_fen``, ``fee_max_fen``,
    ``discount_bp``, ``fee_basis``, ``time_limit_days`` and ``service_standard``.
    """

    class Meta:
        model = Listing

    organisation = factory.SubFactory(AgencyFactory)
    service_item = factory.SubFactory(ServiceItemFactory)
    status = ListingStatus.DRAFT
    current_version = 1
    fee_kind = FeeKind.FIXED
    fee_min_fen = 1_000_000
    fee_max_fen = None
    discount_bp = None
    fee_basis = "按项目规模计费"
    time_limit_days = 10
    service_standard = "按国家和行业技术规范完成，成果经专家评审。"

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        terms = {key: kwargs.pop(key) for key in TERM_FIELDS}
        kind = terms["fee_kind"]
        if kind is FeeKind.FIXED:
            terms["fee_max_fen"] = terms["fee_min_fen"]
            terms["discount_bp"] = None
        elif kind is FeeKind.RANGE:
            terms["discount_bp"] = None
        else:
            terms["fee_min_fen"] = terms["fee_max_fen"] = None
            if terms["discount_bp"] is None:
                terms["discount_bp"] = 1000
        listing = super()._create(model_class, *args, **kwargs)
        db.session.add(ListingVersion(listing_id=listing.id, version=1, valid_from=utcnow(), **terms))
        db.session.flush()
        return listing
