"""Sanction test helpers: an agency with staff, three regulators, an administrator, a clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from marketplace.accounts.models import Organisation, Role, User
from marketplace.sanctions import services
from marketplace.sanctions.models import SanctionCase
from tests.factories import AgencyFactory, GovernmentFactory, RegulatorFactory, UserFactory

# Monday 2 March 2026, 10:00 in Shanghai: a plain working week follows.
NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)


def at(day: date, hour: int = 10) -> datetime:
    """``hour`` o'clock on ``day`` in Shanghai, as aware UTC."""
    return datetime(day.year, day.month, day.day, hour - 8, 0, tzinfo=UTC)


@dataclass
class World:
    agency: Organisation
    staff: User
    r1: User
    r2: User
    r3: User
    admin: User

    def propose(self, kind="suspension", *, by=None, now=NOW, **kwargs) -> SanctionCase:
        kwargs.setdefault("ground_code", "serious_overrun" if kind != "blacklist" else "falsified_report")
        kwargs.setdefault("facts", "合同承诺20个工作日，实际逾期15个工作日。")
        if kind == "suspension":
            kwargs.setdefault("end_date", now.date() + timedelta(days=90))
        return services.propose_sanction(self.agency, kind=kind, actor=by or self.r1, now=now, **kwargs)

    def decided(self, kind="suspension", *, start=None, end=None, now=NOW, **kwargs) -> SanctionCase:
        """A case proposed by r1, notified, answered by the agency, decided by r2."""
        case = self.propose(kind, now=now, **kwargs)
        if kind != "warning":
            services.notify_agency(case, actor=self.r1, now=now)
            services.respond_to_proposal(case, text="我们对事实有异议。", actor=self.staff, now=now)
        end = end if end is not None else (now.date() + timedelta(days=90) if kind == "suspension" else None)
        return services.decide_sanction(case, actor=self.r2, start_date=start or now.date(), end_date=end,
                                        now=now)


def make_world() -> World:
    agency = AgencyFactory(name="云南测试评价咨询有限公司")
    staff = UserFactory(organisation=agency, role=Role.AGENCY_STAFF)
    dept = GovernmentFactory(name="测试市市场监督管理局")
    r1, r2, r3 = (RegulatorFactory(organisation=dept) for _ in range(3))
    admin = UserFactory(organisation=GovernmentFactory(), role=Role.ADMIN)
    return World(agency, staff, r1, r2, r3, admin)


@pytest.fixture
def world(db) -> World:
    return make_world()


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages (the Chinese UI has its own tests)."""
