"""Simultaneous deliveries of one webhook event, and simultaneous checkouts, have one effect."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.extensions import db as _db
from marketplace.payments.models import Payment, PaymentStatus, StripeEvent
from tests.payments.conftest import event, in_force_contract, sign

THREADS = 8


@pytest.fixture
def postgres_only(db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("real concurrency needs PostgreSQL (SQLite serialises writers; see the sequential tests)")


def _run_together(app, n: int, action) -> list:
    barrier = threading.Barrier(n)
    results: list = []
    lock = threading.Lock()

    def worker():
        with app.app_context():
            client = app.test_client()
            try:
                barrier.wait(timeout=30)
                result = action(client)
            except BaseException as exc:  # noqa: BLE001 - reported by the test
                result = exc
            finally:
                _db.session.remove()
            with lock:
                results.append(result)

    threads = [threading.Thread(target=worker) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_same_event_delivered_concurrently_applies_once(postgres_only, app, db, fake_stripe, browser, login_as):
    s, _req, contract = in_force_contract(db)
    login_as(s.owner)
    browser.post(f"/contracts/{contract.id}/payment/checkout", form_url=f"/contracts/{contract.id}/payment")
    session_id = db.session.execute(sa.select(Payment.checkout_session_id)).scalar_one()
    fake_stripe.complete(session_id)
    db.session.commit()
    body = event("checkout.session.completed", {"id": session_id})

    def deliver(client):
        resp = client.post("/payments/stripe/webhook", data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign(body)})
        return resp.status_code, (resp.get_json() or {}).get("outcome")

    results = _run_together(app, THREADS, deliver)
    assert all(isinstance(r, tuple) for r in results), results
    assert {code for code, _ in results} == {200}, results
    outcomes = sorted(outcome for _, outcome in results)
    assert outcomes.count("paid") == 1 and outcomes.count("duplicate") == THREADS - 1, outcomes
    db.session.expire_all()
    assert db.session.execute(sa.select(Payment.status)).scalar_one() is PaymentStatus.PAID
    assert db.session.execute(sa.select(sa.func.count()).where(AuditEvent.action == "payment.paid")).scalar() == 1
    assert db.session.execute(sa.select(sa.func.count()).select_from(StripeEvent)).scalar() == 1


def test_different_events_for_one_session_concurrently(postgres_only, app, db, fake_stripe, browser, login_as):
    """Several distinct events (completed, async succeeded, expired) at once: paid exactly once."""
    s, _req, contract = in_force_contract(db)
    login_as(s.owner)
    browser.post(f"/contracts/{contract.id}/payment/checkout", form_url=f"/contracts/{contract.id}/payment")
    session_id = db.session.execute(sa.select(Payment.checkout_session_id)).scalar_one()
    fake_stripe.complete(session_id)
    db.session.commit()
    bodies = [event(kind, {"id": session_id}, event_id=f"evt_{i}") for i, kind in enumerate(
        ["checkout.session.completed", "checkout.session.async_payment_succeeded",
         "checkout.session.expired", "checkout.session.completed"])]
    counter = iter(range(len(bodies)))
    lock = threading.Lock()

    def deliver(client):
        with lock:
            body = bodies[next(counter)]
        resp = client.post("/payments/stripe/webhook", data=body, content_type="application/json",
                           headers={"Stripe-Signature": sign(body)})
        return resp.status_code

    results = _run_together(app, len(bodies), deliver)
    # a loser of the status race answers 409 and Stripe delivers it again: then it is a no-op
    assert set(results) <= {200, 409}, results
    db.session.expire_all()
    assert db.session.execute(sa.select(Payment.status)).scalar_one() is PaymentStatus.PAID
    assert db.session.execute(sa.select(sa.func.count()).where(AuditEvent.action == "payment.paid")).scalar() == 1
