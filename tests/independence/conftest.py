"""Independence-flag helpers: the procurement scenario, regulators, a flag factory."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from marketplace.accounts.models import User
from marketplace.independence import services
from marketplace.independence.models import IndependenceFlag
from tests.factories import GovernmentFactory, RegulatorFactory
from tests.procurement.conftest import Scenario, make_scenario

EVIDENCE = "工商登记显示该机构40%股权由审批部门下属事业单位持有。"


@dataclass
class World:
    s: Scenario
    r1: User
    r2: User

    def flag(self, agency=None, department=None, **kwargs) -> IndependenceFlag:
        kwargs.setdefault("link_kind", "shareholding")
        kwargs.setdefault("evidence_text", EVIDENCE)
        return services.raise_flag(agency or self.s.agencies[0],
                                   department=department or self.s.case.department,
                                   actor=kwargs.pop("actor", self.r1), **kwargs)


@pytest.fixture
def world(db) -> World:
    s = make_scenario(db)
    dept = GovernmentFactory(name="测试市市场监督管理局")
    return World(s, RegulatorFactory(organisation=dept), RegulatorFactory(organisation=dept))


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages (the Chinese UI has its own tests)."""
