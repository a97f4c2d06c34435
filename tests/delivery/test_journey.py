"""Issue 7's journey in the browser with the offline provider: in force → paid → delivered → accepted."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.contracts.models import Contract, ContractStatus
from marketplace.delivery.models import Delivery, DeliveryStatus
from marketplace.payments.models import Payment, PaymentStatus
from marketplace.procurement.models import PurchaseRequest, RequestStatus
from tests.delivery.test_views import _submit, _version_field


def test_paid_offline_then_delivered_and_accepted(db, browser, login_as, in_force):
    f = in_force
    contract = f.contract
    pay_url = f"/contracts/{contract.id}/payment"

    # the enterprise pays by bank transfer and records it; the agency confirms receipt
    login_as(f.owner)
    page = browser.get(f"/contracts/{contract.id}").get_data(as_text=True)
    assert 'id="delivery-link"' in page and 'id="payment-panel"' in page
    resp = browser.post(f"{pay_url}/offline", {"reference": "ICBC20261123-0042",
                                                "amount": f"{contract.price_fen / 100:.2f}",
                                                "paid_on": contract.effective_date.isoformat()},
                        form_url=pay_url, follow_redirects=True)
    assert resp.status_code == 200
    login_as(f.agent)
    resp = browser.post(f"{pay_url}/confirm", form_url=pay_url, follow_redirects=True)
    assert resp.status_code == 200
    db.session.expire_all()
    payment = db.session.execute(sa.select(Payment).where(Payment.contract_id == contract.id)).scalar_one()
    assert payment.status is PaymentStatus.CONFIRMED and payment.amount_fen == contract.price_fen

    # the agency delivers; the enterprise accepts
    url = f"/deliveries/{contract.id}"
    assert b"Version 1 of the result was submitted." in _submit(browser, contract).data
    login_as(f.owner)
    page = browser.get(url).get_data(as_text=True)
    resp = browser.post(f"{url}/accept", {"version": _version_field(page)}, form_url=url, follow_redirects=True)
    assert b"was accepted and attached to the approval case" in resp.data

    db.session.expire_all()
    delivery = db.session.execute(sa.select(Delivery).where(Delivery.contract_id == contract.id)).scalar_one()
    assert delivery.status is DeliveryStatus.ACCEPTED
    assert db.session.get(Contract, contract.id).status is ContractStatus.COMPLETED
    # accepted and already paid: the request is closed (办结), publicly
    assert db.session.get(PurchaseRequest, f.req.id).status is RequestStatus.CLOSED
    assert "Closed" in browser.get(f"/announcements/{f.req.id}").get_data(as_text=True)
    # the timeline shows signing, payment and delivery to both parties
    timeline = browser.get(f"{url}/timeline").get_data(as_text=True)
    steps = ["Sealed and in force", "Bank transfer recorded", "Receipt confirmed",
             "Version 1 of the result submitted", "Version 1 accepted"]
    positions = [timeline.index(step) for step in steps]
    assert positions == sorted(positions) and "ICBC20261123-0042" in timeline
