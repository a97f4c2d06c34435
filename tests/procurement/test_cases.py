"""Approval cases: who opens them, what they may need (nothing outside the list), who sees them."""

import pytest

from marketplace.accounts.models import Role
from marketplace.core.errors import DomainError, InvalidTransition, PermissionDenied
from marketplace.procurement import services
from marketplace.procurement.models import ApprovalCase, CaseStatus
from tests.factories import (
    ApprovalItemFactory,
    EnterpriseFactory,
    GovernmentFactory,
    ServiceItemFactory,
    UserFactory,
)
from tests.factories.procurement import ApprovalCaseFactory


@pytest.mark.parametrize("code", ["2026-530102-48-01-012345", "２０２６-５３０１０２-４８-０１-０１２３４５",
                                  " 2017-110000-01-02-000001 "])
def test_valid_project_codes(code):
    assert services.check_project_code(code) == "-".join(
        ["".join(ch for ch in part) for part in services._norm_code(code).split("-")]
    )


@pytest.mark.parametrize("code", ["2026-530102-48-01-01234", "2026530102480101234", "2026-530102-48-1-012345",
                                  "abcd-530102-48-01-012345", "2026-990102-48-01-012345",
                                  "1899-530102-48-01-012345", "2026-530102-48-01-012345-9"])
def test_malformed_project_codes(code):
    with pytest.raises(DomainError) as exc:
        services.check_project_code(code)
    assert exc.value.field == "project_code"


def test_empty_project_code_is_allowed():
    assert services.check_project_code("") is None


@pytest.fixture
def catalogue(db):
    approval = ApprovalItemFactory(name="建设项目环境影响评价审批")
    linked = ServiceItemFactory(name="环境影响评价", approval_items=[approval])
    unrelated = ServiceItemFactory(name="地质灾害危险性评估")
    return approval, linked, unrelated


def test_enterprise_opens_a_case(db, catalogue):
    approval, linked, _ = catalogue
    user = UserFactory(organisation=EnterpriseFactory(), role=Role.ENTERPRISE_STAFF)
    dept = GovernmentFactory()
    case = services.create_approval_case(
        actor=user, approval_item_id=approval.id, project_name="滇池新区道路", service_item_ids=[linked.id],
        project_code="2026-530112-48-01-000123", department_id=dept.id,
    )
    assert case.applicant_id == user.organisation_id and case.department_id == dept.id
    assert case.case_number.startswith("SP") and case.status is CaseStatus.OPEN
    assert case.service_items == [linked]


def test_nothing_outside_the_list(db, catalogue):
    approval, linked, unrelated = catalogue
    user = UserFactory(organisation=EnterpriseFactory(), role=Role.ENTERPRISE_STAFF)
    with pytest.raises(DomainError, match="nothing outside the list") as exc:
        services.create_approval_case(
            actor=user, approval_item_id=approval.id, project_name="x",
            service_item_ids=[linked.id, unrelated.id], department_id=GovernmentFactory().id,
        )
    assert exc.value.field == "service_item_ids"


def test_officer_opens_a_case_for_a_registered_enterprise(db, catalogue):
    approval, linked, _ = catalogue
    dept = GovernmentFactory()
    officer = UserFactory(organisation=dept, role=Role.APPROVAL_OFFICER)
    applicant = EnterpriseFactory()
    case = services.create_approval_case(
        actor=officer, approval_item_id=approval.id, project_name="x", service_item_ids=[linked.id],
        applicant_uscc=applicant.uscc.lower(), case_number="昆审批〔2026〕18号",
    )
    assert (case.applicant_id, case.department_id) == (applicant.id, dept.id)
    with pytest.raises(DomainError, match="already has this number"):
        services.create_approval_case(
            actor=officer, approval_item_id=approval.id, project_name="x", service_item_ids=[linked.id],
            applicant_uscc=applicant.uscc, case_number="昆审批〔2026〕18号",
        )
    with pytest.raises(DomainError) as exc:
        services.create_approval_case(
            actor=officer, approval_item_id=approval.id, project_name="x", service_item_ids=[linked.id],
            applicant_uscc=dept.uscc,
        )
    assert exc.value.field == "applicant_uscc"


def test_agencies_cannot_open_cases(db, catalogue):
    approval, linked, _ = catalogue
    from tests.factories import AgencyFactory

    with pytest.raises(PermissionDenied):
        services.create_approval_case(
            actor=UserFactory(organisation=AgencyFactory(), role=Role.AGENCY_STAFF),
            approval_item_id=approval.id, project_name="x", service_item_ids=[linked.id],
        )


def test_officer_sees_the_cases_of_the_department_only(db, client, login_as):
    mine, other = GovernmentFactory(), GovernmentFactory()
    officer = UserFactory(organisation=mine, role=Role.APPROVAL_OFFICER)
    own_case = ApprovalCaseFactory(department=mine, project_name="本部门项目")
    other_case = ApprovalCaseFactory(department=other, project_name="别的部门项目")
    db.session.commit()
    login_as(officer)
    html = client.get("/procurement/cases").get_data(as_text=True)
    assert "本部门项目" in html and "别的部门项目" not in html
    assert client.get(f"/procurement/cases/{own_case.id}").status_code == 200
    assert client.get(f"/procurement/cases/{other_case.id}").status_code == 404
    assert client.get("/procurement/cases/99999999999").status_code == 404


def test_enterprise_sees_its_own_cases_only(db, client, login_as):
    case = ApprovalCaseFactory()
    stranger = UserFactory(organisation=EnterpriseFactory(), role=Role.ENTERPRISE_STAFF)
    db.session.commit()
    login_as(stranger)
    assert client.get(f"/procurement/cases/{case.id}").status_code == 404


def test_open_case_through_the_form(db, browser, login_as, catalogue):
    approval, linked, unrelated = catalogue
    user = UserFactory(organisation=EnterpriseFactory(), role=Role.ENTERPRISE_STAFF)
    dept = GovernmentFactory()
    db.session.commit()
    login_as(user)
    data = {"approval_item_id": approval.id, "project_name": "滇池新区道路工程", "project_code": "2026-5301-1",
            "case_number": "", "department_id": dept.id, "service_item_ids": [linked.id]}
    resp = browser.post("/procurement/cases/new?lang=en", data)
    assert resp.status_code == 200 and "2026-530102-48-01-012345" in resp.get_data(as_text=True)
    resp = browser.post("/procurement/cases/new?lang=en", {**data, "project_code": "", "service_item_ids": [unrelated.id]})
    assert resp.status_code == 200 and "nothing outside the list" in resp.get_data(as_text=True)
    resp = browser.post("/procurement/cases/new", {**data, "project_code": "2026-530112-48-01-000001"})
    assert resp.status_code == 302
    case = db.session.query(ApprovalCase).one()
    assert case.project_code == "2026-530112-48-01-000001"


def test_department_decides_and_the_case_closes(db, browser, login_as):
    dept = GovernmentFactory()
    case = ApprovalCaseFactory(department=dept)
    officer = UserFactory(organisation=dept, role=Role.APPROVAL_OFFICER)
    applicant = UserFactory(organisation=case.applicant, role=Role.ENTERPRISE_STAFF)
    db.session.commit()
    with pytest.raises(PermissionDenied):
        services.set_case_status(case, CaseStatus.APPROVED, actor=applicant)
    login_as(officer)
    resp = browser.post(f"/procurement/cases/{case.id}/status", {"status": "approved", "reason": "符合条件"},
                        form_url=f"/procurement/cases/{case.id}")
    assert resp.status_code == 302
    db.session.refresh(case)
    assert case.status is CaseStatus.APPROVED
    with pytest.raises(InvalidTransition):
        services.set_case_status(case, CaseStatus.REJECTED, actor=officer)
