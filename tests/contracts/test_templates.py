"""Contract templates per service item: kept by administrators, copied into each new contract."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from marketplace.accounts.models import Role
from marketplace.audit.models import AuditEvent
from marketplace.contracts import services, templates_service
from marketplace.contracts.documents.render import default_template
from marketplace.contracts.models import SPECIAL_TERMS_MAX, Contract, ContractTemplate
from marketplace.contracts.templates_service import DEFAULT_ACCEPTANCE_TERMS, DEFAULT_PAYMENT_TERMS
from marketplace.core.errors import ConcurrentUpdate, DomainError, PermissionDenied
from marketplace.procurement.jobs import run_procurement_deadlines
from marketplace.procurement.models import RequestStatus, SelectionMethod
from tests.factories import AgencyFactory, GovernmentFactory, UserFactory
from tests.procurement.conftest import make_scenario

PAYMENT = "服务成果验收合格后十五个工作日内一次性支付全部合同价款。"
ACCEPTANCE = "甲方组织三名以上专家对服务成果进行评审。"
SPECIAL = "乙方应派驻项目负责人常驻现场。"
DEFAULT_PAYMENT_MARK = "百分之三十作为预付款"


@pytest.fixture
def admin(db):
    return UserFactory(organisation=GovernmentFactory(), role=Role.ADMIN)


def pdf_text(pdf: bytes) -> str:
    """The PDF's text without whitespace (a clause may wrap anywhere)."""
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages)
    return "".join(text.split())


def _award(db, s, req, prices=(9_000_000, 8_000_000, 8_500_000)) -> Contract:
    """Bids from the first agencies, the award made final: the drafted contract."""
    for i, price in enumerate(prices):
        s.bid(req, i, price)
    run_procurement_deadlines(s.after_deadline(req))
    db.session.refresh(req)
    assert req.status is RequestStatus.AWARDED
    run_procurement_deadlines(req.objection_deadline + timedelta(minutes=1))
    return db.session.execute(sa.select(Contract).where(Contract.request_id == req.id)).scalar_one()


def _save(item, actor, **changes):
    values = {"payment_terms": PAYMENT, "acceptance_terms": ACCEPTANCE, "special_terms": SPECIAL}
    values.update(changes)
    return templates_service.save_template(item, actor=actor, **values)


def _events(db, action: str) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == action))


# --- the contract takes the template's text, and keeps it ------------------------------------


def test_contract_is_drafted_from_the_item_template_and_keeps_its_text(db, admin):
    s = make_scenario(db)
    template = _save(s.item, admin)
    assert template.version == 1
    assert _save(s.item, admin).version == 1  # saved unchanged: no new version
    assert _events(db, "contract_template.saved") == 1

    contract = _award(db, s, s.published())
    assert contract.template_version == 1
    assert (contract.payment_terms, contract.acceptance_terms, contract.special_terms) == (
        PAYMENT, ACCEPTANCE, SPECIAL)
    text = pdf_text(contract.versions[0].pdf)
    for expected in (PAYMENT, ACCEPTANCE, SPECIAL):
        assert expected in text, expected
    assert DEFAULT_PAYMENT_MARK not in text

    # The administrator edits the template: the drafted contract and its next version keep theirs.
    assert _save(s.item, admin, payment_terms="合同签订后一次性付清全部价款。",
                 acceptance_terms="", special_terms="").version == 2
    db.session.commit()
    version = services.propose_changes(contract, "乙方须于每周五提交进度报告。", actor=s.staff[1])
    db.session.commit()
    db.session.refresh(contract)
    assert contract.payment_terms == PAYMENT and contract.template_version == 1
    text = pdf_text(version.pdf)
    assert PAYMENT in text and ACCEPTANCE in text and "乙方须于每周五提交进度报告。" in text
    assert "一次性付清" not in text and SPECIAL not in text


def test_removing_the_template_brings_back_the_model_contract(db, admin):
    s = make_scenario(db)
    _save(s.item, admin)
    assert templates_service.remove_template(s.item, actor=admin) is True
    assert templates_service.remove_template(s.item, actor=admin) is False
    assert _events(db, "contract_template.removed") == 1
    assert templates_service.get_template(s.item.id) is None

    contract = _award(db, s, s.published())
    assert contract.template_version is None and contract.special_terms == ""
    assert contract.payment_terms == DEFAULT_PAYMENT_TERMS
    assert contract.acceptance_terms == DEFAULT_ACCEPTANCE_TERMS
    text = pdf_text(contract.versions[0].pdf)
    assert DEFAULT_PAYMENT_MARK in text and "五个工作日内完成验收" in text
    assert PAYMENT not in text and SPECIAL not in text

    # Saved again, it gets a new version number: a contract's template_version names one text.
    assert _save(s.item, admin).version == 2


def test_texts_equal_to_the_defaults_are_stored_empty(db, admin):
    s = make_scenario(db)
    template = _save(s.item, admin, payment_terms=DEFAULT_PAYMENT_TERMS.replace("\n", "\r\n"),
                     acceptance_terms=f"  {DEFAULT_ACCEPTANCE_TERMS}  ")
    assert template.payment_terms == "" and template.acceptance_terms == ""
    assert templates_service.terms_for_item(s.item.id).payment_terms == DEFAULT_PAYMENT_TERMS


def test_the_default_acceptance_text_is_the_model_contracts():
    assert DEFAULT_ACCEPTANCE_TERMS in default_template()


# --- the selection method --------------------------------------------------------------------


def test_every_selection_method_has_its_chinese_name():
    assert set(services.SELECTION_METHOD_TEXT) == set(SelectionMethod)
    assert len(set(services.SELECTION_METHOD_TEXT.values())) == len(SelectionMethod)


def test_the_contract_names_the_real_selection_method(db):
    s = make_scenario(db)
    direct = s.published(selection_method=SelectionMethod.DIRECT, direct_agency_id=s.agencies[0].id,
                         direct_reason="该机构熟悉项目情况")
    contract = _award(db, s, direct, prices=(5_000_000,))
    text = pdf_text(contract.versions[0].pdf)
    assert "甲方通过网上中介服务超市直接选取方式" in text
    assert "竞价选取" not in text


def test_a_lowest_price_award_says_so(db):
    s = make_scenario(db)
    contract = _award(db, s, s.published())
    assert "甲方通过网上中介服务超市竞价选取方式" in pdf_text(contract.versions[0].pdf)


# --- who may change templates, and bad input -------------------------------------------------


def test_only_administrators_maintain_templates(db, browser, login_as):
    s = make_scenario(db)
    regulator = UserFactory(organisation=GovernmentFactory(), role=Role.REGULATOR)
    agency_user = UserFactory(organisation=AgencyFactory(), role=Role.AGENCY_STAFF)
    for user in (regulator, agency_user, s.owner, None):
        with pytest.raises(PermissionDenied):
            _save(s.item, user)
        with pytest.raises(PermissionDenied):
            templates_service.remove_template(s.item, actor=user)
    db.session.commit()

    base = f"/admin/contract-templates/{s.item.id}"
    for user in (regulator, agency_user):
        login_as(user)
        for url in ("/admin/contract-templates", base, f"{base}/preview.pdf"):
            assert browser.get(url).status_code == 403, url
        csrf = browser.csrf("/")
        for url in (base, f"{base}/remove"):
            resp = browser.client.post(url, data={"csrf_token": csrf, "payment_terms": PAYMENT})
            assert resp.status_code == 403, url
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ContractTemplate)) == 0


def test_admin_edits_previews_and_removes_a_template_in_the_browser(db, admin, browser, login_as):
    s = make_scenario(db)
    db.session.commit()
    login_as(admin)
    html = browser.get("/admin/contract-templates?lang=en").get_data(as_text=True)
    assert s.item.name in html and "Model contract" in html

    url = f"/admin/contract-templates/{s.item.id}"
    html = browser.get(f"{url}?lang=en").get_data(as_text=True)
    # Prefilled with the model contract's texts; the page says what an empty field means.
    assert DEFAULT_PAYMENT_TERMS.splitlines()[0] in html and DEFAULT_ACCEPTANCE_TERMS in html
    assert "An empty field uses the text of the model contract" in html

    resp = browser.post(url, {"version": "0", "payment_terms": PAYMENT, "acceptance_terms": ACCEPTANCE,
                              "special_terms": SPECIAL})
    assert resp.status_code == 302
    template = templates_service.get_template(s.item.id)
    assert template.version == 1 and template.updated_by_id == admin.id
    assert (template.payment_terms, template.acceptance_terms, template.special_terms) == (
        PAYMENT, ACCEPTANCE, SPECIAL)
    html = browser.get("/admin/contract-templates?lang=en").get_data(as_text=True)
    assert "Own template, version 1" in html and admin.name in html
    html = browser.get(f"{url}?lang=en").get_data(as_text=True)
    assert PAYMENT in html and 'name="version" type="hidden" value="1"' in html

    resp = browser.get(f"{url}/preview.pdf")
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    text = pdf_text(resp.data)
    assert s.item.name in text and PAYMENT in text and ACCEPTANCE in text and SPECIAL in text

    resp = browser.post(f"{url}/remove", form_url=url)
    assert resp.status_code == 302 and templates_service.get_template(s.item.id) is None
    assert "This service item uses the model contract." in browser.get(f"{url}?lang=en").get_data(
        as_text=True)
    assert browser.get("/admin/contract-templates/99999999999").status_code == 404
    assert browser.get("/admin/contract-templates/999999").status_code == 404


@pytest.mark.parametrize(("field", "value", "message"), [
    ("payment_terms", "付" * 5001, "At most 5000 characters"),
    ("special_terms", "乙" * (SPECIAL_TERMS_MAX + 1), "At most 5000 characters"),
    ("acceptance_terms", "验收\x07合格", "characters that are not allowed"),
    ("special_terms", "约定\x00内容", "characters that are not allowed"),
])
def test_bad_template_text_is_refused_and_changes_nothing(db, admin, browser, login_as, field, value,
                                                          message):
    s = make_scenario(db)
    _save(s.item, admin)
    db.session.commit()
    login_as(admin)
    url = f"/admin/contract-templates/{s.item.id}?lang=en"
    data = {"version": "1", "payment_terms": "新的付款方式。", "acceptance_terms": "", "special_terms": ""}
    resp = browser.post(url, data | {field: value})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "invalid-feedback" in html and message in html
    with pytest.raises(DomainError) as exc:
        _save(s.item, admin, **{field: value})
    assert exc.value.field == field and message in str(exc.value)
    db.session.rollback()
    template = templates_service.get_template(s.item.id)
    assert template.version == 1 and template.payment_terms == PAYMENT


def test_windows_line_breaks_do_not_count_against_the_limit(db, admin, browser, login_as):
    s = make_scenario(db)
    db.session.commit()
    login_as(admin)
    text = ("甲" * 99 + "\r\n") * 50  # 5,050 characters sent, 4,999 once line breaks are "\n"
    resp = browser.post(f"/admin/contract-templates/{s.item.id}", {"version": "0", "special_terms": text})
    assert resp.status_code == 302
    assert templates_service.get_template(s.item.id).special_terms == text.replace("\r\n", "\n").strip()


def test_a_template_saved_meanwhile_is_not_overwritten(db, admin, browser, login_as):
    s = make_scenario(db)
    _save(s.item, admin)
    db.session.commit()
    with pytest.raises(ConcurrentUpdate):
        _save(s.item, admin, payment_terms="另一位管理员的文本。", expected_version=0)
    db.session.rollback()
    login_as(admin)
    resp = browser.post(f"/admin/contract-templates/{s.item.id}?lang=en",
                        {"version": "0", "payment_terms": "过时页面上的文本。"})
    assert resp.status_code == 200 and "Someone else changed this contract template" in resp.get_data(
        as_text=True)
    template = templates_service.get_template(s.item.id)
    assert template.version == 1 and template.payment_terms == PAYMENT
