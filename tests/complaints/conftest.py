"""Complaint test helpers: an awarded request with three bidders, regulators, and a clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from marketplace.accounts.models import Organisation, Role, User
from marketplace.complaints import services
from marketplace.complaints.models import Complaint, Objection
from marketplace.procurement.jobs import run_procurement_deadlines
from marketplace.procurement.models import PurchaseRequest
from tests.factories import GovernmentFactory, RegulatorFactory, UserFactory
from tests.procurement.conftest import Scenario, make_scenario

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@dataclass
class World:
    """Agency 1 wins at 8,000 yuan; agency 2 (8,500) is next; agency 0 (9,000) last."""

    s: Scenario
    req: PurchaseRequest
    awarded_at: datetime
    regulator: User
    other_regulator: User
    admin: User

    @property
    def winner(self) -> Organisation:
        return self.s.agencies[1]

    @property
    def objector(self) -> User:
        return self.s.staff[0]

    @property
    def owner(self) -> User:
        return self.s.owner

    def during(self, minutes: int = 30) -> datetime:
        """A moment inside the objection period."""
        return self.awarded_at + timedelta(minutes=minutes)

    def objection(self, *, submit: bool = True, at: datetime | None = None, **kwargs) -> Objection:
        kwargs.setdefault("grounds", "中选单位的资质证书已过期，不符合公告要求。")
        return services.file_objection(self.req, actor=self.objector, submit=submit, now=at or self.during(),
                                       **kwargs)

    def answered(self, **kwargs) -> Objection:
        obj = self.objection(**kwargs)
        services.answer_objection(obj, text="经核查，资质证书在有效期内。", actor=self.owner,
                                  now=self.during(60))
        return obj

    def escalated(self) -> Complaint:
        obj = self.answered()
        return services.escalate_objection(obj, actor=self.objector, reasons="答复未附证明材料。",
                                           now=self.during(90))

    def accepted(self) -> Complaint:
        c = self.escalated()
        return services.accept_complaint(c, actor=self.regulator, now=self.during(120))


def make_world(db) -> World:
    s = make_scenario(db)
    req = s.published()
    for i, price in enumerate((9_000_000, 8_000_000, 8_500_000)):
        s.bid(req, i, price)
    awarded_at = s.after_deadline(req)
    run_procurement_deadlines(awarded_at)
    db.session.refresh(req)
    dept = GovernmentFactory(name="测试市发展和改革委员会")
    regulator = RegulatorFactory(organisation=dept)
    other = RegulatorFactory(organisation=GovernmentFactory(name="测试市住房和城乡建设局"))
    admin = UserFactory(organisation=GovernmentFactory(), role=Role.ADMIN)
    db.session.commit()
    return World(s, req, awarded_at, regulator, other, admin)


@pytest.fixture
def world(db) -> World:
    return make_world(db)


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages (the Chinese UI has its own tests)."""
