"""Public lists and filters, dashboards, and bad input on every page."""

import pytest

from marketplace.procurement import services
from marketplace.procurement.jobs import run_procurement_deadlines
from marketplace.procurement.models import SelectionMethod
from tests.procurement.conftest import make_scenario


def test_announcement_list_filters_and_paginates(db, client):
    s1, s2 = make_scenario(db), make_scenario(db)
    a = s1.published(title="五华区道路环评", selection_method=SelectionMethod.RANDOM_DRAW)
    b = s2.published(title="盘龙区管网环评")
    s2.case.project_code = "2026-530103-48-01-000777"
    b.region_code = "530103"
    db.session.commit()
    html = client.get("/announcements").get_data(as_text=True)
    assert a.title in html and b.title in html
    html = client.get("/announcements?method=random_draw").get_data(as_text=True)
    assert a.title in html and b.title not in html
    html = client.get("/announcements?region=530103").get_data(as_text=True)
    assert b.title in html and a.title not in html
    html = client.get("/announcements?region=530100").get_data(as_text=True)  # the city covers both
    assert a.title in html and b.title in html
    html = client.get(f"/announcements?item={s1.item.id}&status=published").get_data(as_text=True)
    assert a.title in html and b.title not in html
    html = client.get("/announcements?status=awarded").get_data(as_text=True)
    assert a.title not in html


@pytest.mark.parametrize("query", [
    "?page=-1", "?page=abc", "?page=99999999999", "?region=xx", "?region=999999", "?item=abc",
    "?item=99999999999999", "?method=bogus", "?status=draft", "?status=%00", "?region=%00%00",
])
def test_bad_filters_never_crash(db, client, query):
    assert client.get("/announcements" + query).status_code == 200


@pytest.mark.parametrize("url", [
    "/announcements/0", "/announcements/99999999999", "/announcements/99999999999/result",
    "/announcements/99999999999/result.json", "/announcements/5/result",
])
def test_unknown_ids_are_404(db, client, url):
    assert client.get(url).status_code == 404


def test_enterprise_dashboard_lists_what_needs_action(scenario, db, client, login_as):
    s = scenario
    draft = s.draft()
    db.session.commit()
    login_as(s.owner)
    html = client.get("/procurement/my-requests?lang=en").get_data(as_text=True)
    assert draft.title in html and "publish it" in html
    services.publish_request(draft, actor=s.owner, now=s.now)
    s.bid(draft, 0, 1_000_000)
    s.bid(draft, 1, 5_000_000)  # abnormally low first bid: waits for the enterprise
    run_procurement_deadlines(s.after_deadline(draft))
    html = client.get("/procurement/my-requests?lang=en").get_data(as_text=True)
    assert "abnormally low" in html


def test_agency_dashboard_shows_own_bids_invitations_and_opportunities(scenario, db, client, login_as):
    s = scenario
    req = s.published()
    s.bid(req, 1, 4_000_000)
    db.session.commit()
    login_as(s.staff[0])
    html = client.get("/procurement/my-bids?lang=en").get_data(as_text=True)
    assert req.title in html and 'id="opportunities"' in html  # an open announcement for its service
    assert "40,000.00" not in html  # another agency's bid
    other = make_scenario(db)
    direct = other.published(selection_method=SelectionMethod.DIRECT, direct_agency_id=other.agencies[0].id,
                             direct_reason="熟悉项目")
    db.session.commit()
    login_as(other.staff[0])
    html = client.get("/procurement/my-bids?lang=en").get_data(as_text=True)
    assert "selected directly" in html and direct.title in html


def test_agency_panel_explains_why_it_cannot_bid(scenario, db, client, login_as):
    s = scenario
    req = s.published()
    from marketplace.accounts.models import Role
    from tests.factories import AgencyFactory, UserFactory

    stranger = UserFactory(organisation=AgencyFactory(), role=Role.AGENCY_STAFF)
    db.session.commit()
    login_as(stranger)
    html = client.get(f"/announcements/{req.id}?lang=en").get_data(as_text=True)
    assert 'id="bid-problems"' in html and "no published listing" in html
    login_as(s.staff[0])
    html = client.get(f"/announcements/{req.id}").get_data(as_text=True)
    assert 'id="bid-button"' in html


def test_post_routes_refuse_strangers(scenario, db, browser, login_as):
    s = scenario
    req = s.published()
    bid = s.bid(req, 0, 1_000_000)
    db.session.commit()
    login_as(s.staff[1])
    assert browser.post(f"/procurement/bids/{bid.id}/withdraw", form_url="/").status_code == 404
    assert browser.post(f"/procurement/requests/{req.id}/cancel", {"cancel-reason": "x"}, form_url="/").status_code == 403
    from marketplace.accounts.models import Role
    from tests.factories import EnterpriseFactory, UserFactory

    other_owner = UserFactory(organisation=EnterpriseFactory(), role=Role.ENTERPRISE_STAFF)
    db.session.commit()
    login_as(other_owner)
    assert browser.post(f"/procurement/requests/{req.id}/cancel", {"cancel-reason": "x"}, form_url="/").status_code == 404
    assert browser.post(f"/procurement/requests/{req.id}/publish", form_url="/").status_code == 404
    db.session.refresh(bid)
    assert bid.status.value == "submitted"


def test_owner_cancels_through_the_page(scenario, db, browser, login_as, client):
    s = scenario
    req = s.published()
    db.session.commit()
    login_as(s.owner)
    resp = browser.post(f"/procurement/requests/{req.id}/cancel", {"cancel-reason": ""},
                        form_url=f"/announcements/{req.id}")
    assert resp.status_code == 302
    db.session.refresh(req)
    assert req.status.value == "published"
    browser.post(f"/procurement/requests/{req.id}/cancel", {"cancel-reason": "资金未落实"},
                 form_url=f"/announcements/{req.id}")
    db.session.refresh(req)
    assert req.status.value == "cancelled" and req.cancel_reason == "资金未落实"


def test_result_waits_for_the_award(scenario, db, client):
    s = scenario
    req = s.published()
    db.session.commit()
    resp = client.get(f"/announcements/{req.id}/result")
    assert resp.status_code == 302
    assert client.get(f"/announcements/{req.id}/result.json").status_code == 404
