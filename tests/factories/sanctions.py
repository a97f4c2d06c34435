"""Regulators, credit inputs and sanction cases."""

from datetime import date, timedelta

import factory

from marketplace.accounts.models import Role
from marketplace.core.db import utcnow
from marketplace.sanctions.models import SanctionCase, SanctionKind, SanctionStatus
from tests.factories.accounts import AgencyFactory, GovernmentFactory, UserFactory
from tests.factories.base import BaseFactory


class RegulatorFactory(UserFactory):
    """A regulator in a market-supervision department."""

    organisation = factory.SubFactory(GovernmentFactory, name=factory.Sequence(lambda n: f"测试市市场监督管理局{n}"))
    role = Role.REGULATOR


class SanctionCaseFactory(BaseFactory):
    """A regulator's proposal (a warning for 90 days from today unless told otherwise)."""

    class Meta:
        model = SanctionCase

    organisation = factory.SubFactory(AgencyFactory)
    kind = SanctionKind.WARNING
    ground_code = "serious_overrun"
    facts = "合同约定20个工作日完成，实际逾期15个工作日交付。"
    status = SanctionStatus.PROPOSED
    proposer = factory.SubFactory(RegulatorFactory)
    proposed_at = factory.LazyFunction(utcnow)
    start_date = factory.LazyFunction(date.today)
    end_date = factory.LazyAttribute(lambda o: o.start_date + timedelta(days=90) if o.start_date else None)
