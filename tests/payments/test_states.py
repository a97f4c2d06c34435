"""Every (from, to) pair of the payment lifecycle: allowed moves succeed, the others change nothing.

One contract for all 100 pairs (building a contract renders its PDF, ~2 s).
"""

from __future__ import annotations

import itertools
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.core.errors import InvalidTransition
from marketplace.payments.models import Payment, PaymentStatus, ProviderName
from marketplace.payments.states import PAYMENT_MACHINE, PAYMENT_TRANSITIONS
from tests.payments.conftest import in_force_contract


def test_every_pair(db):
    contract = in_force_contract(db)[2]
    # every column a CHECK constraint asks for, so that any status can be stored
    payment = Payment(contract_id=contract.id, provider=ProviderName.STRIPE, status=PaymentStatus.UNPAID,
                      amount_fen=contract.price_fen, bank_reference="R-1", paid_on=date(2026, 1, 5),
                      dispute_reason="reason", transfer_id="tr_1", payment_intent_id="pi_1")
    db.session.add(payment)
    db.session.commit()
    moves = 0
    for source, target in itertools.product(PaymentStatus, PaymentStatus):
        db.session.execute(sa.update(Payment).where(Payment.id == payment.id).values(status=source))
        db.session.commit()
        db.session.expire_all()
        payment = db.session.get(Payment, payment.id)
        if target in PAYMENT_TRANSITIONS[source]:
            PAYMENT_MACHINE.transition(payment, target, actor="test")
            db.session.commit()
            moves += 1
            db.session.expire_all()
            assert db.session.get(Payment, payment.id).status is target, (source, target)
        else:
            with pytest.raises(InvalidTransition):
                PAYMENT_MACHINE.transition(payment, target, actor="test")
            db.session.rollback()
            assert db.session.get(Payment, payment.id).status is source, (source, target)
    events = db.session.execute(sa.select(sa.func.count()).where(AuditEvent.object_type == "payments")).scalar()
    assert events == moves == sum(len(v) for v in PAYMENT_TRANSITIONS.values())


def test_nothing_else_assigns_a_payment_status():
    root = Path(__file__).resolve().parents[2] / "marketplace" / "payments"
    for path in root.rglob("*.py"):
        text = path.read_text()
        assert ".status = " not in text, path
        assert ".status=" not in text, path
