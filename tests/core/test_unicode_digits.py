"""Characters Python calls digits but ``int()`` refuses (², ³, ①) are bad input, never an HTTP 500."""

import pytest

from marketplace.accounts.models import Role
from marketplace.audit.registry import subject_label
from marketplace.notifications.services import notify, unread_count
from marketplace.payments.providers import _signed_at
from marketplace.ratings.models import RatingRole
from marketplace.ratings.services import _checked_scores
from tests.factories import GovernmentFactory, UserFactory

ODD = ["²", "³", "①", "1²"]


@pytest.mark.parametrize("raw", ODD)
def test_marking_a_notification_read_with_an_odd_id_changes_nothing(browser, db, login_as, raw):
    user = UserFactory()
    notify(user, "test.deadline", params={"title": "t", "date": "d"}, dedupe_key="a")
    db.session.commit()
    login_as(user)
    resp = browser.post("/notifications/read", {"id": raw}, form_url="/notifications/")
    assert resp.status_code == 302
    assert unread_count(user) == 1


@pytest.mark.parametrize("raw", ODD)
def test_oversight_filters_refuse_an_odd_id(client, login_as, db, raw):
    login_as(UserFactory(organisation=GovernmentFactory(), role=Role.REGULATOR))
    for name in ("department", "item"):
        response = client.get("/regulator/oversight", query_string={name: raw})
        assert response.status_code in (200, 400), (name, response.status_code)


@pytest.mark.parametrize("raw", ODD)
def test_an_odd_score_is_a_refusal(db, raw):
    role = next(iter(RatingRole))
    scores = {dim: 5 for dim in role.dimensions}
    scores[role.dimensions[0]] = raw
    from marketplace.core.errors import DomainError

    with pytest.raises(DomainError):
        _checked_scores(role, scores)


def test_odd_digits_in_a_stripe_signature_timestamp_are_ignored():
    assert _signed_at("t=²,t=1700000000,v1=abc") == 1700000000
    assert _signed_at("t=³") == 0


def test_an_audit_subject_with_an_odd_id_is_named_without_a_lookup(db):
    assert subject_label("purchase_requests", "²") == subject_label("purchase_requests", "not-an-id")


@pytest.mark.parametrize("raw", ["abc", "99999999999999999999", "-1"])
def test_a_malformed_notification_id_marks_nothing_read(browser, db, login_as, raw):
    user = UserFactory()
    notify(user, "test.deadline", params={"title": "t", "date": "d"}, dedupe_key="a")
    db.session.commit()
    login_as(user)
    resp = browser.post("/notifications/read", {"id": raw}, form_url="/notifications/")
    assert resp.status_code == 302
    assert unread_count(user) == 1
    assert "该通知不存在。" in browser.get("/notifications/").get_data(as_text=True)
