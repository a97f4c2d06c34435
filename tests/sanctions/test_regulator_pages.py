"""The regulators' pages: the desk (proposals waiting for a decision, appeals, agencies near a
grade threshold) and the per-agency timeline."""

from __future__ import annotations

import pytest

from marketplace.accounts.models import Role
from marketplace.credit.services import record_credit_input
from marketplace.sanctions import services
from marketplace.sanctions.models import SanctionKind
from tests.factories import AgencyFactory, EnterpriseFactory, UserFactory
from tests.sanctions.conftest import NOW, TODAY


def _section(html: str, element_id: str) -> str:
    """The HTML of the element with ``element_id`` (up to its closing tag of the same name)."""
    start = html.index(f'id="{element_id}"')
    tag = html.rfind("<", 0, start)
    name = html[tag + 1:start].split()[0]
    return html[start:html.index(f"</{name}>", start)]


def _desk(client) -> str:
    resp = client.get("/regulator/sanctions")
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def test_the_desk_lists_the_proposals_waiting_for_a_decision(db, client, login_as, world):
    proposed = world.propose("warning", end_date=TODAY.replace(month=9))
    notified = world.propose("suspension")
    services.notify_agency(notified, actor=world.r1, now=NOW)
    automatic = services.open_system_proposal(
        world.agency.id, trigger_code="credit_grade", trigger_key="credit_grade:test", kind=SanctionKind.WARNING,
        ground_code="low_credit_grade", params={"grade": "D", "score": "41.20"}, period_days=180, now=NOW)
    decided = world.decided("warning")
    withdrawn = world.propose("warning", end_date=TODAY.replace(month=9))
    services.withdraw_sanction(withdrawn, actor=world.r2, reason="证据不足", now=NOW)
    db.session.commit()

    login_as(world.r2)
    queue = _section(_desk(client), "proposal-queue")
    for case in (proposed, notified, automatic):
        assert case.reference in queue and f'href="/regulator/sanctions/{case.id}"' in queue
    for case in (decided, withdrawn):
        assert case.reference not in queue
    # the earliest response deadline comes first; the automatic proposal names no proposer
    assert queue.index(notified.reference) < queue.index(proposed.reference)
    assert notified.response_deadline.isoformat() in queue
    assert "Automatic trigger" in queue and world.r1.name in queue
    assert "Notified, response period open" in queue

    # each line opens the case, where the proposer may not decide and another regulator may
    page = client.get(f"/regulator/sanctions/{proposed.id}").get_data(as_text=True)
    assert 'id="decide-form"' in page
    login_as(world.r1)
    page = client.get(f"/regulator/sanctions/{proposed.id}").get_data(as_text=True)
    assert 'id="decide-form"' not in page
    assert "You proposed this sanction: another regulator must decide it." in page


def test_the_desk_lists_appeals_until_they_are_decided(db, client, login_as, world):
    case = world.decided("suspension")
    db.session.commit()
    login_as(world.r3)
    assert "No appeal is waiting." in _section(_desk(client), "appeal-queue")

    services.appeal_sanction(case, text="处罚过重，请求缩短。", actor=world.staff, now=NOW)
    db.session.commit()
    appeals = _section(_desk(client), "appeal-queue")
    assert case.reference in appeals and world.agency.name in appeals
    assert f"Appealed on {TODAY.isoformat()}" in appeals
    # the decider of the sanction is not offered the appeal; a third regulator is
    login_as(world.r2)
    page = client.get(f"/regulator/sanctions/{case.id}").get_data(as_text=True)
    assert 'id="appeal-form"' not in page and 'id="appeal-problem"' in page
    login_as(world.r3)
    assert 'id="appeal-form"' in client.get(f"/regulator/sanctions/{case.id}").get_data(as_text=True)

    services.decide_appeal(case, actor=world.r3, outcome="upheld", reason="维持原处理决定", now=NOW)
    db.session.commit()
    assert case.reference not in _section(_desk(client), "appeal-queue")


def test_the_desk_lists_agencies_near_a_grade_threshold(db, client, login_as, world):
    near = AgencyFactory(name="临界评价咨询有限公司")
    safe = AgencyFactory(name="稳健评价咨询有限公司")
    record_credit_input(near, "overrun_days", value=4, now=NOW)  # 75 − 4 = 71: grade B, 1 point above C
    record_credit_input(safe, "overrun_days", value=1, now=NOW)  # 74: B, 4 points above C
    db.session.commit()

    login_as(world.r1)
    table = _section(_desk(client), "near-threshold-table")
    assert "临界评价咨询有限公司" in table and "稳健评价咨询有限公司" not in table
    row = table[table.index("临界评价咨询有限公司"):]
    row = row[:row.index("</tr>")]
    assert "71.00" in row and "Grade B" in row and "Grade C" in row
    assert f'href="/regulator/agencies/{near.id}"' in row


def test_the_near_threshold_margin_follows_the_setting(app, db, client, login_as, world, monkeypatch):
    safe = AgencyFactory(name="稳健评价咨询有限公司")
    record_credit_input(safe, "overrun_days", value=1, now=NOW)  # 74: B, 4 points above C
    db.session.commit()
    monkeypatch.setitem(app.config, "CREDIT_NEAR_THRESHOLD_POINTS", 5)
    login_as(world.r1)
    assert "稳健评价咨询有限公司" in _section(_desk(client), "near-threshold-table")


def test_the_agency_timeline_shows_cases_credit_and_scores(db, client, login_as, world):
    case = world.decided("suspension")
    services.appeal_sanction(case, text="请求缩短。", actor=world.staff, now=NOW)
    services.decide_appeal(case, actor=world.r3, outcome="shortened", reason="情节较轻",
                           new_end_date=TODAY.replace(month=4), now=NOW)
    record_credit_input(world.agency, "overrun_days", value=3, now=NOW,
                        refs=[("contract", 77, "HT-2026-0077"), ("approval_case", 5, "SP2026000005")])
    db.session.commit()

    login_as(world.r1)
    resp = client.get(f"/regulator/agencies/{world.agency.id}")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert world.agency.name in page and world.agency.uscc in page
    cases = _section(page, "timeline-cases")
    assert case.reference in cases and "Shortened on appeal" in cases
    assert f"{TODAY.isoformat()} – {TODAY.replace(month=4).isoformat()}" in cases
    timeline = _section(page, "timeline")
    for step in ("Proposed", "Notified, response period open", "The agency responded", "Decided",
                 "Appealed", "Appeal decided", "Overrun of the committed time", "HT-2026-0077",
                 "SP2026000005", "60.00 · C", "57.00 · D"):
        assert step in timeline, step
    # the current score and grade in the heading, and the links onwards
    heading = page[page.index("<h1"):page.index("Sanction cases")]
    assert "57.00" in heading and "Grade D" in heading
    for url in (f"/credit/agencies/{world.agency.id}", f"/agencies/{world.agency.id}",
                f"/regulator/sanctions/new?agency={world.agency.id}", f"/regulator/sanctions/{case.id}"):
        assert f'href="{url}"' in page, url


def test_the_timeline_of_an_unknown_or_non_agency_organisation_is_404(db, client, login_as, world):
    enterprise = EnterpriseFactory()
    db.session.commit()
    login_as(world.r1)
    assert client.get(f"/regulator/agencies/{enterprise.id}").status_code == 404
    assert client.get("/regulator/agencies/2147483647").status_code == 404


@pytest.mark.parametrize("url", ["/regulator/sanctions", "/regulator/agencies/{agency}"])
def test_only_regulators_and_administrators_open_the_desk_and_timelines(db, client, login_as, world, url):
    url = url.format(agency=world.agency.id)
    outsider = UserFactory(organisation=EnterpriseFactory(), role=Role.ENTERPRISE_STAFF)
    db.session.commit()
    for user, status in ((world.staff, 403), (outsider, 403), (world.r1, 200), (world.admin, 200)):
        login_as(user)
        assert client.get(url).status_code == status, (user.role, url)
