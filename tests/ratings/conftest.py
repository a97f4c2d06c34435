"""Rating test helpers: a contract whose result the enterprise accepted, and its raters."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from marketplace.accounts.models import Role, User
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.db import utcnow
from marketplace.delivery import services as delivery
from marketplace.ratings import services
from marketplace.ratings.models import Rating
from tests.delivery.conftest import InForce, make_in_force, upload
from tests.factories import UserFactory

ENTERPRISE_SCORES = {"quality": 2, "timeliness": 1, "attitude": 3, "fees": 2, "conduct": 3}
OFFICE_SCORES = {"quality": 2, "conformity": 3, "timeliness": 2}
AGENCY_SCORES = {"cooperation": 5, "payment": 4, "conduct": 5}


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages (the Chinese UI has its own tests)."""


@dataclass
class Finished:
    """A completed contract (result accepted at ``finished_at``) and the users around it."""

    f: InForce
    finished_at: datetime

    @property
    def contract(self) -> Contract:
        return self.f.contract

    @property
    def owner(self) -> User:
        return self.f.owner

    @property
    def agent(self) -> User:
        return self.f.agent

    @property
    def officer(self) -> User:
        return self.f.officer

    @property
    def closes_at(self) -> datetime:
        return self.finished_at + timedelta(days=14)

    def rate_enterprise(self, scores=None, *, comment="报告质量一般，严重逾期。", by=None, now=None) -> Rating:
        return services.submit_rating(self.contract, scores=scores or ENTERPRISE_SCORES, comment=comment,
                                      actor=by or self.owner, now=now)

    def rate_agency(self, scores=None, *, comment="甲方配合良好，按时付款。", by=None, now=None) -> Rating:
        return services.submit_rating(self.contract, scores=scores or AGENCY_SCORES, comment=comment,
                                      actor=by or self.agent, now=now)

    def rate_office(self, scores=None, *, comment="成果基本符合审批要求。", by=None, now=None) -> Rating:
        return services.submit_rating(self.contract, scores=scores or OFFICE_SCORES, comment=comment,
                                      actor=by or self.officer, now=now)


def make_finished(db) -> Finished:
    """A contract in force whose result the agency submitted and the enterprise accepted."""
    f = make_in_force(db)
    d = f.delivery()
    delivery.submit_result(d, summary="环境影响报告表", files=[upload()], actor=f.agent)
    finished_at = utcnow()
    delivery.accept_delivery(d, version=None, actor=f.owner, now=finished_at)
    db.session.commit()
    assert f.contract.status is ContractStatus.COMPLETED
    return Finished(f, finished_at)


@pytest.fixture
def finished(db) -> Finished:
    return make_finished(db)


def other_user(org, role: Role) -> User:
    return UserFactory(organisation=org, role=role)
