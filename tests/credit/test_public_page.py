"""The public "why this score" page reads as words: what each entry records, with the contract
and approval case numbers linked; no internal codes, enum values or database ids."""

from __future__ import annotations

import re

import pytest

from marketplace.sanctions import services as sanctions
from tests.factories import RegulatorFactory
from tests.ratings.conftest import make_finished


@pytest.fixture
def rated(db):
    """A finished contract rated by all three sides (revealed), and a decided warning that rests on it."""
    f = make_finished(db)
    f.rate_enterprise()
    f.rate_agency()
    f.rate_office()
    dept = f.officer.organisation
    r1, r2 = RegulatorFactory(organisation=dept), RegulatorFactory(organisation=dept)
    case = f.f.req.approval_case
    warning = sanctions.propose_sanction(
        f.contract.agency,
        kind="warning",
        ground_code="serious_overrun",
        facts="逾期交付成果。",
        actor=r1,
        end_date=None,
        evidence=[("contract", str(f.contract.id), ""), ("approval_case", str(case.id), "")],
    )
    sanctions.decide_sanction(warning, actor=r2, end_date=None)
    db.session.commit()
    return f, warning


def _ledger(html: str) -> str:
    start = html.index('id="credit-inputs"')
    return html[start : html.index("</table>", start)]


def test_the_ledger_says_what_each_entry_records_without_codes_or_ids(db, client, rated):
    f, warning = rated
    contract, case = f.contract, f.f.req.approval_case
    html = client.get(f"/credit/agencies/{contract.agency_org_id}").get_data(as_text=True)
    ledger = _ledger(html)
    text = re.sub(r"<[^>]+>", " ", ledger)

    # no raw notes ("CF000001 serious_overrun", "ZJHT-… enterprise"), no enum values, no "#12"
    assert not re.search(r"CF\d{6} [a-z_]+", text)
    assert not re.search(
        r"\b[a-z]+_[a-z_]+\b", text
    )  # serious_overrun, approval_office, rating_enterprise
    assert f"{contract.contract_no} enterprise" not in text
    assert not re.search(r"#\d+", text)

    # what the records are, in words, and where they arose, by number with a link
    assert "Rating by the enterprise" in text and "Rating by the approval office" in text
    assert (
        f'Serious overrun of the committed service time (Sanction <a href="/sanctions/{warning.id}">'
        f"{warning.reference}</a>)"
    ) in ledger
    assert (
        f'Contract <a href="/contracts/certificate/{contract.contract_no}">{contract.contract_no}</a>'
        in ledger
    )
    assert f'Approval case <a href="/announcements/{f.f.req.id}">{case.case_number}</a>' in ledger
    assert (
        "Enterprise rating of the agency" in text
        and "Approval department rating of the result" in text
    )

    history = html[html.index('id="credit-history"') :]
    history = history[: history.index("</table>")]
    assert not re.search(r"#\d+", re.sub(r"<[^>]+>", " ", history))


def test_the_chinese_ledger_has_translated_labels(db, client, rated):
    f, warning = rated
    html = client.get(f"/credit/agencies/{f.contract.agency_org_id}?lang=zh_CN").get_data(
        as_text=True
    )
    text = re.sub(r"<[^>]+>", "", _ledger(html))
    assert "合同" in text and f.contract.contract_no in text
    assert f"严重超出承诺服务时限（惩戒措施 {warning.reference}）" in text
    assert not re.search(r"[a-z]{4,}_[a-z]+", text)


def _statements(db, client, url: str) -> int:
    from tests.conftest import count_statements

    db.session.expire_all()
    with count_statements(db) as seen:
        assert client.get(url).status_code == 200
    return len(seen)


def test_the_ledger_names_its_references_in_a_constant_number_of_statements(db, client, rated):
    """Each entry's contract and approval case are loaded with the page, not one lookup each
    (the page took 160 statements at a province's scale)."""
    from marketplace.credit.models import CreditInputKind
    from tests.credit.conftest import add
    from tests.factories.procurement import ApprovalCaseFactory

    f, _warning = rated
    agency = f.contract.agency
    url = f"/credit/agencies/{agency.id}"

    def more(n):
        for _ in range(n):
            case = ApprovalCaseFactory()
            add(agency, CreditInputKind.COMPLAINT_UPHELD, refs=[("approval_case", case.id, ""),
                                                                ("contract", f.contract.id, "")])
        db.session.commit()

    more(2)
    few = _statements(db, client, url)
    more(10)
    assert _statements(db, client, url) == few
