"""The whole path in the UI: objection → answer → escalation → upheld complaint → next bidder."""

import io
import re

import sqlalchemy as sa

from marketplace.complaints.models import Complaint, ComplaintStatus, Objection, ObjectionStatus
from marketplace.procurement.models import RequestStatus
from tests.complaints.conftest import PDF
from tests.factories import AgencyFactory, UserFactory


def _login(client, login_as, user):
    with client.session_transaction() as sess:
        sess.clear()
    login_as(user)


def _fetch(client, url):
    resp = client.get(url)
    try:
        return resp.status_code, resp.data
    finally:
        resp.close()


def _one(db, model):
    return db.session.execute(sa.select(model)).scalar_one()


def test_objection_to_upheld_complaint_to_next_bidder_in_the_ui(world, db, client, browser, login_as):
    req = world.req
    page = f"/announcements/{req.id}"

    # a losing bidder objects, with a PDF as evidence
    _login(client, login_as, world.objector)
    html = client.get(page).get_data(as_text=True)
    assert "Object to this result" in html
    assert "result-object-button" in client.get(f"{page}/result").get_data(as_text=True)
    resp = browser.post(f"{page}/objections/new", {
        "grounds": "中选单位的资质证书已过期。", "submit_now": "1",
        "files": (io.BytesIO(PDF), "资质证明.pdf"),
    }, content_type="multipart/form-data")
    assert resp.status_code == 302
    obj = _one(db, Objection)
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Waiting for the enterprise" in html and "资质证明.pdf" in html
    evidence_url = re.search(r'href="(/complaints/files/\d+)"', html).group(1)
    assert _fetch(client, evidence_url) == (200, PDF)

    # the enterprise sees it on its request page and answers
    _login(client, login_as, world.owner)
    html = client.get(page).get_data(as_text=True)
    assert obj.reference in html
    assert _fetch(client, evidence_url)[0] == 200
    resp = browser.post(f"/objections/{obj.id}/answer", {"answer-text": "经核查，证书有效。"},
                        form_url=f"/objections/{obj.id}")
    assert resp.status_code == 302
    db.session.refresh(obj)
    assert obj.status is ObjectionStatus.ANSWERED

    # another bidder sees neither the objection nor its evidence
    _login(client, login_as, world.s.staff[2])
    assert client.get(f"/objections/{obj.id}").status_code == 404
    assert _fetch(client, evidence_url)[0] == 404

    # the objector escalates
    _login(client, login_as, world.objector)
    html = client.get(f"/objections/{obj.id}").get_data(as_text=True)
    assert "经核查，证书有效。" in html and "Escalate to a complaint" in html
    resp = browser.post(f"/objections/{obj.id}/escalate", {"escalate-reasons": "答复没有证据。"},
                        form_url=f"/objections/{obj.id}")
    assert resp.status_code == 302
    c = _one(db, Complaint)
    assert resp.headers["Location"].endswith(f"/complaints/{c.id}")

    # the regulator's work list, acceptance and decision
    _login(client, login_as, world.regulator)
    html = client.get("/regulator/complaints").get_data(as_text=True)
    assert c.reference in html
    resp = browser.post(f"/complaints/{c.id}/accept", {}, form_url=f"/complaints/{c.id}")
    assert resp.status_code == 302
    resp = browser.post(f"/complaints/{c.id}/decide", {
        "decide-outcome": "upheld", "decide-against": "agency", "decide-remedy": "next_bidder",
        "decide-text": "中选单位资质不符合要求，取消其中选资格。",
    }, form_url=f"/complaints/{c.id}")
    assert resp.status_code == 302
    db.session.refresh(c)
    db.session.refresh(req)
    assert c.status is ComplaintStatus.UPHELD
    assert req.status is RequestStatus.AWARDED and req.awarded_org_id == world.s.agencies[2].id

    # the outcome is public on the announcement page; the result names the next bidder
    with client.session_transaction() as sess:
        sess.clear()
    html = client.get(page).get_data(as_text=True)
    assert "Complaints decided by the regulator" in html
    assert "中选单位资质不符合要求，取消其中选资格。" in html
    assert "答复没有证据" not in html  # the grounds stay with the parties
    result = client.get(f"{page}/result").get_data(as_text=True)
    assert world.s.agencies[2].name in result

    # the next bidder holds the award and can refuse it like any winner
    _login(client, login_as, world.s.staff[2])
    html = client.get(page).get_data(as_text=True)
    assert "Won" in html and "Refuse the award" in html


def test_bad_input_shows_errors_and_changes_nothing(world, db, client, browser, login_as):
    page = f"/announcements/{world.req.id}"
    _login(client, login_as, world.objector)
    resp = browser.post(f"{page}/objections/new", {"grounds": "", "submit_now": "1"})
    assert resp.status_code == 200 and "This field is required." in resp.get_data(as_text=True)
    resp = browser.post(f"{page}/objections/new", {
        "grounds": "理由", "submit_now": "1", "files": (io.BytesIO(b"GIF89a not accepted"), "x.gif"),
    }, content_type="multipart/form-data")
    assert resp.status_code == 200 and "Only PDF, JPEG and PNG" in resp.get_data(as_text=True)
    resp = browser.post(f"{page}/objections/new", {"grounds": "理由\x00", "submit_now": "1"})
    assert resp.status_code == 200
    assert db.session.execute(sa.select(sa.func.count(Objection.id))).scalar() == 0
    # the winner is told why it cannot object
    _login(client, login_as, world.s.staff[1])
    html = client.get(f"{page}/objections/new").get_data(as_text=True)
    assert "cannot object to its own award" in html
    assert browser.post(f"{page}/objections/new", {"grounds": "x", "submit_now": "1"},
                        form_url=page).status_code == 200
    assert db.session.execute(sa.select(sa.func.count(Objection.id))).scalar() == 0


def test_service_complaint_in_the_ui_and_routes(world, db, client, browser, login_as):
    page = f"/announcements/{world.req.id}"
    _login(client, login_as, world.admin)
    resp = browser.post("/regulator/complaints/routes", {
        "service_item_id": world.req.service_item_id, "regulator_org_id": world.regulator.organisation_id,
    }, form_url="/regulator/complaints")
    assert resp.status_code == 302
    assert world.regulator.organisation.name in client.get("/regulator/complaints").get_data(as_text=True)

    _login(client, login_as, world.owner)
    assert "Complain about the agency" in client.get(page).get_data(as_text=True)
    resp = browser.post(f"{page}/complaints/new", {"category": "overcharging", "grounds": "收费超出承诺标准。"})
    assert resp.status_code == 302
    c = _one(db, Complaint)
    assert c.regulator_org_id == world.regulator.organisation_id
    assert c.reference in client.get("/my/complaints").get_data(as_text=True)

    # the other department's regulator does not see it in its own list and cannot act
    _login(client, login_as, world.other_regulator)
    assert c.reference not in client.get("/regulator/complaints").get_data(as_text=True)
    assert c.reference in client.get("/regulator/complaints?all=1").get_data(as_text=True)
    browser.post(f"/complaints/{c.id}/accept", {}, form_url=f"/complaints/{c.id}")
    db.session.refresh(c)
    assert c.status is ComplaintStatus.SUBMITTED

    _login(client, login_as, world.regulator)
    browser.post(f"/complaints/{c.id}/reject", {"reject-reason": ""}, form_url=f"/complaints/{c.id}")
    db.session.refresh(c)
    assert c.status is ComplaintStatus.SUBMITTED
    browser.post(f"/complaints/{c.id}/reject", {"reject-reason": "不属于本部门受理范围。"},
                 form_url=f"/complaints/{c.id}")
    db.session.refresh(c)
    assert c.status is ComplaintStatus.REJECTED

    _login(client, login_as, world.owner)
    assert "不属于本部门受理范围。" in client.get(f"/complaints/{c.id}").get_data(as_text=True)
    stranger = UserFactory(organisation=AgencyFactory(), role=world.objector.role)
    db.session.commit()
    _login(client, login_as, stranger)
    assert client.get(f"/complaints/{c.id}").status_code == 404


def test_the_workbench_lists_what_waits_for_each_party(world, db, client, login_as):
    obj = world.objection()
    db.session.commit()
    _login(client, login_as, world.owner)
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Objections and complaints waiting for you" in html and obj.reference in html
    assert "Answer the objection" in html
    _login(client, login_as, world.regulator)
    assert "waiting for you" not in client.get("/dashboard").get_data(as_text=True)
    from marketplace.complaints import services

    services.answer_objection(obj, text="答复", actor=world.owner, now=world.during(60))
    c = services.escalate_objection(obj, actor=world.objector, now=world.during(90))
    db.session.commit()
    html = client.get("/dashboard").get_data(as_text=True)
    assert c.reference in html and "Accept or reject the complaint" in html
