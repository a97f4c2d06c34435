"""The whole path in the browser, who sees what, and bad input that changes nothing."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import ROUTE_ROLES
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.uploads import StoredFile
from marketplace.delivery import services
from marketplace.delivery.models import Delivery, DeliveryStatus, ExtensionStatus
from marketplace.delivery.signals import delivery_accepted
from marketplace.procurement.models import PurchaseRequest, RequestStatus
from marketplace.workdays.services import add_working_days
from tests.delivery.conftest import PDF, PNG
from tests.factories import AgencyFactory, EnterpriseFactory, GovernmentFactory, UserFactory


def _files(*items):
    return [(io.BytesIO(data), name) for data, name in items]


def _submit(browser, contract, summary="环境影响报告书（报批稿）", files=((PDF, "报告书.pdf"),)):
    url = f"/deliveries/{contract.id}"
    return browser.post(f"{url}/submit", {"summary": summary, "files": _files(*files)},
                        form_url=url, content_type="multipart/form-data", follow_redirects=True)


def _version_field(html: str) -> str:
    match = re.search(r'name="version" type="hidden" value="(\d*)"', html)
    assert match, "no version on the page"
    return match.group(1)


def _fresh(db, model, obj_id):
    db.session.expire_all()
    return db.session.get(model, obj_id)


def test_whole_path_in_the_browser(db, browser, login_as, in_force):
    f = in_force
    contract = f.contract
    url = f"/deliveries/{contract.id}"

    # the agency's workbench shows the countdown; the page opens the work
    login_as(f.agent)
    board = browser.get("/dashboard").get_data(as_text=True)
    assert contract.contract_no in board and "working days left" in board
    page = browser.get(url).get_data(as_text=True)
    assert "Work in progress" in page and "How the time is counted" in page and "pauses the clock" in page
    assert 'id="submit-form"' in page and 'id="accept-form"' not in page

    resp = _submit(browser, contract, files=((PDF, "报告书.pdf"), (PNG, "附图.png")))
    assert b"Version 1 of the result was submitted." in resp.data
    delivery = services.delivery_of(contract)
    assert delivery.status is DeliveryStatus.SUBMITTED and len(delivery.latest.files) == 2

    # the enterprise asks for a revision
    login_as(f.owner)
    board = browser.get("/dashboard").get_data(as_text=True)
    assert contract.contract_no in board and "With the enterprise for acceptance" in board
    page = browser.get(url).get_data(as_text=True)
    assert "报告书.pdf" in page and 'id="accept-form"' in page
    resp = browser.post(f"{url}/revision", {"reason": "请补充噪声监测数据", "version": _version_field(page)},
                        form_url=url, follow_redirects=True)
    assert b"The revision was requested." in resp.data
    assert _fresh(db, Delivery, delivery.id).status is DeliveryStatus.REVISION_REQUESTED

    # the agency resubmits: version 2
    login_as(f.agent)
    page = browser.get(url).get_data(as_text=True)
    assert "请补充噪声监测数据" in page
    resp = _submit(browser, contract, summary="补充噪声监测数据后的报批稿")
    assert b"Version 2 of the result was submitted." in resp.data

    # the enterprise accepts version 2
    received = []

    def receiver(sender, **kwargs):
        received.append(sender.id)

    delivery_accepted.connect(receiver)
    login_as(f.owner)
    page = browser.get(url).get_data(as_text=True)
    assert _version_field(page) == "2"
    try:
        resp = browser.post(f"{url}/accept", {"version": "2"}, form_url=url, follow_redirects=True)
    finally:
        delivery_accepted.disconnect(receiver)
    assert b"Version 2 was accepted and attached to the approval case." in resp.data
    assert received == [contract.id]
    delivery = _fresh(db, Delivery, delivery.id)
    assert delivery.status is DeliveryStatus.ACCEPTED and delivery.accepted_version == 2
    assert db.session.get(Contract, contract.id).status is ContractStatus.COMPLETED
    assert db.session.get(PurchaseRequest, f.req.id).status is RequestStatus.ACCEPTED

    # the approval officer of the case's department sees the accepted result on the case page
    login_as(f.officer)
    case_page = browser.get(f"/procurement/cases/{f.s.case.id}").get_data(as_text=True)
    assert "Accepted intermediary results" in case_page and "补充噪声监测数据后的报批稿" in case_page
    accepted_file = delivery.latest.files[0]
    first_file = delivery.submissions[0].files[0]
    resp = browser.get(f"{url}/files/{accepted_file.id}")
    assert resp.status_code == 200 and resp.data == PDF
    resp.close()
    assert browser.get(f"{url}/files/{first_file.id}").status_code == 404  # not the accepted one

    # the timeline, for the officer too
    timeline = browser.get(f"{url}/timeline").get_data(as_text=True)
    for kind in ("contract", "delivery", "submission", "revision", "accepted"):
        assert f'data-kind="{kind}"' in timeline, kind
    assert "Sealed and in force" in timeline and "Version 2 accepted" in timeline


def test_others_do_not_see_the_result(db, browser, login_as, in_force):
    f = in_force
    contract = f.contract
    delivery = f.delivery()
    services.submit_result(delivery, summary="机密成果", files=[(PDF)], actor=f.agent)
    services.accept_delivery(delivery, version=1, actor=f.owner)
    db.session.commit()
    file_id = delivery.latest.files[0].id
    url = f"/deliveries/{contract.id}"
    strangers = [
        UserFactory(organisation=GovernmentFactory(), role=Role.APPROVAL_OFFICER),  # another department
        UserFactory(organisation=EnterpriseFactory(), role=Role.ENTERPRISE_STAFF),
        UserFactory(organisation=AgencyFactory(), role=Role.AGENCY_STAFF),
        f.s.staff[0],  # an agency that lost the award
    ]
    db.session.commit()
    for user in strangers:
        login_as(user)
        assert browser.get(url).status_code == 404, user
        assert browser.get(f"{url}/timeline").status_code == 404, user
        assert browser.get(f"{url}/files/{file_id}").status_code == 404, user
        case_page = browser.get(f"/procurement/cases/{f.s.case.id}")
        assert "机密成果" not in case_page.get_data(as_text=True)
    browser.logout()
    resp = browser.get(url)
    assert resp.status_code == 302 and "/login" in resp.headers["Location"]
    # the regulator sees it
    login_as(UserFactory(organisation=GovernmentFactory(), role=Role.REGULATOR))
    db.session.commit()
    resp = browser.get(f"{url}/files/{file_id}")
    assert resp.status_code == 200
    resp.close()


def test_the_officer_sees_no_file_before_acceptance(db, browser, login_as, in_force):
    f = in_force
    delivery = f.delivery()
    services.submit_result(delivery, summary="初稿", files=[PDF], actor=f.agent)
    db.session.commit()
    login_as(f.officer)
    url = f"/deliveries/{f.contract.id}"
    page = browser.get(url).get_data(as_text=True)
    assert "初稿" not in page and 'id="accept-form"' not in page
    assert browser.get(f"{url}/files/{delivery.latest.files[0].id}").status_code == 404
    case_page = browser.get(f"/procurement/cases/{f.s.case.id}").get_data(as_text=True)
    assert "Accepted intermediary results" not in case_page


def test_role_checks_on_the_actions(db, browser, login_as, in_force):
    f = in_force
    url = f"/deliveries/{f.contract.id}"
    login_as(f.owner)
    assert browser.post(f"{url}/submit", {"summary": "x"}, form_url=url).status_code == 403
    login_as(f.agent)
    assert browser.post(f"{url}/accept", {"version": "1"}, form_url=url).status_code == 403
    assert browser.post(f"{url}/revision", {"reason": "x"}, form_url=url).status_code == 403
    login_as(f.officer)
    assert browser.post(f"{url}/extensions", {"reason": "x"}, form_url=url).status_code == 403
    assert services.delivery_of(f.contract).submissions == []
    for endpoint in ("detail", "submit", "accept", "revision", "propose_extension", "agree_extension",
                     "decline_extension", "timeline", "download"):
        assert f"marketplace.delivery.views.{endpoint}" in ROUTE_ROLES


def test_a_contract_not_in_force_has_no_delivery_page(db, browser, login_as, in_force):
    login_as(in_force.owner)
    assert browser.get("/deliveries/99999999999").status_code == 404
    assert browser.get("/deliveries/2147483647").status_code == 404


@pytest.mark.parametrize(("files", "message"), [
    ((), "Attach at least one file"),
    (((b"MZ\x90\x00", "setup.exe"),), "Only PDF, JPEG and PNG"),
    (((b"", "empty.pdf"),), "The file is empty"),
    (((PDF, "好.pdf"), (b"GIF89a....", "动图.gif")), "Only PDF, JPEG and PNG"),
])
def test_bad_uploads_in_the_browser(db, browser, login_as, in_force, files, message):
    f = in_force
    login_as(f.agent)
    resp = _submit(browser, f.contract, files=files)
    assert resp.status_code == 400
    assert message in resp.get_data(as_text=True)
    delivery = _fresh(db, Delivery, services.delivery_of(f.contract).id)
    assert delivery.status is DeliveryStatus.IN_PROGRESS and delivery.submissions == []
    assert db.session.execute(sa.select(sa.func.count(StoredFile.id))).scalar() == 0


def test_an_empty_summary_and_bad_version_are_refused(db, browser, login_as, in_force):
    f = in_force
    login_as(f.agent)
    resp = _submit(browser, f.contract, summary="")
    assert resp.status_code == 400 and services.delivery_of(f.contract).submissions == []
    _submit(browser, f.contract)
    login_as(f.owner)
    url = f"/deliveries/{f.contract.id}"
    for version in ("7", "abc", "99999999999999999999"):
        resp = browser.post(f"{url}/accept", {"version": version}, form_url=url, follow_redirects=True)
        assert resp.status_code == 200 and b"A newer version was submitted meanwhile" in resp.data
    resp = browser.post(f"{url}/revision", {"reason": "", "version": "1"}, form_url=url)
    assert resp.status_code == 400
    assert services.delivery_of(f.contract).status is DeliveryStatus.SUBMITTED


def test_extension_in_the_browser(db, browser, login_as, in_force):
    f = in_force
    delivery = f.delivery()
    url = f"/deliveries/{f.contract.id}"
    new_due = add_working_days(delivery.due_date, 5)
    login_as(f.agent)
    resp = browser.post(f"{url}/extensions", {"new_due_date": "2000-01-03", "reason": "太早"}, form_url=url)
    assert resp.status_code == 400 and b"must be after the current due date" in resp.data
    resp = browser.post(f"{url}/extensions", {"new_due_date": "not a date", "reason": "x"}, form_url=url)
    assert resp.status_code == 400
    resp = browser.post(f"{url}/extensions", {"new_due_date": new_due.isoformat(), "reason": "专家评审延后"},
                        form_url=url, follow_redirects=True)
    assert b"The proposal was sent to the other party." in resp.data
    ext = _fresh(db, Delivery, delivery.id).extensions[0]
    page = browser.get(url).get_data(as_text=True)
    assert "Withdraw the extension proposal" in page and 'id="agree-form"' not in page
    login_as(f.owner)
    page = browser.get(url).get_data(as_text=True)
    assert 'id="agree-form"' in page
    resp = browser.post(f"{url}/extensions/{ext.id}/agree", {"note": "同意"}, form_url=url,
                        follow_redirects=True)
    assert b"The new due date was agreed." in resp.data
    delivery = _fresh(db, Delivery, delivery.id)
    assert delivery.due_date == new_due and delivery.extensions[0].status is ExtensionStatus.AGREED
    assert browser.post(f"{url}/extensions/99999/agree", {}, form_url=url).status_code == 404
    # the timeline shows the proposal and the answer
    timeline = browser.get(f"{url}/timeline").get_data(as_text=True)
    assert timeline.count('data-kind="extension"') == 2 and "专家评审延后" in timeline


def test_overdue_countdown_on_the_dashboard(db, browser, login_as, in_force):
    f = in_force
    delivery = f.delivery()
    delivery.original_due_date = delivery.due_date = services.china_today() - timedelta(days=20)
    db.session.commit()
    login_as(f.owner)
    board = browser.get("/dashboard").get_data(as_text=True)
    assert "Overdue by" in board and 'data-state="overrun"' in board
