"""Rating pages: the form on the contract and case pages, blind pages, public pages, moderation."""

from __future__ import annotations

import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.ratings import services
from marketplace.ratings.models import Rating, RatingStatus
from tests.factories import EnterpriseFactory, RegulatorFactory, UserFactory

FORM = {"quality": "2", "timeliness": "1", "attitude": "3", "fees": "2", "conduct": "3",
        "comment": "报告质量一般，严重逾期。"}
ABUSE = "贵公司项目经理就是个骗子！"


def _url(finished) -> str:
    return f"/contracts/{finished.contract.id}/ratings"


def _count(db) -> int:
    return db.session.execute(sa.select(sa.func.count(Rating.id))).scalar_one()


def test_the_enterprise_rates_from_the_contract_page(finished, db, browser, login_as, client):
    login_as(finished.owner)
    contract_page = client.get(f"/contracts/{finished.contract.id}").get_data(as_text=True)
    assert 'id="rating-panel"' in contract_page and _url(finished) in contract_page
    page = client.get(_url(finished)).get_data(as_text=True)
    assert 'id="rating-form"' in page and "Service quality" in page and "Timeliness" in page

    resp = browser.post(_url(finished), FORM, follow_redirects=True)
    assert resp.status_code == 200
    assert "stays sealed" in resp.get_data(as_text=True)
    rating = db.session.execute(sa.select(Rating)).scalar_one()
    assert (rating.quality, rating.timeliness, rating.comment) == (2, 1, "报告质量一般，严重逾期。")
    # no second form
    assert 'id="rating-form"' not in client.get(_url(finished)).get_data(as_text=True)


def test_bad_input_is_refused_with_a_message(finished, db, browser, login_as):
    login_as(finished.owner)
    resp = browser.post(_url(finished), {**FORM, "quality": "9"}, form_url=_url(finished))
    assert resp.status_code == 400
    assert _count(db) == 0
    resp = browser.post(_url(finished), {k: v for k, v in FORM.items() if k != "fees"}, form_url=_url(finished))
    assert resp.status_code == 400
    assert "whole number from 1 to 5" in resp.get_data(as_text=True)
    assert _count(db) == 0


def test_the_other_side_sees_nothing_before_the_reveal(finished, db, client, login_as):
    finished.rate_enterprise(comment="秘密评价内容")
    db.session.commit()
    login_as(finished.agent)
    page = client.get(_url(finished)).get_data(as_text=True)
    assert "秘密评价内容" not in page and 'id="no-ratings"' in page
    public = client.get(f"/credit/agencies/{finished.contract.agency_org_id}").get_data(as_text=True)
    assert "秘密评价内容" not in public


def test_after_the_reveal_the_ratings_are_public_and_the_agency_replies(finished, db, browser, login_as, client):
    finished.rate_enterprise(comment="报告质量一般。")
    finished.rate_agency(comment="甲方付款及时。")
    db.session.commit()
    credit_page = client.get(f"/credit/agencies/{finished.contract.agency_org_id}").get_data(as_text=True)
    assert 'id="public-ratings"' in credit_page and "报告质量一般。" in credit_page
    assert "甲方付款及时。" not in credit_page  # about the enterprise, shown on its own page
    # the ledger names the rating by who gave it, not by its role code
    assert "Enterprise rating of the agency" in credit_page and "Rating enterprise" not in credit_page
    assert finished.contract.contract_no in credit_page
    enterprise_page = client.get(f"/ratings/organisations/{finished.contract.buyer_org_id}").get_data(as_text=True)
    assert "甲方付款及时。" in enterprise_page

    login_as(finished.agent)
    rating = db.session.execute(sa.select(Rating).where(Rating.comment == "报告质量一般。")).scalar_one()
    resp = browser.post(f"/ratings/{rating.id}/reply", {f"reply{rating.id}-text": "逾期系因资料延迟。"},
                        form_url=_url(finished), follow_redirects=True)
    assert resp.status_code == 200 and "逾期系因资料延迟。" in resp.get_data(as_text=True)
    resp = browser.post(f"/ratings/{rating.id}/reply", {f"reply{rating.id}-text": "第二次回复"},
                        form_url=_url(finished))
    assert resp.status_code == 400
    db.session.refresh(rating)
    assert rating.reply == "逾期系因资料延迟。"


def test_the_officer_rates_from_the_case_page(finished, db, browser, login_as, client):
    login_as(finished.officer)
    case_page = client.get(f"/procurement/cases/{finished.f.s.case.id}").get_data(as_text=True)
    assert 'id="case-ratings"' in case_page and _url(finished) in case_page
    page = client.get(_url(finished)).get_data(as_text=True)
    assert "Conformity" in page and finished.f.s.case.case_number in page
    resp = browser.post(_url(finished), {"quality": "4", "conformity": "5", "timeliness": "3", "comment": ""},
                        follow_redirects=True)
    assert resp.status_code == 200
    rating = db.session.execute(sa.select(Rating)).scalar_one()
    assert rating.role.value == "approval_office" and rating.mean_centi == 400


def test_outsiders_get_no_rating_page(finished, db, browser, login_as, client):
    outsider = UserFactory(organisation=EnterpriseFactory(), role=Role.ENTERPRISE_STAFF)
    db.session.commit()
    login_as(outsider)
    assert client.get(_url(finished)).status_code == 404
    resp = browser.post(_url(finished), FORM, form_url="/")
    assert resp.status_code == 404
    assert _count(db) == 0


def test_a_regulator_hides_a_comment_from_the_moderation_page(finished, db, browser, login_as, client):
    finished.rate_enterprise(comment="骂人的话")
    finished.rate_agency()
    db.session.commit()
    rating = db.session.execute(sa.select(Rating).where(Rating.comment == "骂人的话")).scalar_one()
    regulator = RegulatorFactory()
    db.session.commit()
    login_as(regulator)
    assert f"/ratings/{rating.id}/hide" in client.get("/ratings/moderation").get_data(as_text=True)
    resp = browser.post(f"/ratings/{rating.id}/hide", {"reason": ""})
    assert resp.status_code == 400
    resp = browser.post(f"/ratings/{rating.id}/hide", {"reason": "含侮辱性言论"}, follow_redirects=True)
    assert resp.status_code == 200
    public = client.get(f"/credit/agencies/{finished.contract.agency_org_id}").get_data(as_text=True)
    assert "骂人的话" not in public
    assert "Hidden by the regulator: 含侮辱性言论" in public
    db.session.refresh(rating)
    assert rating.quality == 2 and rating.status is RatingStatus.REVEALED


def test_a_regulator_hides_a_reply_from_the_moderation_page(finished, db, browser, login_as, client):
    rating = finished.rate_enterprise(comment="报告质量一般。")
    finished.rate_agency()
    db.session.commit()
    services.reply_to_rating(rating, text=ABUSE, actor=finished.agent)
    regulator = RegulatorFactory()
    db.session.commit()
    url = f"/ratings/{rating.id}/hide-reply"

    # the agency may not moderate its own reply, nor anyone else's
    login_as(finished.agent)
    assert client.get(url).status_code == 403
    assert browser.post(url, {"reason": "x"}, form_url="/").status_code == 403

    login_as(regulator)
    page = client.get("/ratings/moderation").get_data(as_text=True)
    assert url in page and "Hide the reply" in page
    form_page = client.get(url).get_data(as_text=True)
    assert 'id="hide-form"' in form_page and ABUSE in form_page
    assert "隐藏回复" in client.get(url + "?lang=zh_CN").get_data(as_text=True)
    assert browser.post(url, {"reason": ""}).status_code == 400
    resp = browser.post(url, {"reason": "含侮辱性言论"}, follow_redirects=True)
    assert resp.status_code == 200 and "The reply is hidden" in resp.get_data(as_text=True)
    # the moderation page no longer offers it; the form says it is done
    assert url not in client.get("/ratings/moderation").get_data(as_text=True)
    assert "This reply is already hidden." in client.get(url).get_data(as_text=True)
    assert browser.post(url, {"reason": "重复"}).status_code == 400

    # every public page shows the reason in the reply's place; the comment and scores stay
    visitor = client.application.test_client()
    for public_url in (f"/credit/agencies/{finished.contract.agency_org_id}",
                       f"/ratings/organisations/{finished.contract.agency_org_id}"):
        public = visitor.get(public_url).get_data(as_text=True)
        assert ABUSE not in public
        assert "Hidden by the regulator: 含侮辱性言论" in public and "报告质量一般。" in public
    login_as(finished.owner)
    contract_page = client.get(_url(finished)).get_data(as_text=True)
    assert ABUSE not in contract_page and "Hidden by the regulator: 含侮辱性言论" in contract_page
    db.session.refresh(rating)
    assert rating.quality == 2 and not rating.is_comment_hidden


def test_a_rating_without_a_reply_has_no_reply_to_hide(finished, db, client, login_as):
    finished.rate_enterprise()
    finished.rate_agency()
    regulator = RegulatorFactory()
    db.session.commit()
    rating = db.session.execute(sa.select(Rating)).scalars().first()
    login_as(regulator)
    assert client.get(f"/ratings/{rating.id}/hide-reply").status_code == 404
    assert client.get("/ratings/2147483647/hide-reply").status_code == 404


def test_the_agency_cannot_moderate(finished, db, client, login_as):
    finished.rate_enterprise()
    finished.rate_agency()
    db.session.commit()
    login_as(finished.agent)
    assert client.get("/ratings/moderation").status_code == 403
    rating = db.session.execute(sa.select(Rating)).scalars().first()
    assert client.get(f"/ratings/{rating.id}/hide").status_code == 403


def test_the_chinese_page_renders(finished, db, client, login_as):
    login_as(finished.owner)
    page = client.get(_url(finished) + "?lang=zh_CN").get_data(as_text=True)
    assert client.get(_url(finished) + "?lang=zh_CN").status_code == 200
    assert 'id="rating-form"' in page


def test_the_panel_uses_the_platform_term_for_two_way_rating(finished, db, client, login_as):
    login_as(finished.owner)
    page = client.get(f"/contracts/{finished.contract.id}?lang=zh_CN").get_data(as_text=True)
    assert "双向评价" in page and "双评价" not in page
