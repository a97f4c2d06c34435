"""Offline (bank transfer) payments through the UI: record → confirm; dispute → record again."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.contracts.services import china_today
from marketplace.notifications.models import Notification
from marketplace.payments import services
from marketplace.payments.models import Payment, PaymentStatus, ProviderName
from tests.factories import EnterpriseFactory, UserFactory


def _payment(db, contract) -> Payment | None:
    db.session.expire_all()
    return db.session.execute(sa.select(Payment).where(Payment.contract_id == contract.id)).scalar_one_or_none()


def _record(browser, contract, **changes):
    url = f"/contracts/{contract.id}/payment"
    form = {"reference": "ICBC20261123-0001", "amount": f"{contract.price_fen / 100:.2f}",
            "paid_on": china_today().isoformat()}
    form.update(changes)
    return browser.post(f"{url}/offline", form, form_url=url, follow_redirects=True)


def _actions(db, payment) -> list[str]:
    return list(db.session.execute(
        sa.select(AuditEvent.action).where(AuditEvent.object_type == "payments",
                                           AuditEvent.object_id == str(payment.id))
        .order_by(AuditEvent.seq)).scalars())


def test_record_then_confirm_in_the_browser(in_force, db, browser, login_as):
    s, _req, contract = in_force
    login_as(s.owner)
    page = browser.get(f"/contracts/{contract.id}")
    assert b'id="payment-panel"' in page.data and b"Not paid" in page.data
    page = browser.get(f"/contracts/{contract.id}/payment")
    assert page.status_code == 200
    assert b"Record your bank transfer" in page.data and b"Offline bank transfer" in page.data
    assert f'value="{contract.price_fen / 100:.2f}"'.encode() in page.data  # the amount is prefilled

    resp = _record(browser, contract)
    assert b"Your bank transfer was recorded" in resp.data
    payment = _payment(db, contract)
    assert payment.provider is ProviderName.OFFLINE and payment.status is PaymentStatus.RECORDED
    assert payment.amount_fen == contract.price_fen and isinstance(payment.amount_fen, int)
    assert payment.bank_reference == "ICBC20261123-0001" and payment.recorded_by_id == s.owner.id
    agency_notes = db.session.execute(sa.select(Notification).where(
        Notification.user_id == s.staff[1].id, Notification.kind == "payments.recorded")).scalars().all()
    assert len(agency_notes) == 1

    # the enterprise cannot confirm its own transfer
    assert browser.post(f"/contracts/{contract.id}/payment/confirm",
                        form_url=f"/contracts/{contract.id}/payment").status_code == 403

    login_as(s.staff[1])
    page = browser.get(f"/contracts/{contract.id}/payment")
    assert b"Confirm receipt" in page.data and b"ICBC20261123-0001" in page.data
    resp = browser.post(f"/contracts/{contract.id}/payment/confirm",
                        form_url=f"/contracts/{contract.id}/payment", follow_redirects=True)
    assert b"You confirmed receipt of the payment." in resp.data
    payment = _payment(db, contract)
    assert payment.status is PaymentStatus.CONFIRMED and payment.confirmed_by_id == s.staff[1].id
    assert _actions(db, payment) == ["payment.created", "payment.recorded", "payment.confirmed"]
    buyer_notes = db.session.execute(sa.select(Notification.kind).where(
        Notification.user_id == s.owner.id, Notification.kind.like("payments.%"))).scalars().all()
    assert buyer_notes == ["payments.confirmed"]
    assert b"Receipt confirmed" in resp.data  # the history on the page
    history = resp.get_data(as_text=True).split('id="payment-history"')[1].split("</ul>")[0]
    assert f"{s.staff[1].name} ({s.staff[1].organisation.name})" in history  # who, by name
    assert f"{s.owner.name} ({s.enterprise.name})" in history
    assert "user:" not in history and "payment." not in history

    # nothing more to confirm: a clear message, no change
    resp = browser.post(f"/contracts/{contract.id}/payment/confirm",
                        form_url=f"/contracts/{contract.id}/payment", follow_redirects=True)
    assert b"There is no recorded bank transfer to confirm." in resp.data
    assert _payment(db, contract).version == payment.version


def test_dispute_then_record_again(in_force, db, browser, login_as):
    s, _req, contract = in_force
    login_as(s.owner)
    _record(browser, contract)
    login_as(s.staff[1])
    url = f"/contracts/{contract.id}/payment"
    resp = browser.post(f"{url}/dispute", {"reason": ""}, form_url=url)
    assert resp.status_code == 400 and _payment(db, contract).status is PaymentStatus.RECORDED
    resp = browser.post(f"{url}/dispute", {"reason": "到账金额不符，未收到该笔款项"}, form_url=url,
                        follow_redirects=True)
    assert b"You disputed the recorded bank transfer" in resp.data
    payment = _payment(db, contract)
    assert payment.status is PaymentStatus.DISPUTED and payment.dispute_reason == "到账金额不符，未收到该笔款项"
    assert "到账金额不符".encode() in resp.data
    assert db.session.execute(sa.select(sa.func.count()).where(
        Notification.user_id == s.owner.id, Notification.kind == "payments.disputed")).scalar() == 1

    login_as(s.owner)
    resp = _record(browser, contract, reference="ICBC20261124-0002")
    assert b"Your bank transfer was recorded" in resp.data
    payment = _payment(db, contract)
    assert payment.status is PaymentStatus.RECORDED and payment.bank_reference == "ICBC20261124-0002"
    assert b'id="dispute-reason"' not in resp.data  # the reason stays in the history
    assert _actions(db, payment)[-3:] == ["payment.recorded", "payment.disputed", "payment.recorded"]


@pytest.mark.parametrize(("changes", "message"), [
    ({"amount": "1.00"}, b"The amount must equal the contract price"),
    ({"amount": "abc"}, b"Not a valid decimal value"),
    ({"amount": "99999999999999999999"}, b"Number must be between"),
    ({"amount": "-5"}, b"Number must be between"),
    ({"reference": ""}, b"This field is required"),
    ({"reference": "x" * 101}, b"Field cannot be longer than 100 characters"),
    ({"reference": "ab\x00c"}, b"characters that are not allowed"),
    ({"paid_on": "2026-13-45"}, b"Not a valid date value"),
])
def test_bad_input_changes_nothing(in_force, db, browser, login_as, changes, message):
    s, _req, contract = in_force
    login_as(s.owner)
    resp = _record(browser, contract, **changes)
    assert resp.status_code == 400
    assert message in resp.data
    payment = _payment(db, contract)
    assert payment is None or payment.status is PaymentStatus.UNPAID


def test_dates_outside_the_contract_are_refused(in_force, db, browser, login_as):
    s, _req, contract = in_force
    login_as(s.owner)
    for day in (china_today() + timedelta(days=1), contract.effective_date - timedelta(days=1)):
        resp = _record(browser, contract, paid_on=day.isoformat())
        assert resp.status_code == 400
        assert b"between the contract" in resp.data
    assert _payment(db, contract) is None or _payment(db, contract).status is PaymentStatus.UNPAID


def test_who_may_do_what(in_force, db, browser, login_as, client):
    s, _req, contract = in_force
    url = f"/contracts/{contract.id}/payment"
    assert client.get(url).status_code == 302  # sign in first
    outsider = UserFactory(organisation=EnterpriseFactory())
    db.session.commit()
    login_as(outsider)
    assert client.get(url).status_code == 404
    # the agency may not record the enterprise's payment
    login_as(s.staff[1])
    assert browser.post(f"{url}/offline", {"reference": "x", "amount": "1", "paid_on": "2026-01-01"},
                        form_url=url).status_code == 403
    # another agency's staff may not confirm
    login_as(s.staff[0])
    assert client.get(url).status_code == 404
    assert browser.post(f"{url}/confirm", form_url="/").status_code == 404
    assert client.get("/contracts/99999999999/payment").status_code == 404
    assert _payment(db, contract) is None


def test_services_refuse_the_wrong_party(in_force, db):
    s, _req, contract = in_force
    data = services.OfflineInput(reference="R-1", amount_fen=contract.price_fen, paid_on=china_today())
    from marketplace.core.errors import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.record_offline_payment(contract, data, actor=s.staff[1])
    services.record_offline_payment(contract, data, actor=s.owner)
    with pytest.raises(PermissionDenied):
        services.confirm_offline_payment(contract, actor=s.owner)
    with pytest.raises(PermissionDenied):
        services.dispute_offline_payment(contract, "no", actor=s.staff[0])


def test_not_in_force_cannot_be_paid(db):
    from tests.contracts.test_lifecycle import _final_award

    s, _req, contract = _final_award(db)
    data = services.OfflineInput(reference="R-1", amount_fen=contract.price_fen, paid_on=china_today())
    with pytest.raises(services.PaymentRefused, match="only once it is in force"):
        services.record_offline_payment(contract, data, actor=s.owner)


def test_fee_is_integer_fen(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "PLATFORM_FEE_BASIS_POINTS", 250)
    assert services.fee_for(12_345) == 308 and isinstance(services.fee_for(12_345), int)
    assert services.fee_for(10**13) == 250_000_000_000
    monkeypatch.setitem(app.config, "PLATFORM_FEE_BASIS_POINTS", 0)
    assert services.fee_for(12_345) == 0


def test_termination_cancels_an_unpaid_offline_payment(in_force, db):
    s, _req, contract = in_force
    from marketplace.contracts.signals import contract_terminated

    contract_terminated.send(contract, reason="双方协商解除", actor=s.owner)
    payment = _payment(db, contract)
    assert payment.status is PaymentStatus.CANCELLED


def test_payment_steps_on_the_contract_timeline(in_force, db):
    s, _req, contract = in_force
    data = services.OfflineInput(reference="ICBC-9", amount_fen=contract.price_fen, paid_on=china_today())
    services.record_offline_payment(contract, data, actor=s.owner)
    db.session.commit()
    try:
        from marketplace.delivery.timeline import timeline_for
    except ModuleNotFoundError:
        pytest.skip("no delivery domain (timeline registry) yet")
    rows = [r for r in timeline_for(contract, viewer=s.staff[1]) if r.kind == "payment"]
    assert [str(r.title) for r in rows] == ["Payment opened", "Bank transfer recorded"]
    assert rows[1].detail == "ICBC-9"
    regulator = UserFactory(organisation=EnterpriseFactory())  # not a party: no references shown
    rows = [r for r in timeline_for(contract, viewer=regulator) if r.kind == "payment"]
    assert rows[1].detail == ""


def test_request_closes_when_the_payment_is_confirmed_after_acceptance(in_force, db, browser, login_as):
    from marketplace.delivery import services as delivery
    from marketplace.procurement.models import PurchaseRequest, RequestStatus
    from tests.delivery.conftest import upload

    s, req, contract = in_force
    d = delivery.open_delivery(contract)
    delivery.submit_result(d, summary="成果", files=[upload()], actor=s.staff[1])
    delivery.accept_delivery(d, version=1, actor=s.owner)
    db.session.commit()
    assert db.session.get(PurchaseRequest, req.id).status is RequestStatus.ACCEPTED  # not paid yet
    login_as(s.owner)
    _record(browser, contract)
    assert db.session.get(PurchaseRequest, req.id).status is RequestStatus.ACCEPTED  # recorded is not settled
    login_as(s.staff[1])
    browser.post(f"/contracts/{contract.id}/payment/confirm", form_url=f"/contracts/{contract.id}/payment")
    db.session.expire_all()
    req = db.session.get(PurchaseRequest, req.id)
    assert req.status is RequestStatus.CLOSED and req.ended_at is not None
    closed = db.session.execute(sa.select(AuditEvent).where(
        AuditEvent.action == "purchase_request.closed")).scalar_one()
    assert json.loads(closed.payload)["reason"] == "Result accepted and payment settled."
