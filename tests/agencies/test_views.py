"""Through the pages: from registration to a published listing, and bad input on every form."""

import sqlalchemy as sa

from marketplace.accounts.models import Organisation, Role, User
from marketplace.agencies.models import (
    IndependenceDeclaration,
    Listing,
    ListingStatus,
    ListingVersion,
    Practitioner,
    Qualification,
)
from marketplace.audit.models import AuditEvent
from marketplace.core.uploads import StoredFile
from tests.agencies.conftest import PDF, PNG, upload
from tests.conftest import Browser
from tests.factories import ListingFactory, make_uscc


def count(db, model) -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(model))


def test_from_registration_to_a_listing_a_visitor_finds(app, db, browser, item, qtype):
    db.session.commit()
    resp = browser.post("/register", {
        "kind": "agency", "org_name": "昆明新星测绘有限公司", "uscc": make_uscc(),
        "legal_representative": "赵新星", "region_code": "530111", "contact_phone": "0871-66668888",
        "user_name": "赵新星", "email": "zhao@xinxing.example", "password": "Xinxing-2026",
        "confirm": "Xinxing-2026",
    })
    assert resp.status_code == 302
    org = db.session.scalars(sa.select(Organisation).where(Organisation.name == "昆明新星测绘有限公司")).one()

    # The profile page shows the three steps; sign the independence declaration.
    assert browser.get("/agency/profile").status_code == 200
    resp = browser.post("/agency/declaration", {
        "signer_name": "赵新星", "signer_position": "法定代表人", "confirm": "y",
    })
    assert resp.status_code == 302
    assert count(db, IndependenceDeclaration) == 1

    # Add the qualification the service item requires, with its scan.
    resp = browser.post("/agency/qualifications/new", {
        "qualification_type_id": str(qtype.id), "certificate_no": "乙测资字5301234", "level": "乙级",
        "issuer": "云南省自然资源厅", "valid_from": "2024-03-01", "valid_to": "2029-02-28",
        "scan": upload(PDF, "测绘资质证书.pdf"),
    }, content_type="multipart/form-data")
    assert resp.status_code == 302
    qualification = db.session.scalars(sa.select(Qualification)).one()
    assert qualification.organisation_id == org.id and qualification.scan is not None

    # A practitioner and the regions served.
    assert browser.post("/agency/practitioners", {
        "name": "钱测绘", "certificate_no": "ZCCH-0001", "specialty": "注册测绘师",
    }, form_url="/agency/profile").status_code == 302
    assert browser.post("/agency/profile", {
        "introduction": "专业测绘服务", "website": "", "region_codes": "530100 530400",
    }).status_code == 302

    # Offer the service with the three commitments; it starts as a draft.
    resp = browser.post("/agency/listings/new", {
        "service_item_id": str(item.id), "fee_kind": "range", "fee_min": "30,000", "fee_max": "60000.5",
        "fee_basis": "按建筑面积计费", "time_limit_days": "12",
        "service_standard": "依据《城市测量规范》完成，成果一次性通过核实。",
    })
    assert resp.status_code == 302
    listing = db.session.scalars(sa.select(Listing)).one()
    assert listing.status is ListingStatus.DRAFT
    assert (listing.current.fee_min_fen, listing.current.fee_max_fen) == (3_000_000, 6_000_050)

    visitor = app.test_client()
    assert "昆明新星测绘有限公司" not in visitor.get(f"/services/{item.id}").get_data(as_text=True)

    resp = browser.post(f"/agency/listings/{listing.id}/publish", form_url=f"/agency/listings/{listing.id}")
    assert resp.status_code == 302
    db.session.refresh(listing)
    assert listing.status is ListingStatus.PUBLISHED

    html = visitor.get(f"/services/{item.id}").get_data(as_text=True)
    assert "昆明新星测绘有限公司" in html and "30,000.00" in html and "60,000.50" in html
    html = visitor.get("/agencies?region=530102").get_data(as_text=True)
    assert "昆明新星测绘有限公司" in html
    html = visitor.get(f"/agencies/{org.id}").get_data(as_text=True)
    assert item.name in html and "乙测资字5301234" in html and "钱测绘" in html
    # The scan stays private.
    assert visitor.get(f"/qualifications/{qualification.id}/scan").status_code == 302

    actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"agency.independence_declared", "agency.qualification_added", "agency.practitioner_added",
            "agency.profile_updated", "listing.created", "listing.published"} <= actions


def _login(app, user) -> Browser:
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
    return Browser(client)


def _new_listing_form(item, **overrides):
    data = {
        "service_item_id": str(item.id), "fee_kind": "fixed", "fee_amount": "12000",
        "fee_basis": "包干", "time_limit_days": "10", "service_standard": "按规范完成。",
    }
    data.update(overrides)
    return data


def test_bad_listing_input_gets_a_message_and_changes_nothing(app, db, staff, item):
    db.session.commit()
    browser = _login(app, staff)
    cases = [
        {"fee_kind": "range", "fee_min": "9000", "fee_max": "8000"},
        {"time_limit_days": "16"},  # above the statutory 15
        {"time_limit_days": "0"},
        {"time_limit_days": "99999999999999999999"},
        {"fee_amount": "-5"},
        {"fee_amount": "一万"},
        {"fee_amount": "1e30"},
        {"fee_kind": "discount", "discount_percent": "10"},  # market-priced item
        {"fee_kind": "bogus"},
        {"service_standard": "长" * 5001},
        {"fee_basis": "包\x00干"},
        {"service_item_id": "99999999999"},
    ]
    for overrides in cases:
        resp = browser.post("/agency/listings/new", _new_listing_form(item, **overrides))
        assert resp.status_code == 200, overrides
        assert "invalid-feedback" in resp.get_data(as_text=True) or "alert-danger" in resp.get_data(as_text=True), overrides
    assert count(db, Listing) == 0 and count(db, ListingVersion) == 0
    assert browser.post("/agency/listings/new", _new_listing_form(item)).status_code == 302


def test_editing_commitments_through_the_page(app, db, staff, item):
    listing = ListingFactory(organisation=staff.organisation, service_item=item)
    db.session.commit()
    browser = _login(app, staff)
    url = f"/agency/listings/{listing.id}"
    page = browser.get(url).get_data(as_text=True)
    assert 'name="version"' in page
    bad = {"fee_kind": "range", "fee_min": "500", "fee_max": "100", "fee_basis": "x",
           "time_limit_days": "5", "service_standard": "y", "version": "1"}
    assert browser.post(url, bad).status_code == 200
    assert count(db, ListingVersion) == 1
    good = dict(bad, fee_min="100", fee_max="500", change_note="调整收费区间")
    assert browser.post(url, good).status_code == 302
    # A stale form (version 1 again) changes nothing.
    resp = browser.post(url, dict(good, fee_max="900"), follow_redirects=True)
    assert resp.status_code == 200
    assert count(db, ListingVersion) == 2
    db.session.refresh(listing)
    assert listing.current.fee_max_fen == 50_000
    html = app.test_client().get(f"/listings/{listing.id}")
    assert html.status_code == 404  # a draft is not public


def test_publishing_without_qualifications_is_refused_with_a_message(app, db, staff, item):
    listing = ListingFactory(organisation=staff.organisation, service_item=item)
    db.session.commit()
    browser = _login(app, staff)
    resp = browser.post(f"/agency/listings/{listing.id}/publish", form_url=f"/agency/listings/{listing.id}",
                        follow_redirects=True)
    assert resp.status_code == 200 and "alert-danger" in resp.get_data(as_text=True)
    db.session.refresh(listing)
    assert listing.status is ListingStatus.DRAFT


def test_withdraw_through_the_page(app, db, staff, item, qualified):
    listing = ListingFactory(organisation=staff.organisation, service_item=item, status=ListingStatus.PUBLISHED)
    db.session.commit()
    browser = _login(app, staff)
    resp = browser.post(f"/agency/listings/{listing.id}/withdraw", {"reason": "人员调整"},
                        form_url=f"/agency/listings/{listing.id}")
    assert resp.status_code == 302
    db.session.refresh(listing)
    assert listing.status is ListingStatus.WITHDRAWN
    assert browser.post(f"/agency/listings/{listing.id}/withdraw", {"reason": "x" * 400},
                        form_url=f"/agency/listings/{listing.id}").status_code == 302


def test_only_agency_staff_edit_their_own_agency(app, db, staff, item, make_user):
    listing = ListingFactory(organisation=staff.organisation, service_item=item)
    person = Practitioner(organisation_id=staff.organisation_id, name="甲", certificate_no="P-1")
    db.session.add(person)
    db.session.commit()
    other = _login(app, make_user(Role.AGENCY_STAFF))
    db.session.commit()
    csrf = other.csrf("/agency/profile")
    for url in (f"/agency/listings/{listing.id}", f"/agency/listings/{listing.id}/publish",
                f"/agency/listings/{listing.id}/withdraw", f"/agency/practitioners/{person.id}/delete"):
        resp = other.client.post(url, data={"csrf_token": csrf})
        assert resp.status_code in (302, 404), url
    assert other.get(f"/agency/listings/{listing.id}").status_code == 404
    db.session.refresh(listing)
    assert listing.status is ListingStatus.DRAFT and count(db, Practitioner) == 1
    for role in (Role.ENTERPRISE_STAFF, Role.ADMIN, Role.REGULATOR, Role.APPROVAL_OFFICER):
        browser = _login(app, make_user(role))
        db.session.commit()
        assert browser.get("/agency/profile").status_code == 403
        assert browser.get(f"/agency/listings/{listing.id}").status_code == 403


def test_bad_qualification_input_through_the_page(app, db, staff, qtype):
    db.session.commit()
    browser = _login(app, staff)
    base = {"qualification_type_id": str(qtype.id), "certificate_no": "C-1", "issuer": "省厅",
            "valid_from": "2025-05-01", "valid_to": "2027-04-30"}
    cases = [
        dict(base, valid_to="2025-04-30", scan=upload(PDF)),  # valid to before valid from
        dict(base, valid_from="2025-02-30", scan=upload(PDF)),
        dict(base, certificate_no="x" * 101, scan=upload(PDF)),
        dict(base, scan=upload(b"GIF89a not accepted", "a.gif")),
        dict(base),  # no scan
    ]
    for data in cases:
        resp = browser.post("/agency/qualifications/new", data, content_type="multipart/form-data")
        assert resp.status_code == 200
        assert "invalid-feedback" in resp.get_data(as_text=True)
    assert count(db, Qualification) == 0 and count(db, StoredFile) == 0
    resp = browser.post("/agency/qualifications/new", dict(base, scan=upload(PNG, "scan.png")),
                        content_type="multipart/form-data")
    assert resp.status_code == 302
    q = db.session.scalars(sa.select(Qualification)).one()
    # Editing without a new scan keeps the old one; a bad date range is refused.
    url = f"/agency/qualifications/{q.id}/edit"
    assert browser.post(url, dict(base, valid_to="2024-01-01"), content_type="multipart/form-data").status_code == 200
    assert browser.post(url, dict(base, valid_to="2030-01-01"), content_type="multipart/form-data").status_code == 302
    db.session.refresh(q)
    assert q.valid_to.year == 2030 and q.scan is not None
    assert browser.post(f"/agency/qualifications/{q.id}/delete", form_url="/agency/profile").status_code == 302
    assert count(db, Qualification) == 0


def test_profile_and_declaration_forms_refuse_bad_input(app, db, staff):
    db.session.commit()
    browser = _login(app, staff)
    for data in ({"region_codes": "530100 12345"}, {"introduction": "介" * 2001, "serves_nationwide": "y"},
                 {"website": "ftp://x", "serves_nationwide": "y"}):
        assert browser.post("/agency/profile", data).status_code == 200
    assert browser.post("/agency/declaration", {"signer_name": "张三", "signer_position": "法人"}).status_code == 200
    assert browser.post("/agency/practitioners", {"name": "", "certificate_no": "x"},
                        form_url="/agency/profile").status_code == 200
    assert count(db, IndependenceDeclaration) == 0 and count(db, Practitioner) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 1
