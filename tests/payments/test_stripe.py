"""Stripe: checkout, signed webhooks (duplicate, replay, forgery, out of order), transfer on
acceptance, refund on termination, Connect onboarding. A fake HTTP client answers every call."""

from __future__ import annotations

import json
import time

import pytest
import sqlalchemy as sa

from marketplace.audit.models import AuditEvent
from marketplace.contracts.signals import contract_terminated
from marketplace.notifications.models import Notification
from marketplace.payments import services
from marketplace.payments.jobs import run_payment_settlements
from marketplace.payments.models import (
    Payment,
    PaymentAccount,
    PaymentStatus,
    ProviderName,
    StripeEvent,
)
from tests.payments.conftest import event, post_event, sign

P = PaymentStatus


def _payment(db, contract) -> Payment:
    db.session.expire_all()
    return db.session.execute(sa.select(Payment).where(Payment.contract_id == contract.id)).scalar_one()


def _count(db, action: str) -> int:
    return db.session.execute(sa.select(sa.func.count()).where(AuditEvent.action == action)).scalar()


def _checkout(browser, contract):
    url = f"/contracts/{contract.id}/payment"
    return browser.post(f"{url}/checkout", form_url=url)


def _paid(fake, browser, login_as, client, db, in_force):
    s, _req, contract = in_force
    login_as(s.owner)
    _checkout(browser, contract)
    payment = _payment(db, contract)
    fake.complete(payment.checkout_session_id)
    resp = post_event(client, event("checkout.session.completed", {"id": payment.checkout_session_id}))
    assert resp.status_code == 200, resp.data
    return s, contract, _payment(db, contract)


def _ready_account(db, org_id: int, account_id: str = "acct_agency_1") -> PaymentAccount:
    account = PaymentAccount(organisation_id=org_id, stripe_account_id=account_id,
                             details_submitted=True, payouts_enabled=True)
    db.session.add(account)
    db.session.commit()
    return account


def test_checkout_session_is_charged_to_the_platform(fake_stripe, in_force, db, browser, login_as):
    s, _req, contract = in_force
    login_as(s.owner)
    page = browser.get(f"/contracts/{contract.id}/payment")
    assert b"Pay online" in page.data and b"Online payment (Stripe)" in page.data
    csp = page.headers["Content-Security-Policy"]
    assert "form-action 'self' https://checkout.stripe.com" in csp and "script-src 'self' 'nonce-" in csp
    resp = _checkout(browser, contract)
    assert resp.status_code == 303
    assert resp.headers["Location"].startswith("https://checkout.stripe.test/cs_test_")
    [call] = fake_stripe.posts("/v1/checkout/sessions")
    form = call["form"]
    assert form["payment_intent_data[transfer_group]"] == contract.contract_no
    assert form["metadata[contract_id]"] == str(contract.id)
    assert form["payment_intent_data[metadata][contract_id]"] == str(contract.id)
    assert form["line_items[0][price_data][unit_amount]"] == str(contract.price_fen)
    assert form["line_items[0][price_data][currency]"] == "cny"
    assert call["headers"]["Idempotency-Key"] == f"checkout:{contract.id}:1"
    assert "Stripe-Account" not in call["headers"]  # charged on the platform, not the agency
    payment = _payment(db, contract)
    assert payment.provider is ProviderName.STRIPE and payment.status is P.PENDING
    assert isinstance(payment.amount_fen, int) and payment.amount_fen == contract.price_fen

    # a second click goes back to the same session: no second session
    resp = _checkout(browser, contract)
    assert resp.headers["Location"] == payment.checkout_url
    assert len(fake_stripe.posts("/v1/checkout/sessions")) == 1
    # the agency may not pay
    login_as(s.staff[1])
    assert _checkout(browser, contract).status_code == 403


def test_stripe_error_changes_nothing(fake_stripe, in_force, db, browser, login_as):
    s, _req, contract = in_force
    login_as(s.owner)
    fake_stripe.fail_next = 400
    resp = browser.post(f"/contracts/{contract.id}/payment/checkout", form_url=f"/contracts/{contract.id}/payment",
                        follow_redirects=True)
    assert resp.status_code == 200
    assert b"The payment service refused the request" in resp.data
    assert db.session.execute(sa.select(Payment)).scalar_one_or_none() is None


def test_completed_webhook_marks_paid_once(fake_stripe, in_force, db, browser, login_as, client):
    s, contract, payment = _paid(fake_stripe, browser, login_as, client, db, in_force)
    assert payment.status is P.PAID and payment.payment_intent_id.startswith("pi_test_")
    # the session was fetched again from Stripe rather than read from the event
    assert fake_stripe.gets(f"/v1/checkout/sessions/{payment.checkout_session_id}")
    body = event("checkout.session.completed", {"id": payment.checkout_session_id})
    resp = post_event(client, body)  # the same event again
    assert resp.status_code == 200 and resp.get_json()["outcome"] == "duplicate"
    assert _count(db, "payment.paid") == 1
    assert db.session.execute(sa.select(sa.func.count()).select_from(StripeEvent)).scalar() == 1
    # a different event about the same session: fetched again, nothing new happens
    resp = post_event(client, event("checkout.session.async_payment_succeeded",
                                    {"id": payment.checkout_session_id}))
    assert resp.get_json()["outcome"] == "already handled"
    assert _count(db, "payment.paid") == 1
    notes = db.session.execute(sa.select(Notification.user_id).where(Notification.kind == "payments.paid")).scalars()
    assert s.staff[1].id in set(notes)


def test_bad_signatures_and_replays_are_refused(fake_stripe, in_force, db, browser, login_as, client):
    s, _req, contract = in_force
    login_as(s.owner)
    _checkout(browser, contract)
    payment = _payment(db, contract)
    fake_stripe.complete(payment.checkout_session_id)
    body = event("checkout.session.completed", {"id": payment.checkout_session_id})
    forged = sign(body, secret="whsec_someone_else")
    assert post_event(client, body, signature=forged).status_code == 400
    assert post_event(client, body, signature="").status_code == 400
    assert post_event(client, body, signature="t=1,v1=nonsense").status_code == 400
    old = sign(body, t=int(time.time()) - 301)
    assert post_event(client, body, signature=old).status_code == 400  # a replay past the tolerance
    future = sign(body, t=int(time.time()) + 3600)
    assert post_event(client, body, signature=future).status_code == 400  # beyond the clock skew
    tampered = body.replace('"livemode": false', '"livemode": true')
    assert post_event(client, tampered, signature=sign(body)).status_code == 400
    assert post_event(client, "not json", signature=sign("not json")).status_code == 400
    assert db.session.execute(sa.select(sa.func.count()).select_from(StripeEvent)).scalar() == 0
    assert _payment(db, contract).status is P.PENDING
    # the genuine event, signed 4 minutes ago, is still accepted
    assert post_event(client, body, signature=sign(body, t=int(time.time()) - 240)).status_code == 200
    assert _payment(db, contract).status is P.PAID


def test_out_of_order_expired_after_completed(fake_stripe, in_force, db, browser, login_as, client):
    _s, _contract, payment = _paid(fake_stripe, browser, login_as, client, db, in_force)
    # An "expired" event for the session arrives late: Stripe says it is complete, so nothing changes.
    resp = post_event(client, event("checkout.session.expired", {"id": payment.checkout_session_id}))
    assert resp.status_code == 200 and resp.get_json()["outcome"] == "already handled"
    assert _payment(db, payment.contract).status is P.PAID


def test_event_payload_is_not_trusted(fake_stripe, in_force, db, browser, login_as, client):
    s, _req, contract = in_force
    login_as(s.owner)
    _checkout(browser, contract)
    payment = _payment(db, contract)
    # The event claims the session is paid; Stripe says it is still open.
    lie = {"id": payment.checkout_session_id, "status": "complete", "payment_status": "paid",
           "payment_intent": "pi_forged", "amount_total": payment.amount_fen}
    resp = post_event(client, event("checkout.session.completed", lie))
    assert resp.get_json()["outcome"] == "no change"
    assert _payment(db, contract).status is P.PENDING


def test_expired_then_completed_for_an_expired_session(fake_stripe, in_force, db, browser, login_as, client):
    s, _req, contract = in_force
    login_as(s.owner)
    _checkout(browser, contract)
    session_id = _payment(db, contract).checkout_session_id
    fake_stripe.expire(session_id)
    # the completed event (forged order or a stale copy) arrives after the expiry: still expired
    assert post_event(client, event("checkout.session.completed", {"id": session_id},
                                    event_id="evt_a")).get_json()["outcome"] == "expired"
    assert post_event(client, event("checkout.session.expired", {"id": session_id},
                                    event_id="evt_b")).get_json()["outcome"] == "no change"
    payment = _payment(db, contract)
    assert payment.status is P.UNPAID and payment.checkout_session_id is None
    # paying again opens a new session with a new idempotency key
    resp = _checkout(browser, contract)
    assert resp.status_code == 303
    keys = [c["headers"]["Idempotency-Key"] for c in fake_stripe.posts("/v1/checkout/sessions")]
    assert keys == [f"checkout:{contract.id}:1", f"checkout:{contract.id}:3"]
    assert _payment(db, contract).checkout_session_id != session_id


def test_return_page_asks_stripe(fake_stripe, in_force, db, browser, login_as):
    s, _req, contract = in_force
    login_as(s.owner)
    _checkout(browser, contract)
    fake_stripe.complete(_payment(db, contract).checkout_session_id)
    resp = browser.get(f"/contracts/{contract.id}/payment/return", follow_redirects=True)
    assert b"the payment was received and is held by the platform" in resp.data
    assert _payment(db, contract).status is P.PAID


def _accept(contract, s):
    """Accept the service through the delivery domain (its ``delivery_accepted`` signal); while
    that domain does not exist, send a signal of that name to the payments receiver."""
    try:
        from marketplace.delivery import services as delivery
        from tests.delivery.conftest import upload
    except ImportError:
        from blinker import Namespace

        delivery_accepted = Namespace().signal("delivery_accepted")
        delivery_accepted.connect(services._on_delivery_accepted)
        delivery_accepted.send(contract, actor=s.owner)
        return
    from marketplace.delivery.signals import delivery_accepted

    assert id(services._on_delivery_accepted) in delivery_accepted.receivers  # wired at app start
    work = delivery.delivery_of(contract) or delivery.open_delivery(contract)
    delivery.submit_result(work, summary="评价报告终稿", files=[upload()], actor=s.staff[1])
    delivery.accept_delivery(work, version=None, actor=s.owner)


def test_transfer_on_acceptance(app, monkeypatch, fake_stripe, in_force, db, browser, login_as, client):
    monkeypatch.setitem(app.config, "PLATFORM_FEE_BASIS_POINTS", 500)  # 5 %
    s, contract, payment = _paid(fake_stripe, browser, login_as, client, db, in_force)
    assert payment.fee_fen == contract.price_fen * 5 // 100
    _ready_account(db, contract.agency_org_id)
    assert run_payment_settlements() == 0  # not accepted yet: nothing to transfer
    assert not fake_stripe.posts("/v1/transfers")

    _accept(contract, s)
    db.session.commit()
    payment = _payment(db, contract)
    assert payment.status is P.PAID and payment.transfer_requested_at is not None
    version = payment.version
    assert run_payment_settlements() == 1
    [call] = fake_stripe.posts("/v1/transfers")
    assert call["form"]["transfer_group"] == contract.contract_no
    assert call["form"]["destination"] == "acct_agency_1"
    assert call["form"]["amount"] == str(contract.price_fen - payment.fee_fen)
    assert call["form"]["currency"] == "cny"
    assert call["headers"]["Idempotency-Key"] == f"transfer:{contract.id}:{version}"
    payment = _payment(db, contract)
    assert payment.status is P.TRANSFERRED and payment.transfer_id == "tr_test_3"
    assert run_payment_settlements() == 0 and len(fake_stripe.posts("/v1/transfers")) == 1
    # Stripe's transfer.created event: fetched again, already on the record
    resp = post_event(client, event("transfer.created", {"id": payment.transfer_id}))
    assert resp.get_json()["outcome"] == "no change"
    assert _count(db, "payment.transferred") == 1
    login_as(s.staff[1])
    assert b"Transferred to the agency" in browser.get(f"/contracts/{contract.id}/payment").data
    # accepted and paid out: the purchase request is closed
    from marketplace.procurement.models import PurchaseRequest, RequestStatus

    assert db.session.get(PurchaseRequest, contract.request_id).status is RequestStatus.CLOSED


def test_transfer_waits_for_the_agency_account(fake_stripe, in_force, db, browser, login_as, client):
    s, contract, _payment_row = _paid(fake_stripe, browser, login_as, client, db, in_force)
    _accept(contract, s)
    db.session.commit()
    assert run_payment_settlements() == 0
    assert not fake_stripe.posts("/v1/transfers")
    assert db.session.execute(sa.select(sa.func.count()).where(
        Notification.kind == "payments.account_needed", Notification.user_id == s.staff[1].id)).scalar() == 1
    _ready_account(db, contract.agency_org_id)
    assert run_payment_settlements() == 1
    assert _payment(db, contract).status is P.TRANSFERRED


def test_lost_transfer_record_is_recovered_from_the_webhook(fake_stripe, in_force, db, browser, login_as, client):
    s, contract, payment = _paid(fake_stripe, browser, login_as, client, db, in_force)
    _accept(contract, s)
    db.session.commit()
    # The transfer was made at Stripe, but the platform crashed before recording it.
    fake_stripe.objects["tr_lost"] = {"id": "tr_lost", "object": "transfer", "amount": payment.transfer_fen,
                                      "transfer_group": contract.contract_no, "destination": "acct_x"}
    resp = post_event(client, event("transfer.created", {"id": "tr_lost"}))
    assert resp.get_json()["outcome"] == "transferred"
    assert _payment(db, contract).transfer_id == "tr_lost"


def test_refund_on_termination(fake_stripe, in_force, db, browser, login_as, client):
    s, contract, payment = _paid(fake_stripe, browser, login_as, client, db, in_force)
    contract_terminated.send(contract, reason="服务无法继续，双方协商解除", actor=s.owner)
    db.session.commit()
    payment = _payment(db, contract)
    assert payment.status is P.REFUNDING and payment.refund_reason == "服务无法继续，双方协商解除"
    version = payment.version
    assert run_payment_settlements() == 1
    [call] = fake_stripe.posts("/v1/refunds")
    assert call["form"]["payment_intent"] == payment.payment_intent_id
    assert call["headers"]["Idempotency-Key"] == f"refund:{contract.id}:{version}"
    payment = _payment(db, contract)
    assert payment.status is P.REFUNDED
    # Stripe's charge.refunded afterwards changes nothing
    resp = post_event(client, event("charge.refunded", {"id": "ch_1", "payment_intent": payment.payment_intent_id}))
    assert resp.status_code == 200 and resp.get_json()["outcome"] == "no change"
    assert _count(db, "payment.refunded") == 1
    assert db.session.execute(sa.select(sa.func.count()).where(
        Notification.kind == "payments.refunded", Notification.user_id == s.owner.id)).scalar() == 1


def test_pending_refund_completes_by_webhook(fake_stripe, in_force, db, browser, login_as, client):
    s, contract, _p = _paid(fake_stripe, browser, login_as, client, db, in_force)
    fake_stripe.refund_status = "pending"
    services.refund_contract(contract, "合同解除", s.owner)
    db.session.commit()
    assert run_payment_settlements() == 0
    payment = _payment(db, contract)
    assert payment.status is P.REFUNDING and payment.refund_id
    fake_stripe.objects[payment.refund_id]["status"] = "succeeded"
    resp = post_event(client, event("refund.updated", {"id": payment.refund_id,
                                                        "payment_intent": payment.payment_intent_id}))
    assert resp.get_json()["outcome"] == "refunded"
    assert _payment(db, contract).status is P.REFUNDED


def test_termination_while_checkout_open(fake_stripe, in_force, db, browser, login_as, client):
    s, _req, contract = in_force
    login_as(s.owner)
    _checkout(browser, contract)
    session_id = _payment(db, contract).checkout_session_id
    contract_terminated.send(contract, reason="合同解除", actor=s.owner)
    db.session.commit()
    assert _payment(db, contract).status is P.CANCELLED
    # The enterprise pays in the still-open tab before the job closes the session: refunded.
    fake_stripe.complete(session_id)
    resp = post_event(client, event("checkout.session.completed", {"id": session_id}))
    assert resp.get_json()["outcome"] == "refund requested"
    run_payment_settlements()
    assert _payment(db, contract).status is P.REFUNDED
    assert fake_stripe.posts("/v1/refunds")


def test_job_closes_checkout_of_a_cancelled_payment(fake_stripe, in_force, db, browser, login_as):
    s, _req, contract = in_force
    login_as(s.owner)
    _checkout(browser, contract)
    services.refund_contract(contract, "合同解除", s.owner)
    db.session.commit()
    assert run_payment_settlements() == 1
    [call] = [c for c in fake_stripe.calls if c["path"].endswith("/expire")]
    assert call["headers"]["Idempotency-Key"].startswith(f"expire:{contract.id}:")
    assert _payment(db, contract).checkout_url is None
    assert run_payment_settlements() == 0


def test_refund_needs_a_reason(fake_stripe, in_force, db):
    s, _req, contract = in_force
    with pytest.raises(services.PaymentRefused):
        services.refund_contract(contract, "  ", s.owner)


def test_webhook_when_stripe_is_unreachable_is_retried(fake_stripe, in_force, db, browser, login_as, client):
    s, _req, contract = in_force
    login_as(s.owner)
    _checkout(browser, contract)
    payment = _payment(db, contract)
    fake_stripe.complete(payment.checkout_session_id)
    body = event("checkout.session.completed", {"id": payment.checkout_session_id})
    fake_stripe.fail_next = 400  # not retried by the library: one failure is enough
    assert post_event(client, body).status_code == 503
    assert db.session.execute(sa.select(sa.func.count()).select_from(StripeEvent)).scalar() == 0
    assert post_event(client, body).status_code == 200  # Stripe's retry
    assert _payment(db, contract).status is P.PAID


def test_webhook_without_stripe_configured(in_force, db, client):
    body = json.dumps({"id": "evt_1", "type": "checkout.session.completed", "data": {"object": {"id": "cs"}}})
    assert post_event(client, body).status_code == 400


# --- Connect onboarding ------------------------------------------------------------------------


def test_agency_onboards_from_its_profile(fake_stripe, in_force, db, browser, login_as):
    s, _req, contract = in_force
    agency_user = s.staff[1]
    login_as(agency_user)
    page = browser.get("/agency/profile")
    assert b"Connect with Stripe" in page.data and b'href="/payments/connect"' in page.data
    page = browser.get("/payments/connect")
    # the browser may follow the form's redirect to Stripe
    assert "https://connect.stripe.com" in page.headers["Content-Security-Policy"]
    resp = browser.post("/payments/connect", form_url="/payments/connect")
    assert resp.status_code == 303 and resp.headers["Location"].startswith("https://connect.stripe.test/acct_")
    [create] = fake_stripe.posts("/v1/accounts")
    assert create["form"]["type"] == "express"
    assert create["headers"]["Idempotency-Key"] == f"account:{contract.agency_org_id}"
    [link] = fake_stripe.posts("/v1/account_links")
    account = db.session.execute(sa.select(PaymentAccount)).scalar_one()
    assert link["form"]["account"] == account.stripe_account_id
    assert link["form"]["type"] == "account_onboarding"
    assert link["form"]["return_url"].endswith("/payments/connect/return")
    assert link["headers"]["Idempotency-Key"] == f"account_link:{contract.agency_org_id}:1"

    # back from Stripe, details not yet complete; then Stripe completes them
    page = browser.get("/payments/connect/return")
    assert b"Stripe still needs some details" in page.data
    fake_stripe.objects[account.stripe_account_id].update(details_submitted=True, payouts_enabled=True)
    page = browser.get("/payments/connect/return")
    assert b"connected and can receive transfers" in page.data
    assert b"Your Stripe account is connected" in browser.get("/agency/profile").data

    # a second onboarding click makes a new (single-use) link but no second account
    browser.post("/payments/connect", form_url="/payments/connect")
    assert len(fake_stripe.posts("/v1/accounts")) == 1
    assert fake_stripe.posts("/v1/account_links")[-1]["headers"]["Idempotency-Key"].endswith(":2")
    # enterprises cannot onboard
    login_as(s.owner)
    assert browser.post("/payments/connect", form_url="/").status_code == 403


def test_account_updated_webhook(fake_stripe, in_force, db, client):
    _s, _req, contract = in_force
    account = PaymentAccount(organisation_id=contract.agency_org_id, stripe_account_id="acct_hook")
    db.session.add(account)
    db.session.commit()
    fake_stripe.objects["acct_hook"] = {"id": "acct_hook", "object": "account", "details_submitted": True,
                                        "payouts_enabled": True}
    resp = post_event(client, event("account.updated", {"id": "acct_hook", "payouts_enabled": False}))
    assert resp.get_json()["outcome"] == "account refreshed"
    db.session.expire_all()
    assert db.session.get(PaymentAccount, account.id).is_ready


def test_no_stripe_button_when_offline(in_force, db, browser, login_as):
    s, _req, _contract = in_force
    login_as(s.staff[1])
    assert b"Connect with Stripe" not in browser.get("/agency/profile").data
    assert b"not configured" in browser.get("/payments/connect").data
    # everywhere else, forms may only post to the platform
    assert "form-action 'self';" in browser.get("/agency/profile").headers["Content-Security-Policy"] + ";"
    assert b"not configured" in browser.get("/payments/connect/return").data


def test_terminated_by_agreement_refunds_the_stripe_payment(fake_stripe, in_force, db, browser, login_as, client):
    from marketplace.contracts import termination

    s, contract, _p = _paid(fake_stripe, browser, login_as, client, db, in_force)
    term = termination.propose_termination(contract, reason="项目取消", actor=s.owner)
    termination.answer_termination(term, agree=True, actor=s.staff[1])
    db.session.commit()
    payment = _payment(db, contract)
    assert payment.status is P.REFUNDING and "项目取消" in payment.refund_reason
    assert run_payment_settlements() == 1
    assert fake_stripe.posts("/v1/refunds")
    assert _payment(db, contract).status is P.REFUNDED


def test_partial_refund_at_stripe_reduces_the_transfer(fake_stripe, in_force, db, browser, login_as, client):
    s, contract, payment = _paid(fake_stripe, browser, login_as, client, db, in_force)
    part = contract.price_fen // 4
    fake_stripe.objects["re_dash"] = {"id": "re_dash", "object": "refund", "status": "succeeded",
                                      "payment_intent": payment.payment_intent_id, "amount": part}
    body = event("charge.refunded", {"id": "ch_1", "payment_intent": payment.payment_intent_id})
    assert post_event(client, body).get_json()["outcome"] == "partially refunded"
    payment = _payment(db, contract)
    assert payment.status is P.PAID and payment.refunded_fen == part
    assert payment.transfer_fen == contract.price_fen - part
    login_as(s.owner)
    page = browser.get(f"/contracts/{contract.id}/payment").get_data(as_text=True)
    assert 'id="refunded-part"' in page and "Part of the amount refunded at Stripe" in page
    # the same refund reported again changes nothing; the transfer pays out the rest
    assert post_event(client, event("charge.refund.updated", {"id": "re_dash", "payment_intent":
                                                               payment.payment_intent_id})).get_json()["outcome"] == "no change"
    _ready_account(db, contract.agency_org_id)
    _accept(contract, s)
    db.session.commit()
    assert run_payment_settlements() == 1
    [call] = fake_stripe.posts("/v1/transfers")
    assert call["form"]["amount"] == str(contract.price_fen - part)
    assert _count(db, "payment.partially_refunded") == 1


def test_chargeback_holds_the_transfer_until_won(fake_stripe, in_force, db, browser, login_as, client):
    s, contract, payment = _paid(fake_stripe, browser, login_as, client, db, in_force)
    fake_stripe.objects["dp_1"] = {"id": "dp_1", "object": "dispute", "status": "needs_response",
                                   "amount": contract.price_fen, "reason": "fraudulent",
                                   "payment_intent": payment.payment_intent_id}
    assert post_event(client, event("charge.dispute.created", {"id": "dp_1"})).get_json()["outcome"] \
        == "chargeback needs_response"
    payment = _payment(db, contract)
    assert payment.chargeback_open and payment.chargeback_fen == contract.price_fen
    assert db.session.execute(sa.select(sa.func.count()).where(
        Notification.kind == "payments.chargeback_opened", Notification.user_id == s.staff[1].id)).scalar() == 1
    _ready_account(db, contract.agency_org_id)
    _accept(contract, s)
    db.session.commit()
    assert run_payment_settlements() == 0 and not fake_stripe.posts("/v1/transfers")
    login_as(s.staff[1])
    page = browser.get(f"/contracts/{contract.id}/payment").get_data(as_text=True)
    assert 'id="chargeback"' in page and "the transfer to the agency waits" in page

    # an old "created" event delivered after the update: the dispute is fetched again, no change
    fake_stripe.objects["dp_1"]["status"] = "won"
    assert post_event(client, event("charge.dispute.closed", {"id": "dp_1"})).get_json()["outcome"] == "chargeback won"
    assert post_event(client, event("charge.dispute.updated", {"id": "dp_1"})).get_json()["outcome"] == "no change"
    assert not _payment(db, contract).chargeback_open
    assert db.session.execute(sa.select(sa.func.count()).where(
        Notification.kind == "payments.chargeback_closed", Notification.user_id == s.owner.id)).scalar() == 1
    assert run_payment_settlements() == 1
    assert _payment(db, contract).status is P.TRANSFERRED


def test_lost_chargeback_keeps_the_money_from_the_agency(fake_stripe, in_force, db, browser, login_as, client):
    s, contract, payment = _paid(fake_stripe, browser, login_as, client, db, in_force)
    fake_stripe.objects["dp_2"] = {"id": "dp_2", "object": "dispute", "status": "lost",
                                   "amount": contract.price_fen, "reason": "product_not_received",
                                   "payment_intent": payment.payment_intent_id}
    post_event(client, event("charge.dispute.closed", {"id": "dp_2"}))
    _ready_account(db, contract.agency_org_id)
    _accept(contract, s)
    db.session.commit()
    assert run_payment_settlements() == 0 and not fake_stripe.posts("/v1/transfers")
    assert _count(db, "payment.chargeback_opened") == 1


def test_transfer_reversal_is_recorded_once(fake_stripe, in_force, db, browser, login_as, client):
    s, contract, payment = _paid(fake_stripe, browser, login_as, client, db, in_force)
    _ready_account(db, contract.agency_org_id)
    _accept(contract, s)
    db.session.commit()
    run_payment_settlements()
    payment = _payment(db, contract)
    fake_stripe.objects[payment.transfer_id]["amount_reversed"] = 5_000_00
    body = event("transfer.reversed", {"id": payment.transfer_id})
    assert post_event(client, body).get_json()["outcome"] == "transfer reversed"
    assert post_event(client, event("transfer.updated", {"id": payment.transfer_id})).get_json()["outcome"] \
        == "no change"
    payment = _payment(db, contract)
    assert payment.status is P.TRANSFERRED and payment.transfer_reversed_fen == 5_000_00
    assert _count(db, "payment.transfer_reversed") == 1
    login_as(s.staff[1])
    page = browser.get(f"/contracts/{contract.id}/payment").get_data(as_text=True)
    assert 'id="transfer-reversed"' in page and "¥5,000.00" in page
