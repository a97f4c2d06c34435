"""In the browser: an agency goes from registration to a published listing; a visitor finds it."""

import pytest

from tests.agencies.conftest import PDF
from tests.factories import QualificationTypeFactory, ServiceItemFactory, make_uscc

pytestmark = pytest.mark.browser


def test_agency_publishes_a_listing_and_a_visitor_finds_it(live_server, page, shot, db, tmp_path):
    from marketplace.catalog.models import QualificationRule

    qtype = QualificationTypeFactory(name="测绘资质证书", code="BR-CH")
    item = ServiceItemFactory(name="建设工程规划放线测量", statutory_days=20,
                              qualification_rule=QualificationRule.ANY, qualification_types=[qtype])
    db.session.commit()
    scan = tmp_path / "资质证书.pdf"
    scan.write_bytes(PDF)

    page.goto(live_server + "/register")
    page.fill("#org_name", "昆明浏览器测绘有限公司")
    page.fill("#uscc", make_uscc())
    page.fill("#legal_representative", "周测绘")
    page.fill("#region_code", "530111")
    page.fill("#contact_phone", "0871-7654321")
    page.fill("#user_name", "周测绘")
    page.fill("#email", "zhou@browser.example")
    page.fill("#password", "Browser-pass-2")
    page.fill("#confirm", "Browser-pass-2")
    page.click("#register-form button[type=submit]")
    page.wait_for_url("**/dashboard")

    page.goto(live_server + "/agency/declaration")
    page.fill("#signer_name", "周测绘")
    page.fill("#signer_position", "法定代表人")
    page.check("#confirm")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()

    page.goto(live_server + "/agency/qualifications/new")
    page.select_option("#qualification_type_id", str(qtype.id))
    page.fill("#certificate_no", "乙测资字5309999")
    page.fill("#level", "乙级")
    page.fill("#issuer", "云南省自然资源厅")
    page.fill("#valid_from", "2025-01-01")
    page.fill("#valid_to", "2030-12-31")
    page.set_input_files("#scan", str(scan))
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    shot("10-agency-profile")

    page.goto(live_server + "/agency/listings/new")
    page.select_option("#service_item_id", str(item.id))
    page.check("input[name=fee_kind][value=fixed]")
    page.fill("#fee_amount", "8000")
    page.fill("#fee_basis", "按放线点数计费")
    page.fill("#time_limit_days", "3")
    page.fill("#service_standard", "依据《工程测量标准》完成放线，成果当日提交。")
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    page.locator("form[action$=\"/publish\"] button").click()
    page.wait_for_load_state()
    shot("11-listing-published")

    page.click("#user-menu")
    page.click("#logout-button")
    page.goto(live_server + f"/services/{item.id}")
    content = page.content()
    assert "昆明浏览器测绘有限公司" in content
    assert "¥8,000.00" in content
    shot("12-service-item-fee-list")
