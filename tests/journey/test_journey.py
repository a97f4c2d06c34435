"""Issue 8's journey, end to end: from an agency's registration to its blacklisting and return.

Every step a person takes goes through the real page, signed in through the login page; every
step the calendar takes (deadlines, periods, the due date, the end of a sanction) runs the jobs
with the journey's clock. At each step the test reads what that person would see.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta

import sqlalchemy as sa

from marketplace.accounts.models import Organisation, Role
from marketplace.agencies.models import Listing, ListingStatus
from marketplace.audit.services import events_for, verify_chain
from marketplace.catalog.models import QualificationRule
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.db import utcnow
from marketplace.credit.models import CreditInput, CreditInputKind
from marketplace.delivery.models import Delivery, DeliveryStatus
from marketplace.procurement import services as procurement
from marketplace.procurement.models import (
    ApprovalCase,
    Bid,
    PurchaseRequest,
    RequestStatus,
    SelectionMethod,
)
from marketplace.ratings.models import Rating, RatingStatus
from marketplace.sanctions.models import SanctionCase, SanctionKind, SanctionStatus
from marketplace.workdays.services import add_working_days
from tests.conftest import Browser
from tests.factories import (
    ApprovalItemFactory,
    EnterpriseFactory,
    GovernmentFactory,
    QualificationTypeFactory,
    RegulatorFactory,
    ServiceItemFactory,
    UserFactory,
    make_uscc,
)
from tests.factories.accounts import DEFAULT_PASSWORD
from tests.factories.procurement import ApprovalCaseFactory, make_eligible_agency
from tests.procurement.test_selection import load_verifier

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
AGENCY = "云南青山环境咨询有限公司"
AGENCY_EMAIL = "yang@qingshan.example"
AGENCY_PASSWORD = "Qingshan-2026"
PRICE = "60,000"
DAYS = 5


def page(resp) -> str:
    """What the person sees (after a redirect, when the test followed it)."""
    assert resp.status_code == 200, resp.status_code
    return resp.get_data(as_text=True)


def upload(data: bytes, name: str):
    return (io.BytesIO(data), name)


def version_field(html: str) -> str:
    match = re.search(r'name="version" type="hidden" value="(\d*)"', html)
    assert match, "no version on the page"
    return match.group(1)


def row_of(html: str, marker: str) -> str:
    """The table row holding ``marker``."""
    at = html.index(marker)
    return html[html.rfind("<tr", 0, at):html.index("</tr>", at)]


def fresh(db, model, obj_id):
    db.session.expire_all()
    return db.session.get(model, obj_id)


def china_deadline_text(moment) -> str:
    """A deadline as the request form's Beijing-time field wants it."""
    return moment.astimezone(procurement.SHANGHAI).strftime("%Y-%m-%dT%H:%M")


def test_from_registration_to_blacklisting_and_back(app, db, clock, person):
    # --- the platform: the catalogue an administrator maintains, the people already on it ------
    assert utcnow() == clock.now  # pages and services read the journey's clock
    approval_item = ApprovalItemFactory(name="建设项目环境影响评价文件审批")
    eia_licence = QualificationTypeFactory(name="环境影响评价资质")
    item = ServiceItemFactory(name="环境影响报告表编制", approval_items=[approval_item],
                              qualification_types=[eia_licence], qualification_rule=QualificationRule.ANY)
    department = GovernmentFactory(name="昆明市生态环境局")
    UserFactory(organisation=department, role=Role.APPROVAL_OFFICER, email="zhou@eco.example", name="审批员周敏")
    enterprise = EnterpriseFactory(name="昆明滇池建设有限公司", legal_representative="钱建国")
    owner = UserFactory(organisation=enterprise, role=Role.ENTERPRISE_STAFF, email="qian@dianchi.example",
                        name="钱经理")
    supervision = GovernmentFactory(name="昆明市市场监督管理局")
    for n in "abc":
        RegulatorFactory(organisation=supervision, email=f"{n}@samr.example", name=f"监管员{n.upper()}")
    db.session.commit()
    visitor = app.test_client()

    # --- 1. the agency registers (signed in at once), declares, proves its licence, lists -------
    agency = Browser(app.test_client())
    html = page(agency.post("/register", {
        "kind": "agency", "org_name": AGENCY, "uscc": make_uscc(), "legal_representative": "杨青山",
        "region_code": "530102", "contact_phone": "0871-66668888", "user_name": "杨工",
        "email": AGENCY_EMAIL, "password": AGENCY_PASSWORD, "confirm": AGENCY_PASSWORD,
    }, follow_redirects=True))
    assert f"Welcome! {AGENCY} is registered" in html
    org = db.session.execute(sa.select(Organisation).where(Organisation.name == AGENCY)).scalar_one()
    assert agency.post("/agency/declaration", {
        "signer_name": "杨青山", "signer_position": "法定代表人", "confirm": "y"}).status_code == 302
    assert agency.post("/agency/qualifications/new", {
        "qualification_type_id": str(eia_licence.id), "certificate_no": "环评证甲字第5301号", "level": "甲级",
        "issuer": "云南省生态环境厅", "valid_from": "2024-01-01", "valid_to": "2029-12-31",
        "scan": upload(PDF, "环评资质证书.pdf"),
    }, content_type="multipart/form-data").status_code == 302
    assert agency.post("/agency/profile", {
        "introduction": "专业从事建设项目环境影响评价。", "website": "", "region_codes": "530100",
    }).status_code == 302
    assert agency.post("/agency/listings/new", {
        "service_item_id": str(item.id), "fee_kind": "range", "fee_min": "20,000", "fee_max": "80,000",
        "fee_basis": "按项目总投资分档计费", "time_limit_days": "10",
        "service_standard": "依据《建设项目环境影响评价技术导则》编制，一次通过技术评审。",
    }).status_code == 302
    listing = db.session.execute(sa.select(Listing).where(Listing.organisation_id == org.id)).scalar_one()
    page(agency.post(f"/agency/listings/{listing.id}/publish", form_url=f"/agency/listings/{listing.id}",
                     follow_redirects=True))
    assert fresh(db, Listing, listing.id).status is ListingStatus.PUBLISHED
    # a visitor finds the agency under the service, with its three commitments
    html = page(visitor.get(f"/services/{item.id}"))
    assert AGENCY in html and "80,000.00" in html
    assert item.name in page(visitor.get(f"/agencies/{org.id}"))
    # it signs out; from now on it signs in through the login page like everyone else
    agency.logout()
    agency = person(AGENCY_EMAIL, AGENCY_PASSWORD)

    # --- 2. the enterprise opens its approval case and posts a random-draw purchase request -----
    buyer = person("qian@dianchi.example", DEFAULT_PASSWORD)
    assert buyer.post("/procurement/cases/new", {
        "approval_item_id": approval_item.id, "project_name": "滇池新区道路工程", "project_code": "",
        "case_number": "", "department_id": department.id, "service_item_ids": [item.id],
    }).status_code == 302
    case = db.session.execute(sa.select(ApprovalCase).where(ApprovalCase.applicant_id == enterprise.id)).scalar_one()
    deadline = procurement.default_deadline(clock.now)
    assert buyer.post(f"/procurement/cases/{case.id}/items/{item.id}/request", {
        "title": "滇池新区道路工程环境影响报告表编制", "content": "编制环境影响报告表，配合完成技术评审。",
        "scale": "总投资1.2亿元", "is_budgeted": "yes", "budget_ceiling": "100,000", "quote_min": "",
        "quote_max": "", "selection_method": "random_draw", "direct_agency_id": "0", "direct_reason": "",
        "weight_price": "60", "weight_time": "20", "weight_credit": "20",
        "bidding_deadline": china_deadline_text(deadline), "contact_name": "钱经理",
        "contact_phone": "0871-66000000", "complaint_phone": "0871-12345",
    }).status_code == 302
    req = db.session.execute(sa.select(PurchaseRequest).where(PurchaseRequest.approval_case_id == case.id)).scalar_one()
    assert buyer.post(f"/procurement/requests/{req.id}/publish", form_url=f"/announcements/{req.id}").status_code == 302
    req = fresh(db, PurchaseRequest, req.id)
    assert req.status is RequestStatus.PUBLISHED and req.selection_method is SelectionMethod.RANDOM_DRAW
    announcement = page(visitor.get(f"/announcements/{req.id}"))
    assert req.title in announcement and req.draw_commitment in announcement  # the seed's hash is public

    # --- 3. the agency bids; a second agency bids too; the draw at the deadline picks ours ------
    html = page(agency.get(f"/announcements/{req.id}/bid"))
    assert 'id="bid-form"' in html and "at most 10 working days" in html
    html = page(agency.post(f"/announcements/{req.id}/bid", {"price": PRICE, "days": str(DAYS)},
                            follow_redirects=True))
    assert "Your sealed bid is submitted." in html
    # The draw is fixed by the seed committed at publication: pick, among other eligible agencies,
    # one the published algorithm ranks after ours, so the outcome is known in advance.
    verifier = load_verifier()
    for n in range(1, 40):
        rival = make_eligible_agency(item, name=f"云南绿水环境科技{n}有限公司", legal_representative="李绿水")
        if verifier.ranking(req.draw_seed, [org.id, rival.id])[0][1] == org.id:
            break
    else:
        raise AssertionError("no rival ranked after our agency")
    rival_staff = UserFactory(organisation=rival, role=Role.AGENCY_STAFF)
    procurement.submit_bid(req, org=rival, price_fen=7_000_000, days=8, actor=rival_staff, now=clock.now)
    db.session.commit()

    clock.move_to(req.bidding_deadline + timedelta(minutes=1))
    clock.run_jobs()
    req = fresh(db, PurchaseRequest, req.id)
    assert req.status is RequestStatus.AWARDED and req.awarded_org_id == org.id
    result = page(visitor.get(f"/announcements/{req.id}/result"))
    assert AGENCY in result[result.index('id="winner"'):result.index("</h2>", result.index('id="winner"'))]
    assert "objection period running" in result
    published = visitor.get(f"/announcements/{req.id}/result.json").get_json()
    assert verifier.verify(published) == []  # anyone can recompute the draw

    # --- 4. the objection period ends; both sides sign; the contract is in force ----------------
    clock.move_to(req.objection_deadline + timedelta(minutes=1))
    clock.run_jobs()
    result = page(visitor.get(f"/announcements/{req.id}/result"))
    assert '<span class="badge text-bg-success">final</span>' in result and "objection period running" not in result
    contract = db.session.execute(sa.select(Contract).where(Contract.request_id == req.id)).scalar_one()
    assert contract.status is ContractStatus.AWAITING_SIGNATURES
    for who, signer in ((buyer, "钱建国"), (agency, "杨青山")):
        html = page(who.get(f"/contracts/{contract.id}"))
        assert 'id="sign-form"' in html
        html = page(who.post(f"/contracts/{contract.id}/sign", {
            "version": version_field(html), "signer_name": signer, "signer_position": "法定代表人",
            "password": DEFAULT_PASSWORD if who is buyer else AGENCY_PASSWORD,
        }, form_url=f"/contracts/{contract.id}", follow_redirects=True))
        assert "Your signature was recorded." in html
    contract = fresh(db, Contract, contract.id)
    assert contract.status is ContractStatus.IN_FORCE
    assert contract.due_date == add_working_days(clock.today, DAYS)
    html = page(agency.get(f"/contracts/{contract.id}"))
    assert "In force" in html and contract.due_date.isoformat() in html

    # --- 5. the agency is late: the job marks the delivery overdue; it delivers after the date ---
    delivery_url = f"/deliveries/{contract.id}"
    assert f"{DAYS} working days left" in page(agency.get(delivery_url))
    overdue_day = add_working_days(contract.due_date, 3)
    clock.set(overdue_day, 9)
    clock.run_jobs()
    delivery = db.session.execute(sa.select(Delivery).where(Delivery.contract_id == contract.id)).scalar_one()
    assert delivery.overdue_since == contract.due_date + timedelta(days=1)
    assert [e.actor_label for e in events_for("deliveries", delivery.id) if e.action == "delivery.overdue"] == [
        "system"]
    html = page(agency.get(delivery_url))
    assert "Overdue by 3 working days" in html
    notes = page(agency.get("/notifications/"))
    assert f"The result for contract {contract.contract_no} was due on {contract.due_date.isoformat()} and is overdue." in notes
    # the regulators see it on their list of overdue deliveries
    regulator_a = person("a@samr.example", DEFAULT_PASSWORD)
    overdue = page(regulator_a.get("/regulator/deliveries/overdue"))
    line = row_of(overdue, contract.contract_no)
    assert AGENCY in line and enterprise.name in line and case.case_number in line and ">3<" in line

    html = page(agency.post(f"{delivery_url}/submit", {
        "summary": "环境影响报告表（报批稿）", "files": [upload(PDF, "环境影响报告表.pdf")],
    }, form_url=delivery_url, content_type="multipart/form-data", follow_redirects=True))
    assert "Version 1 of the result was submitted." in html
    html = page(buyer.get(delivery_url))
    html = page(buyer.post(f"{delivery_url}/accept", {"version": version_field(html)}, form_url=delivery_url,
                           follow_redirects=True))
    assert "was accepted and attached to the approval case" in html
    delivery = fresh(db, Delivery, delivery.id)
    assert delivery.status is DeliveryStatus.ACCEPTED and delivery.overrun_days == 3
    # the overrun is on the agency's public credit page, tied to the contract and the case
    credit_url = f"/credit/agencies/{org.id}"
    credit = page(visitor.get(credit_url))
    assert "72.00" in credit and "Grade B" in credit[credit.index('id="credit-grade"'):][:300]
    inputs = credit[credit.index('id="credit-inputs"'):]
    assert contract.contract_no in inputs and case.case_number in inputs
    assert contract.contract_no not in page(regulator_a.get("/regulator/deliveries/overdue"))

    # --- 6. the enterprise and the approval officer rate the work poorly; the agency rates too ---
    ratings_url = f"/contracts/{contract.id}/ratings"
    html = page(buyer.post(ratings_url, {
        "quality": "1", "timeliness": "1", "attitude": "2", "fees": "2", "conduct": "1",
        "comment": "报告质量差，逾期三个工作日。"}, follow_redirects=True))
    assert "stays sealed" in html
    officer = person("zhou@eco.example", DEFAULT_PASSWORD)
    html = page(officer.get(f"/procurement/cases/{case.id}"))
    assert ratings_url in html  # the case page leads the officer to the rating
    html = page(officer.post(ratings_url, {"quality": "1", "conformity": "1", "timeliness": "1",
                                           "comment": "成果不符合审批要求，需退回重编。"}, follow_redirects=True))
    assert "Thank you" in html
    html = page(agency.post(ratings_url, {"cooperation": "4", "payment": "4", "conduct": "4", "comment": ""},
                            follow_redirects=True))
    assert "Thank you. Your rating is on record and public." in html  # both sides rated: all revealed
    assert "报告质量差，逾期三个工作日。" in html and "成果不符合审批要求" in html
    ratings = db.session.execute(sa.select(Rating).where(Rating.contract_id == contract.id)).scalars().all()
    assert {r.status for r in ratings} == {RatingStatus.REVEALED} and len(ratings) == 3

    # --- 7. the credit grade falls: the public credit page shows it ------------------------------
    credit = page(visitor.get(credit_url))
    grade = credit[credit.index('id="credit-grade"'):][:300]
    # (5 × 75 + 1 × 10 + 2 × 0) / 8 − 3 overrun days: the enterprise's mean 1.4 is 10 points, the
    # officer's 1.0 is 0 points and counts twice
    assert "Grade D" in grade and "45.13" in credit[credit.index('id="credit-score"'):][:100]
    assert "报告质量差，逾期三个工作日。" in credit and "成果不符合审批要求" in credit

    # --- 8. the automatic trigger opens a proposal; regulator A replaces it with a blacklisting --
    clock.advance(hours=1)
    clock.run_jobs()
    automatic = db.session.execute(sa.select(SanctionCase).where(SanctionCase.organisation_id == org.id)).scalar_one()
    assert automatic.trigger_code == "credit_grade" and automatic.status is SanctionStatus.PROPOSED
    desk = page(regulator_a.get("/regulator/sanctions"))
    line = row_of(desk, automatic.reference)
    assert AGENCY in line and "Automatic trigger" in line
    assert AGENCY in row_of(desk[desk.index('id="near-threshold-table"'):], AGENCY)
    assert (f"An automatic trigger opened case {automatic.reference} against {AGENCY}; it waits for a regulator."
            in page(regulator_a.get("/notifications/")))
    html = page(regulator_a.get(f"/regulator/sanctions/{automatic.id}"))
    assert "The credit grade fell to D (score 45.13)." in html
    evidence = html[html.index("Evidence"):html.index("Proposed", html.index("Evidence"))]
    assert contract.contract_no in evidence and case.case_number in evidence  # tied to the case

    propose_url = f"/regulator/sanctions/new?agency={org.id}&supersedes={automatic.id}"
    html = page(regulator_a.get(propose_url))
    assert AGENCY in html
    proposed_end = clock.today + timedelta(days=180)
    html = page(regulator_a.post(propose_url, {
        "agency_id": str(org.id), "supersedes": str(automatic.id), "kind": "blacklist",
        "ground_code": "falsified_report",
        "facts": "成果质量严重不合格：业主与审批部门评价均为最低分，且逾期三个工作日交付。",
        "start_date": "", "end_date": proposed_end.isoformat(),
        "evidence-0-object_type": "contract", "evidence-0-object_id": contract.contract_no, "evidence-0-note": "",
        "evidence-1-object_type": "approval_case", "evidence-1-object_id": case.case_number,
        "evidence-1-note": "环评报告表审批", "evidence-2-object_type": "", "evidence-2-object_id": "",
        "evidence-2-note": "",
    }, follow_redirects=True))
    assert "The proposal is on record. Another regulator must decide it." in html
    case_b = db.session.execute(sa.select(SanctionCase).where(SanctionCase.kind == SanctionKind.BLACKLIST)).scalar_one()
    assert fresh(db, SanctionCase, automatic.id).status is SanctionStatus.WITHDRAWN
    manage_url = f"/regulator/sanctions/{case_b.id}"
    html = page(regulator_a.post(f"{manage_url}/notify", form_url=manage_url, follow_redirects=True))
    assert "The agency is notified; its response period is open." in html
    case_b = fresh(db, SanctionCase, case_b.id)
    assert case_b.response_deadline == add_working_days(clock.today, 5)

    # the agency is told, and may respond until the deadline (it does not)
    notes = page(agency.get("/notifications/"))
    assert (f"Case {case_b.reference}: you may respond to the proposed sanction until "
            f"{case_b.response_deadline.isoformat()}.") in notes
    my_case = page(agency.get(f"/agency/sanctions/{case_b.id}"))
    assert 'id="respond-form"' in my_case and case_b.response_deadline.isoformat() in my_case

    # --- 9. the response period passes; A may not decide their own proposal, B decides it -------
    regulator_b = person("b@samr.example", DEFAULT_PASSWORD)
    assert "The agency may respond until" in page(regulator_b.get(manage_url))
    clock.set(case_b.response_deadline + timedelta(days=1), 9)
    assert 'id="respond-form"' not in page(agency.get(f"/agency/sanctions/{case_b.id}"))
    html = page(regulator_a.get(manage_url))
    assert "You proposed this sanction: another regulator must decide it." in html and 'id="decide-form"' not in html
    end = clock.today + timedelta(days=90)
    html = page(regulator_a.post(f"{manage_url}/decide", {
        "decide-start_date": clock.today.isoformat(), "decide-end_date": end.isoformat(),
        "decide-reason": "自行决定"}, form_url=manage_url, follow_redirects=True))
    assert "You proposed this sanction: another regulator must decide it." in html
    assert fresh(db, SanctionCase, case_b.id).status is SanctionStatus.NOTIFIED
    html = page(regulator_b.get(manage_url))
    assert 'id="decide-form"' in html
    html = page(regulator_b.post(f"{manage_url}/decide", {
        "decide-start_date": clock.today.isoformat(), "decide-end_date": end.isoformat(),
        "decide-reason": "成果质量严重不合格，列入黑名单九十日。"}, form_url=manage_url, follow_redirects=True))
    assert "The sanction is decided and published." in html
    case_b = fresh(db, SanctionCase, case_b.id)
    assert case_b.status is SanctionStatus.DECIDED and (case_b.proposer.email, case_b.decider.email) == (
        "a@samr.example", "b@samr.example")

    # --- 10. the exit: the listing leaves the public pages; a new bid is refused ------------------
    assert fresh(db, Listing, listing.id).status is ListingStatus.WITHDRAWN
    assert AGENCY not in page(visitor.get(f"/services/{item.id}"))
    assert item.name not in page(visitor.get(f"/agencies/{org.id}"))
    assert AGENCY not in page(visitor.get(f"/agencies?service_item={item.id}"))
    blacklist = page(visitor.get("/blacklist"))
    line = row_of(blacklist, AGENCY)
    assert case_b.reference in line and f"{clock.today.isoformat()} – {end.isoformat()}" in line
    assert contract.contract_no in line and case.case_number in line
    notes = page(agency.get("/notifications/"))
    assert f"Case {case_b.reference}: the sanction was decided." in notes
    # republishing is refused while the blacklisting is in force
    html = page(agency.post(f"/agency/listings/{listing.id}/publish", form_url=f"/agency/listings/{listing.id}",
                            follow_redirects=True))
    assert "suspended or blacklisted" in html
    assert fresh(db, Listing, listing.id).status is ListingStatus.WITHDRAWN

    def another_request(title: str) -> PurchaseRequest:
        """The enterprise's next project needs the same service (set up through the services)."""
        next_case = ApprovalCaseFactory(approval_item=approval_item, applicant=enterprise, department=department,
                                        service_items=[item])
        found = procurement.create_request(next_case, item, procurement.RequestInput(
            title=title, content="编制环境影响报告表。", selection_method=SelectionMethod.LOWEST_PRICE,
            bidding_deadline=procurement.default_deadline(clock.now), contact_name="钱经理",
            contact_phone="0871-66000000", complaint_phone="0871-12345", scale="", is_budgeted=True,
            budget_ceiling_fen=10_000_000), actor=owner)
        procurement.publish_request(found, actor=owner, now=clock.now)
        db.session.commit()
        return found

    new_req = another_request("滇池新区二期环境影响报告表编制")
    bid_url = f"/announcements/{new_req.id}/bid"
    html = page(agency.get(bid_url))
    assert "Your agency is suspended or blacklisted and cannot bid." in html
    html = agency.post(bid_url, {"price": PRICE, "days": str(DAYS)}).get_data(as_text=True)
    assert "Your agency is suspended or blacklisted and cannot bid." in html
    assert db.session.execute(sa.select(Bid).where(Bid.request_id == new_req.id, Bid.agency_id == org.id)).first() is None

    # --- 11. the agency appeals; B (who decided) may not decide it; C shortens the period ----------
    my_case_url = f"/agency/sanctions/{case_b.id}"
    assert 'id="appeal-form"' in page(agency.get(my_case_url))
    html = page(agency.post(f"{my_case_url}/appeal", {"appeal-text": "逾期系因业主延迟提供资料，请求缩短期限。"},
                            form_url=my_case_url, follow_redirects=True))
    assert "Your appeal is on record." in html
    desk = page(regulator_b.get("/regulator/sanctions"))
    assert case_b.reference in desk[desk.index('id="appeal-queue"'):]
    html = page(regulator_b.get(manage_url))
    assert 'id="appeal-form"' not in html and "neither proposed nor decided" in html
    regulator_c = person("c@samr.example", DEFAULT_PASSWORD)
    new_end = clock.today + timedelta(days=30)
    html = page(regulator_c.post(f"{manage_url}/appeal", {
        "appeal-outcome": "shortened", "appeal-new_end_date": new_end.isoformat(),
        "appeal-reason": "业主资料延迟属实，情节可从轻。"}, form_url=manage_url, follow_redirects=True))
    assert "The appeal is decided." in html
    case_b = fresh(db, SanctionCase, case_b.id)
    assert case_b.status is SanctionStatus.SHORTENED and (case_b.end_date, case_b.original_end_date) == (new_end, end)
    assert "Shortened on appeal" in page(agency.get(my_case_url))
    assert f"{case_b.start_date.isoformat()} – {new_end.isoformat()}" in row_of(page(visitor.get("/blacklist")), AGENCY)

    # --- 12. the period ends: the entry leaves the public list; the history stays ----------------
    clock.set(new_end, 23)
    clock.run_jobs()
    assert AGENCY in page(visitor.get("/blacklist"))  # the last day still counts
    clock.set(new_end + timedelta(days=1), 9)
    clock.run_jobs()
    blacklist = page(visitor.get("/blacklist"))
    assert AGENCY not in blacklist and "No entry." in blacklist
    public_case = page(visitor.get(f"/sanctions/{case_b.id}"))  # the decision stays public on record
    assert AGENCY in public_case and f"Ended on {new_end.isoformat()}" in public_case
    timeline = page(regulator_a.get(f"/regulator/agencies/{org.id}"))
    for step in ("Proposed", "Notified, response period open", "Decided", "Appealed", "Appeal decided",
                 "Withdrawn", "Overrun of the committed time"):
        assert step in timeline, step
    ledger = db.session.execute(sa.select(CreditInput.kind).where(CreditInput.organisation_id == org.id)).scalars().all()
    assert CreditInputKind.SANCTION in ledger and CreditInputKind.OVERRUN_DAYS in ledger
    credit = page(visitor.get(credit_url))
    assert "Blacklist" in credit[credit.index('id="credit-inputs"'):]
    # nothing is left to repair, and the agency may return to the market
    assert 'id="repair-form"' not in page(agency.get(my_case_url))
    page(agency.post(f"/agency/listings/{listing.id}/publish", form_url=f"/agency/listings/{listing.id}",
                     follow_redirects=True))
    assert fresh(db, Listing, listing.id).status is ListingStatus.PUBLISHED
    assert AGENCY in page(visitor.get(f"/services/{item.id}"))
    third_req = another_request("滇池新区三期环境影响报告表编制")
    html = page(agency.post(f"/announcements/{third_req.id}/bid", {"price": PRICE, "days": str(DAYS)},
                            follow_redirects=True))
    assert "Your sealed bid is submitted." in html
    # no second automatic proposal for the same facts; every step is on the verifiable audit chain
    assert db.session.execute(sa.select(sa.func.count(SanctionCase.id))).scalar_one() == 2
    assert verify_chain().ok
