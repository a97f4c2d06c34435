"""Delivery test helpers: a contract in force, result files, a clock set in China time."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from werkzeug.datastructures import FileStorage

from marketplace.accounts.models import Role, User
from marketplace.contracts import services as contracts
from marketplace.contracts.models import Contract
from marketplace.delivery import services
from marketplace.delivery.models import Delivery
from marketplace.procurement.jobs import run_procurement_deadlines
from marketplace.procurement.models import PurchaseRequest, RequestStatus
from tests.factories import UserFactory
from tests.factories.accounts import DEFAULT_PASSWORD
from tests.procurement.conftest import Scenario, make_scenario

SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture(autouse=True)
def _english_messages(english):
    """These tests read the English messages."""


def china(day: date, hour: int = 10) -> datetime:
    """``day`` at ``hour`` o'clock in China, as aware UTC."""
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI).astimezone(UTC)


def upload(data: bytes = PDF, name: str = "报告.pdf") -> FileStorage:
    return FileStorage(stream=io.BytesIO(data), filename=name)


@dataclass
class InForce:
    """A contract in force between the scenario's enterprise and agency 1, with their users."""

    s: Scenario
    req: PurchaseRequest
    contract: Contract
    officer: User

    @property
    def owner(self) -> User:
        return self.s.owner

    @property
    def agent(self) -> User:
        return self.s.staff[1]

    def delivery(self, *, due: date | None = None, now: datetime | None = None) -> Delivery:
        """The delivery (opened), with its due date moved to ``due`` when given."""
        delivery = services.open_delivery(self.contract, now=now)
        if due is not None:
            delivery.original_due_date = due
            delivery.due_date = due
        from marketplace.extensions import db

        db.session.commit()
        return delivery


def make_in_force(db) -> InForce:
    """The contracts tests' path: a final award, both signatures, the contract in force."""
    s = make_scenario(db)
    req = s.published()
    for i, price in enumerate((9_000_000, 8_000_000, 8_500_000)):
        s.bid(req, i, price)
    run_procurement_deadlines(s.after_deadline(req))
    db.session.refresh(req)
    assert req.status is RequestStatus.AWARDED
    run_procurement_deadlines(req.objection_deadline + timedelta(minutes=1))
    contract = db.session.execute(sa.select(Contract).where(Contract.request_id == req.id)).scalar_one()
    for user in (s.owner, s.staff[1]):
        data = contracts.SignatureInput(password=DEFAULT_PASSWORD, signer_name="签署人",
                                        signer_position="经理", version=None, ip="203.0.113.9",
                                        user_agent="pytest")
        contracts.sign_contract(contract, data, actor=user)
    officer = UserFactory(organisation=s.case.department, role=Role.APPROVAL_OFFICER)
    db.session.commit()
    return InForce(s, req, contract, officer)


@pytest.fixture
def in_force(db) -> InForce:
    return make_in_force(db)
