"""Catalogue rows: approval items, categories, qualification types, service items."""

import factory

from marketplace.catalog.models import (
    ApprovalItem,
    FeeBasis,
    QualificationRule,
    QualificationType,
    ServiceCategory,
    ServiceItem,
)
from marketplace.extensions import db
from tests.factories.base import BaseFactory


class ApprovalItemFactory(BaseFactory):
    class Meta:
        model = ApprovalItem

    code = factory.Sequence(lambda n: f"XK-T{n:04d}")
    name = factory.Sequence(lambda n: f"测试审批事项{n}")
    department = "昆明市行政审批局"
    legal_basis = "《中华人民共和国行政许可法》"
    is_active = True


class ServiceCategoryFactory(BaseFactory):
    class Meta:
        model = ServiceCategory

    code = factory.Sequence(lambda n: f"CAT{n:03d}")
    name = factory.Sequence(lambda n: f"测试类别{n}")
    sort_order = factory.Sequence(lambda n: n % 10000)


class QualificationTypeFactory(BaseFactory):
    class Meta:
        model = QualificationType

    code = factory.Sequence(lambda n: f"QT{n:03d}")
    name = factory.Sequence(lambda n: f"测试资质{n}")
    issuer = "云南省自然资源厅"
    levels = "甲级,乙级"
    is_active = True


class ServiceItemFactory(BaseFactory):
    """A service item; pass ``approval_items=[...]`` and ``qualification_types=[...]``.

    Without ``approval_items`` one is made, since every item serves at least one approval.
    """

    class Meta:
        model = ServiceItem

    code = factory.Sequence(lambda n: f"ZJ-T{n:04d}")
    name = factory.Sequence(lambda n: f"测试中介服务{n}")
    category = factory.SubFactory(ServiceCategoryFactory)
    qualification_rule = QualificationRule.NONE
    statutory_days = None
    fee_basis = FeeBasis.MARKET
    fee_document = ""
    deliverable = "报告"
    description = ""
    is_active = True

    @factory.post_generation
    def approval_items(obj, create, extracted, **kwargs):  # noqa: N805
        obj.approval_items = list(extracted) if extracted else [ApprovalItemFactory()]
        db.session.flush()

    @factory.post_generation
    def qualification_types(obj, create, extracted, **kwargs):  # noqa: N805
        """Given types with no explicit rule mean "any of" them."""
        if extracted:
            obj.qualification_types = list(extracted)
            if obj.qualification_rule is QualificationRule.NONE:
                obj.qualification_rule = QualificationRule.ANY
            db.session.flush()
