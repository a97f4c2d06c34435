"""The public audit trail keeps sealed bids sealed and never lists sign-ins (issue 16 item 10).

Before the deadline no public page, API or export shows that a bid exists (no event, no hash,
no count); after the close the bid events appear, still without a price until the result.
"""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.api.services import create_token
from marketplace.audit.models import AuditEvent
from marketplace.audit.services import record_event
from marketplace.procurement import services
from tests.factories import GovernmentFactory, UserFactory

PRICES = (7_654_321, 8_123_456)
PREFIX = "ocds-zjm000-"


def _price_texts():
    out = []
    for fen in PRICES:
        out += [str(fen), f"{fen / 100:,.2f}", f"{fen / 100:.2f}"]
    return out


def _bid_events(db):
    return (
        db.session.execute(
            sa.select(AuditEvent).where(AuditEvent.object_type == "bids").order_by(AuditEvent.seq)
        )
        .scalars()
        .all()
    )


def _public_texts(client, req, s, headers=None):
    """Every public surface that could carry the audit trail of this request."""
    urls = [
        "/audit/",
        "/audit/?page=2",
        f"/announcements/{req.id}",
        "/api/v1/audit/events?limit=100",
        f"/ocds/releases/{PREFIX}{req.id}.json",
        f"/ocds/records/{PREFIX}{req.id}.json",
        "/ocds/",
        "/search.json?q=环境影响评价",
        "/announcements",
    ]
    texts = {}
    for url in urls:
        resp = client.get(url, headers=headers or {})
        assert resp.status_code < 500, url
        texts[url] = resp.get_data(as_text=True)
    return texts


@pytest.fixture
def sealed(scenario, db):
    s = scenario
    req = s.published()
    record_event("user.login", s.staff[0], actor=s.staff[0])  # what signing in writes
    s.bid(req, 0, PRICES[0])
    s.bid(req, 1, PRICES[1])
    db.session.commit()
    return s, req


def test_before_the_deadline_no_public_surface_shows_a_bid_or_a_sign_in(sealed, db, app):
    s, req = sealed
    bids = _bid_events(db)
    assert [e.action for e in bids] == ["bid.submitted", "bid.submitted"]
    logins = (
        db.session.execute(sa.select(AuditEvent).where(AuditEvent.action == "user.login"))
        .scalars()
        .all()
    )
    assert logins
    # An enterprise's token without the audit scope gets the public view too.
    token, secret = create_token(s.enterprise, name="t", scopes=["requests:read"], actor=s.owner)
    db.session.commit()
    client = app.test_client()
    for headers in (None, {"Authorization": f"Bearer {secret}"}):
        for url, text in _public_texts(client, req, s, headers).items():
            for ev in [*bids, *logins]:
                assert ev.hash not in text and ev.hash[:16] not in text, (url, ev.action)
            for needle in (
                "bid.submitted",
                "Sealed bid submitted",
                "user.login",
                "Signed in",
                *_price_texts(),
            ):
                assert needle not in text, (url, needle)
    seqs = [e["seq"] for e in client.get("/api/v1/audit/events?limit=100").get_json()["items"]]
    assert not {e.seq for e in [*bids, *logins]} & set(seqs)
    # The announcement itself is public: its publication is listed.
    assert "Announcement published" in client.get("/audit/").get_data(as_text=True)


def test_after_the_close_bids_appear_without_prices_until_the_result(sealed, db, app, monkeypatch):
    s, req = sealed
    after = s.after_deadline(req)
    services.close_bidding(req, now=after)
    db.session.commit()
    monkeypatch.setattr("marketplace.audit.services.utcnow", lambda: after)
    monkeypatch.setattr("marketplace.procurement.views.utcnow", lambda: after)
    client = app.test_client()
    html = client.get("/audit/").get_data(as_text=True)
    assert html.count("Sealed bid submitted") == 2 and "Sealed bid opened" in html
    assert f"Bid on {req.reference}" in html
    api = client.get("/api/v1/audit/events?limit=100").get_json()["items"]
    listed = {e["seq"] for e in api}
    assert {e.seq for e in _bid_events(db)} <= listed
    assert all("payload" not in e and "actor_label" not in e for e in api)
    if req.status.value == "bidding_closed":  # the result is not published yet
        for url, text in _public_texts(client, req, s).items():
            for needle in _price_texts():
                assert needle not in text, (url, needle)
    # Sign-ins stay private for good.
    assert "Signed in" not in html and "user.login" not in html


def test_a_regulator_token_with_the_audit_scope_sees_every_event_with_its_payload(sealed, db, app):
    s, req = sealed
    regulator_org = GovernmentFactory()
    regulator = UserFactory(organisation=regulator_org, role="regulator")
    token, secret = create_token(
        regulator_org, name="audit", scopes=["audit:read"], actor=regulator
    )
    db.session.commit()
    client = app.test_client()
    items = client.get(
        "/api/v1/audit/events?limit=100", headers={"Authorization": f"Bearer {secret}"}
    ).get_json()["items"]
    actions = [e["action"] for e in items]
    assert "bid.submitted" in actions and "user.login" in actions
    submitted = next(e for e in items if e["action"] == "bid.submitted")
    assert set(submitted["payload"]) == {"commitment", "version"} and submitted["actor_label"]
    bad = client.get("/api/v1/audit/events", headers={"Authorization": "Bearer zjm_nope_nope"})
    assert bad.status_code == 401


def test_the_trail_of_an_announcement_uses_translated_labels(sealed, db, app):
    s, req = sealed
    text = app.test_client().get(f"/announcements/{req.id}").get_data(as_text=True)
    assert "Announcement published" in text and "Announcement drafted" in text
    assert "purchase_request." not in text


def test_a_draft_leaves_no_public_trace(scenario, db, app):
    req = scenario.draft()
    db.session.commit()
    client = app.test_client()
    assert "Announcement drafted" not in client.get("/audit/").get_data(as_text=True)
    assert client.get("/api/v1/audit/events").get_json()["items"] == []
    assert req.id


def test_the_deadline_itself_is_the_boundary(sealed, db, app, monkeypatch):
    s, req = sealed
    client = app.test_client()
    monkeypatch.setattr(
        "marketplace.audit.services.utcnow", lambda: req.bidding_deadline - timedelta(seconds=1)
    )
    assert "Sealed bid submitted" not in client.get("/audit/").get_data(as_text=True)
    monkeypatch.setattr("marketplace.audit.services.utcnow", lambda: req.bidding_deadline)
    assert "Sealed bid submitted" in client.get("/audit/").get_data(as_text=True)
