"""The catalogues: administrators maintain them (pages, CSV, CLI); everyone reads them."""

import io

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.audit.models import AuditEvent
from marketplace.catalog import services
from marketplace.catalog.models import (
    ApprovalItem,
    FeeBasis,
    QualificationRule,
    QualificationType,
    ServiceCategory,
    ServiceItem,
)
from marketplace.core.errors import DomainError, PermissionDenied
from tests.conftest import Browser
from tests.factories import (
    AgencyFactory,
    ApprovalItemFactory,
    GovernmentFactory,
    QualificationTypeFactory,
    ServiceCategoryFactory,
    ServiceItemFactory,
    UserFactory,
)


@pytest.fixture
def admin(db):
    return UserFactory(organisation=GovernmentFactory(), role=Role.ADMIN)


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def admin_browser(app, user) -> Browser:
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
    return Browser(client)


# --- approval items ----------------------------------------------------------------------------


def test_admin_creates_and_updates_an_approval_item(db, admin):
    item = services.save_approval_item(
        None, code=" xk-001 ", name="建设项目环境影响评价文件审批", department="市生态环境局",
        legal_basis="《环境影响评价法》第二十二条", actor=admin,
    )
    assert item.code == "XK-001"
    services.save_approval_item(item, code="XK-001", name=item.name, department="市行政审批局",
                                legal_basis=item.legal_basis, actor=admin)
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action.like("approval_item.%")).order_by(AuditEvent.seq)
    ).all()
    assert actions == ["approval_item.created", "approval_item.updated"]
    assert "市生态环境局" in db.session.scalars(sa.select(AuditEvent.payload).order_by(AuditEvent.seq.desc())).first()


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "审批-1"}, "code"),
        ({"code": "X" * 41}, "code"),
        ({"name": "名" * 201}, "name"),
        ({"name": "a\x00b"}, "name"),
        ({"department": ""}, "department"),
        ({"legal_basis": "法" * 2001}, "legal_basis"),
        ({"code": "XK-TAKEN"}, "code"),
    ],
)
def test_bad_approval_items_are_refused(db, admin, values, field):
    ApprovalItemFactory(code="XK-TAKEN")
    before = count(db, ApprovalItem)
    data = {"code": "XK-NEW", "name": "审批事项", "department": "部门", "legal_basis": ""} | values
    with pytest.raises(DomainError) as exc:
        services.save_approval_item(None, actor=admin, **data)
    assert exc.value.field == field
    assert count(db, ApprovalItem) == before


def test_only_administrators_change_the_catalogue(db):
    for role in (Role.AGENCY_STAFF, Role.REGULATOR, Role.APPROVAL_OFFICER):
        org = AgencyFactory() if role is Role.AGENCY_STAFF else GovernmentFactory()
        user = UserFactory(organisation=org, role=role)
        with pytest.raises(PermissionDenied):
            services.save_approval_item(None, code="X-1", name="x", department="y", actor=user)
        with pytest.raises(PermissionDenied):
            services.import_approval_items("X-1,x,y", actor=user)


def test_csv_import_creates_updates_and_reports_the_bad_line(db, admin):
    ApprovalItemFactory(code="XK-002", name="旧名称", department="旧部门")
    text = (
        "code,name,department,legal_basis\n"
        "XK-001,建设项目环境影响评价文件审批,市生态环境局,《环境影响评价法》\n"
        "\n"
        "xk-002,生产建设项目水土保持方案审批,市水务局,《水土保持法》第二十五条\n"
    )
    result = services.import_approval_items(text, actor=admin)
    assert (result.created, result.updated, result.unchanged) == (1, 1, 0)
    again = services.import_approval_items(text, actor=admin)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    db.session.commit()
    before = count(db, ApprovalItem)
    for bad, line in [
        ("XK-003,好,部门\nXK-004,只有名称\n", "2"),
        ("XK-003,好,部门\nXK-003,重复,部门\n", "2"),
        ("XK-005,名,部门\n非法编码,名,部门\n", "2"),
        ("XK-006," + "长" * 300 + ",部门\n", "1"),
    ]:
        with pytest.raises(DomainError) as exc:
            services.import_approval_items(bad, actor=admin)
        db.session.rollback()
        assert line in str(exc.value)
        assert count(db, ApprovalItem) == before
    for bad in ("", "\n\n", "a\x00b,c,d", "x" * 2_000_001):
        with pytest.raises(DomainError):
            services.import_approval_items(bad, actor=admin)


def test_cli_imports_approval_and_service_items(app, db, tmp_path):
    ServiceCategoryFactory(code="LAND")
    QualificationTypeFactory(code="DZZH")
    db.session.commit()
    approvals = tmp_path / "approvals.csv"
    approvals.write_text("\ufeffcode,name,department,legal_basis\nXK-010,建设用地审批,市自然资源局,《土地管理法》\n",
                         encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["catalog", "import-approval-items", str(approvals)])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    items = tmp_path / "items.csv"
    items.write_text("ZJ-010,地质灾害危险性评估,land,XK-010,any,DZZH,30,market,,评估报告,说明\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["catalog", "import-service-items", str(items)])
    assert result.exit_code == 0, result.output
    item = db.session.scalars(sa.select(ServiceItem)).one()
    assert item.qualification_rule is QualificationRule.ANY and item.statutory_days == 30
    assert [a.code for a in item.approval_items] == ["XK-010"]
    items.write_text("ZJ-011,压覆,LAND,XK-999\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["catalog", "import-service-items", str(items)])
    assert result.exit_code == 1 and "XK-999" in result.output


# --- service items -----------------------------------------------------------------------------


def _item_values(**overrides):
    category = ServiceCategoryFactory()
    approval = ApprovalItemFactory()
    values = {
        "code": "ZJ-100", "name": "防雷装置设计技术评价", "category_id": category.id,
        "approval_item_ids": [approval.id], "qualification_rule": QualificationRule.NONE,
        "qualification_type_ids": [], "statutory_days": 10, "fee_basis": FeeBasis.MARKET,
        "fee_document": "", "deliverable": "技术评价报告", "description": "",
    }
    values.update(overrides)
    return values


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"approval_item_ids": []}, "approval_item_ids"),
        ({"approval_item_ids": [987654]}, "approval_item_ids"),
        ({"category_id": 987654}, "category_id"),
        ({"qualification_rule": QualificationRule.ANY}, "qualification_type_ids"),
        ({"statutory_days": 0}, "statutory_days"),
        ({"statutory_days": 2**31}, "statutory_days"),
        ({"fee_basis": FeeBasis.GOVERNMENT}, "fee_document"),
        ({"deliverable": "报" * 301}, "deliverable"),
        ({"description": "x" * 2001}, "description"),
    ],
)
def test_bad_service_items_are_refused(db, admin, overrides, field):
    before = count(db, ServiceItem)
    with pytest.raises(DomainError) as exc:
        services.save_service_item(None, actor=admin, **_item_values(**overrides))
    assert exc.value.field == field
    assert count(db, ServiceItem) == before


def test_rule_none_with_types_is_refused_and_a_good_item_saves(db, admin):
    qtype = QualificationTypeFactory()
    with pytest.raises(DomainError) as exc:
        services.save_service_item(None, actor=admin, **_item_values(qualification_type_ids=[qtype.id]))
    assert exc.value.field == "qualification_rule"
    item = services.save_service_item(None, actor=admin, **_item_values(
        qualification_rule=QualificationRule.ALL, qualification_type_ids=[qtype.id],
        fee_basis=FeeBasis.GOVERNMENT, fee_document="财建〔2009〕17号"))
    assert item.qualification_types == [qtype]
    services.save_service_item(item, actor=admin, **_item_values(code="ZJ-100", statutory_days=None))
    event = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "service_item.updated")).one()
    assert "qualification_types" in event.payload and "statutory_days" in event.payload


def test_search_by_category_approval_item_and_text(db):
    env, water = ServiceCategoryFactory(name="生态环境类"), ServiceCategoryFactory(name="水利类")
    eia = ApprovalItemFactory(name="环评审批")
    a = ServiceItemFactory(name="环境影响报告书编制", category=env, approval_items=[eia])
    b = ServiceItemFactory(name="水土保持方案编制", category=water)
    ServiceItemFactory(name="已停用的环境事项", category=env, approval_items=[eia], is_active=False)
    assert [i.id for i in services.search_service_items(category_id=env.id).items] == [a.id]
    assert [i.id for i in services.search_service_items(approval_item_id=eia.id).items] == [a.id]
    assert [i.id for i in services.search_service_items(q="水土").items] == [b.id]
    assert services.search_service_items(q="100%_").total == 0


# --- pages -------------------------------------------------------------------------------------


def test_public_catalogue_pages(db, client):
    eia = ApprovalItemFactory(name="建设项目环境影响评价文件审批", department="市生态环境局")
    item = ServiceItemFactory(name="建设项目环境影响报告书编制", approval_items=[eia])
    db.session.commit()
    html = client.get("/services").get_data(as_text=True)
    assert item.name in html
    html = client.get(f"/services?approval_item={eia.id}").get_data(as_text=True)
    assert item.name in html and eia.name in html
    html = client.get(f"/services?category={item.category_id}&q=环境").get_data(as_text=True)
    assert item.name in html
    html = client.get("/approval-items?q=环境").get_data(as_text=True)
    assert eia.name in html and item.name in html
    html = client.get(f"/services/{item.id}").get_data(as_text=True)
    assert item.name in html and eia.name in html


def test_admin_pages_create_edit_and_import(app, db, admin):
    category = ServiceCategoryFactory()
    qtype = QualificationTypeFactory()
    db.session.commit()
    browser = admin_browser(app, admin)
    assert browser.get("/admin/catalog").status_code == 200
    resp = browser.post("/admin/catalog/approval-items/new", {
        "code": "XK-025", "name": "防雷装置设计审核", "department": "市气象局",
        "legal_basis": "《气象法》第三十七条", "is_active": "y"})
    assert resp.status_code == 302
    approval = db.session.scalars(sa.select(ApprovalItem)).one()
    # Bad input: a clear message on the form, nothing changed.
    resp = browser.post(f"/admin/catalog/approval-items/{approval.id}/edit", {
        "code": "XK-025", "name": "名" * 201, "department": "市气象局"})
    assert resp.status_code == 200 and "invalid-feedback" in resp.get_data(as_text=True)
    db.session.refresh(approval)
    assert approval.name == "防雷装置设计审核"

    resp = browser.post("/admin/catalog/service-items/new", {
        "code": "ZJ-031", "name": "防雷装置设计技术评价", "category_id": str(category.id),
        "approval_item_ids": [str(approval.id)], "qualification_rule": "any",
        "qualification_type_ids": [str(qtype.id)], "statutory_days": "10", "fee_basis": "market",
        "deliverable": "评价报告", "is_active": "y"})
    assert resp.status_code == 302
    item = db.session.scalars(sa.select(ServiceItem)).one()
    assert item.qualification_types == [qtype] and item.statutory_days == 10
    assert browser.get(f"/admin/catalog/service-items/{item.id}/edit").status_code == 200
    for bad in ({"statutory_days": "99999999999"}, {"fee_basis": "government"}, {"qualification_rule": "all",
                "qualification_type_ids": []}, {"approval_item_ids": []}, {"category_id": "0"}):
        data = {"code": "ZJ-031", "name": "防雷", "category_id": str(category.id),
                "approval_item_ids": [str(approval.id)], "qualification_rule": "none",
                "fee_basis": "market", "is_active": "y"} | bad
        resp = browser.post(f"/admin/catalog/service-items/{item.id}/edit", data)
        assert resp.status_code == 200, bad
    db.session.refresh(item)
    assert item.name == "防雷装置设计技术评价" and item.qualification_rule is QualificationRule.ANY

    resp = browser.post("/admin/catalog/approval-items/import", {
        "file": (io.BytesIO("XK-026,防雷装置竣工验收,市气象局,《气象法》\n".encode()), "a.csv")},
        content_type="multipart/form-data")
    assert resp.status_code == 302 and count(db, ApprovalItem) == 2
    resp = browser.post("/admin/catalog/approval-items/import", {"text": "XK-027,只有两列"})
    assert resp.status_code == 200 and count(db, ApprovalItem) == 2
    resp = browser.post("/admin/catalog/approval-items/import", {
        "file": (io.BytesIO(b"\xff\xfe\x00bad"), "a.csv")}, content_type="multipart/form-data")
    assert resp.status_code == 200
    resp = browser.post("/admin/catalog/service-items/import", {
        "text": f"ZJ-032,雷电防护装置检测,{category.code},XK-026,none,,5,market,,检测报告"})
    assert resp.status_code == 302 and count(db, ServiceItem) == 2

    assert browser.post("/admin/catalog/categories", {"code": "METEO", "name": "气象类", "sort_order": "70"}).status_code == 302
    assert browser.post("/admin/catalog/categories", {"code": "BAD CODE!", "name": "x", "sort_order": "1"}).status_code == 200
    assert browser.post("/admin/catalog/categories", {"code": "X", "name": "x", "sort_order": "99999"}).status_code == 200
    assert count(db, ServiceCategory) == 2
    assert browser.post("/admin/catalog/qualification-types", {
        "code": "FLJC", "name": "雷电防护装置检测资质证", "levels": "甲级,乙级", "is_active": "y"}).status_code == 302
    qt = db.session.scalars(sa.select(QualificationType).where(QualificationType.code == "FLJC")).one()
    assert qt.level_choices == ["甲级", "乙级"]
    assert browser.post(f"/admin/catalog/qualification-types/{qt.id}/edit", {
        "code": qtype.code, "name": "重复编码"}).status_code == 200


def test_non_admins_cannot_open_catalogue_management(app, db):
    user = UserFactory(organisation=AgencyFactory(), role=Role.AGENCY_STAFF)
    db.session.commit()
    browser = admin_browser(app, user)
    for url in ("/admin/catalog", "/admin/catalog/approval-items/new", "/admin/catalog/service-items/import"):
        assert browser.get(url).status_code == 403
    csrf = browser.csrf("/")
    resp = browser.client.post("/admin/catalog/approval-items/new",
                               data={"csrf_token": csrf, "code": "X-1", "name": "x", "department": "y"})
    assert resp.status_code == 403 and count(db, ApprovalItem) == 0


def test_demo_data_has_a_realistic_catalogue_and_published_listings(app, db, client):
    from marketplace.agencies import eligibility
    from marketplace.agencies.models import Listing
    from marketplace.demo import load_demo

    load_demo("demo-Passw0rd")
    db.session.commit()
    items = db.session.scalars(sa.select(ServiceItem)).all()
    assert len(items) >= 30
    assert all(item.approval_items for item in items)
    names = {i.name for i in items}
    for expected in ("环境影响", "水土保持方案编制", "安全评价", "地质灾害危险性评估", "节能", "测绘",
                     "施工图设计文件审查", "防雷装置设计技术评价"):
        assert any(expected in n for n in names), expected
    visible = db.session.scalars(sa.select(Listing).where(eligibility.listing_visible_sql(eligibility.today()))).all()
    demo_agency = [v for v in visible if v.organisation.name == "云南绿源环境科技咨询有限公司"]
    assert 2 <= len(demo_agency) <= 3
    assert len({v.organisation_id for v in visible}) >= 5
    # The demo agency whose design certificate lapsed does not show its design listing.
    hidden = db.session.scalars(sa.select(Listing).where(~eligibility.listing_visible_sql(eligibility.today()))).all()
    assert any(h.service_item.code == "ZJ-030" for h in hidden)
    assert client.get("/services").status_code == 200
    assert client.get("/agencies").status_code == 200
