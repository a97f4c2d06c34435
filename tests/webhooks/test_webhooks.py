"""Event push: outbox in the emitter's transaction, signed deliveries, back-off, replay."""

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.webhooks.models import DeliveryStatus, WebhookDelivery
from marketplace.webhooks.services import BACKOFF, create_endpoint, deliver_due, emit, replay
from marketplace.webhooks.signing import verify
from tests.factories import EnterpriseFactory, GovernmentFactory, UserFactory


class FakeReceiver:
    """Records requests and answers with a scripted status (no network)."""

    def __init__(self, statuses=(200,)):
        self.statuses = list(statuses)
        self.requests = []

    def post(self, url, body, headers, timeout):
        self.requests.append((url, body, headers))
        status = self.statuses.pop(0) if self.statuses else 200
        if status == "timeout":
            raise TimeoutError("timed out")
        return status


@pytest.fixture
def receiver(app):
    fake = FakeReceiver()
    app.extensions["webhook_sender"] = fake
    yield fake
    app.extensions.pop("webhook_sender", None)


def _endpoint(db, events=("request.published",), org=None):
    org = org or GovernmentFactory()
    user = UserFactory(organisation=org)
    endpoint, secret = create_endpoint(org, url="https://approval.example.gov.cn/hooks", event_types=list(events),
                                       description="并联审批系统", actor=user)
    db.session.commit()
    return endpoint, secret, user


def _documented_verify():
    """The ten-line verifier exactly as published in docs/webhooks.md."""
    doc = (Path(__file__).resolve().parents[2] / "docs" / "webhooks.md").read_text(encoding="utf-8")
    code = re.search(r"```python\n(.*?)```", doc, re.S).group(1)
    assert len(code.strip().splitlines()) <= 10
    namespace: dict = {}
    exec(code, namespace)  # noqa: S102 - our own documentation
    return namespace["verify"]


def test_emitted_event_is_delivered_signed_and_verifiable_with_the_documented_snippet(db, receiver):
    endpoint, secret, _user = _endpoint(db)
    assert emit("request.published", {"request_id": 7, "title": "环评采购"}) == 1
    db.session.commit()
    assert deliver_due() == 1
    url, body, headers = receiver.requests[0]
    assert url == endpoint.url
    assert json.loads(body)["data"]["title"] == "环评采购"
    assert headers["X-Zhongjie-Event"] == "request.published"
    documented = _documented_verify()
    assert documented(secret, headers["X-Zhongjie-Signature"], body)
    assert not documented(secret, headers["X-Zhongjie-Signature"], body + b" ")
    assert not documented("whsec_wrong", headers["X-Zhongjie-Signature"], body)
    assert verify(secret, headers["X-Zhongjie-Signature"], body)
    delivery = db.session.execute(sa.select(WebhookDelivery)).scalar_one()
    assert delivery.status is DeliveryStatus.SUCCEEDED


def test_old_signature_is_rejected_as_a_replay(db):
    from marketplace.webhooks.signing import sign

    header = sign("whsec_x", 1_000_000, b"{}")
    assert not verify("whsec_x", header, b"{}")
    assert verify("whsec_x", header, b"{}", now=1_000_100)


def test_only_subscribed_endpoints_and_the_audience_receive(db, receiver):
    dept = GovernmentFactory()
    _endpoint(db, events=("request.published",), org=dept)
    _endpoint(db, events=("contract.in_force",))
    other, _s, _u = _endpoint(db, events=("request.published",))
    assert emit("request.published", {"x": 1}, audience=[dept.id]) == 1
    assert emit("contract.in_force", {"x": 2}) == 1
    db.session.commit()
    assert deliver_due() == 2
    assert other.id not in {d.endpoint_id for d in db.session.execute(sa.select(WebhookDelivery)).scalars()}


def test_rollback_pushes_nothing(db, receiver):
    _endpoint(db)
    emit("request.published", {"x": 1})
    db.session.rollback()
    assert deliver_due() == 0 and receiver.requests == []


def test_failures_back_off_then_give_up_and_replay_sends_again(db, receiver):
    _endpoint(db)
    receiver.statuses = [500, "timeout"] + [503] * 10
    emit("request.published", {"x": 1})
    db.session.commit()
    now = utcnow()
    assert deliver_due(now) == 0
    delivery = db.session.execute(sa.select(WebhookDelivery)).scalar_one()
    assert delivery.status is DeliveryStatus.PENDING and delivery.last_status_code == 500
    assert delivery.next_attempt_at - now == timedelta(seconds=BACKOFF[0])
    assert deliver_due(now) == 0  # not due yet: nothing sent
    assert len(receiver.requests) == 1
    for _ in range(len(BACKOFF)):
        db.session.refresh(delivery)
        deliver_due(delivery.next_attempt_at)
    db.session.refresh(delivery)
    assert delivery.status is DeliveryStatus.DEAD and delivery.attempts == len(BACKOFF) + 1
    event_ids = {r[2]["X-Zhongjie-Delivery"] for r in receiver.requests}
    assert len(event_ids) == 1  # retries carry the same event id
    receiver.statuses = [200]
    replay(delivery, actor=UserFactory(organisation=delivery.endpoint.organisation))
    db.session.commit()
    assert deliver_due() == 1


def test_bad_urls_are_refused(app, db):
    org = GovernmentFactory()
    user = UserFactory(organisation=org)
    app.config["WEBHOOK_ALLOW_HTTP"] = False
    app.config["WEBHOOK_ALLOW_PRIVATE"] = False
    try:
        for url in ["ftp://x.example/a", "http://approval.example.gov.cn/h", "https://127.0.0.1/h",
                    "https://user:pw@approval.example.gov.cn/h", "https://10.1.2.3/h", "not a url"]:
            with pytest.raises(DomainError):
                create_endpoint(org, url=url, event_types=["ping"], description="", actor=user)
    finally:
        app.config["WEBHOOK_ALLOW_HTTP"] = True
        app.config["WEBHOOK_ALLOW_PRIVATE"] = True
    with pytest.raises(DomainError):
        create_endpoint(org, url="https://ok.example/h", event_types=["no.such.event"], description="", actor=user)


def test_endpoint_pages_register_ping_and_show_deliveries(browser, db, login_as, receiver):
    user = UserFactory(organisation=EnterpriseFactory())
    db.session.commit()
    login_as(user)
    html = browser.post("/account/webhooks", {"url": "https://erp.example.com/zj", "description": "ERP",
                                              "event_types": ["request.awarded", "contract.in_force"]}
                        ).get_data(as_text=True)
    assert 'id="new-secret"' in html
    endpoint_id = int(re.search(r"/account/webhooks/(\d+)", html).group(1))
    resp = browser.post(f"/account/webhooks/{endpoint_id}/ping", form_url=f"/account/webhooks/{endpoint_id}")
    assert resp.status_code == 302
    assert deliver_due() == 1
    html = browser.get(f"/account/webhooks/{endpoint_id}").get_data(as_text=True)
    assert "ping" in html
    stranger = UserFactory(organisation=EnterpriseFactory())
    db.session.commit()
    login_as(stranger)
    assert browser.get(f"/account/webhooks/{endpoint_id}").status_code == 404


def test_the_guide_page_shows_the_snippet(client):
    html = client.get("/webhooks/guide").get_data(as_text=True)
    assert "hmac.compare_digest" in html
