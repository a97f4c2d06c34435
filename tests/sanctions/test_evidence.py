"""Evidence is resolved once, when the regulator enters it: a typed contract or approval case
number or id becomes a reference to the record, shown by its number with a link everywhere; an
unknown one is refused and changes nothing."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.credit.models import RefType
from marketplace.extensions import db as _db
from marketplace.sanctions import services
from marketplace.sanctions.models import SanctionCase, SanctionEvidence
from tests.conftest import Browser
from tests.delivery.conftest import make_in_force
from tests.factories import RegulatorFactory
from tests.sanctions.conftest import NOW

MIGRATION = next(
    Path(__file__).parents[2].glob("migrations/versions/0018_sanction_evidence_refs*.py")
)


@pytest.fixture
def signed(db):
    """A contract in force (so it has a public certificate) with its agency and two regulators."""
    f = make_in_force(db)
    dept = f.officer.organisation
    f.r1, f.r2 = RegulatorFactory(organisation=dept), RegulatorFactory(organisation=dept)
    db.session.commit()
    return f


def _propose_form(agency_id: int, rows) -> dict:
    data = {
        "agency_id": str(agency_id),
        "supersedes": "",
        "kind": "warning",
        "ground_code": "serious_overrun",
        "facts": "承诺10个工作日，实际逾期6个工作日。",
        "start_date": "",
        "end_date": "2026-12-31",
    }
    for i in range(3):
        kind, typed = rows[i] if i < len(rows) else ("", "")
        data.update(
            {
                f"evidence-{i}-object_type": kind,
                f"evidence-{i}-object_id": typed,
                f"evidence-{i}-note": "",
            }
        )
    return data


def _cell(html: str, element_id: str) -> str:
    start = html.index(f'id="{element_id}"')
    return html[start : html.index("</table>", start)]


@pytest.mark.parametrize("typed_as", ["id", "number"])
def test_the_blacklist_shows_the_contract_number_with_a_link_however_it_was_typed(
    db, client, login_as, signed, typed_as
):
    contract, case = signed.contract, signed.req.approval_case
    typed = {
        "id": (str(contract.id), str(case.id)),
        "number": (contract.contract_no, case.case_number),
    }[typed_as]
    login_as(signed.r1)
    url = f"/regulator/sanctions/new?agency={contract.agency_org_id}"
    resp = Browser(client).post(
        url,
        _propose_form(
            contract.agency_org_id, [("contract", typed[0]), ("approval_case", typed[1])]
        ),
        follow_redirects=True,
    )
    assert "The proposal is on record." in resp.get_data(as_text=True)
    proposed = db.session.execute(sa.select(SanctionCase)).scalar_one()
    services.decide_sanction(proposed, actor=signed.r2, end_date=proposed.end_date)
    db.session.commit()

    with client.session_transaction() as sess:
        sess.clear()
    html = client.get("/blacklist?kind=all").get_data(as_text=True)
    table = _cell(html, "blacklist")
    certificate = f"/contracts/certificate/{contract.contract_no}"
    assert f'<a href="{certificate}">{contract.contract_no}</a>' in table
    assert case.case_number in table
    assert f'<a href="/announcements/{signed.req.id}">{case.case_number}</a>' in table
    # no database id stands in for a number
    assert not re.search(rf"Contract {contract.id}\b", table)
    assert not re.search(rf"Approval case {case.id}\b", table)

    detail = client.get(f"/sanctions/{proposed.id}").get_data(as_text=True)
    assert f'<a href="{certificate}">{contract.contract_no}</a>' in detail
    api = client.get(f"/api/v1/blacklist/{proposed.id}").get_json()
    assert {(e["type"], e["number"]) for e in api["evidence"]} == {
        ("contract", contract.contract_no),
        ("approval_case", case.case_number),
    }
    credit = client.get(f"/credit/agencies/{contract.agency_org_id}").get_data(as_text=True)
    assert f'<a href="{certificate}">{contract.contract_no}</a>' in credit

    # stored once, as the record itself
    rows = {e.object_type: e for e in db.session.execute(sa.select(SanctionEvidence)).scalars()}
    assert rows[RefType.CONTRACT].contract_id == contract.id
    assert rows[RefType.APPROVAL_CASE].approval_case_id == case.id
    assert rows[RefType.CONTRACT].number == contract.contract_no


@pytest.mark.parametrize(
    ("kind", "typed", "message"),
    [
        (
            "contract",
            "ZJHT-2099-999999-1",
            "No Contract has the number or id “ZJHT-2099-999999-1”.",
        ),
        ("approval_case", "987654", "No Approval case has the number or id “987654”."),
        # digits for str.isdigit() that int() refuses
        ("contract", "²³", "No Contract has the number or id “²³”."),
    ],
)
def test_an_unknown_number_is_refused_and_nothing_is_recorded(
    db, client, login_as, signed, kind, typed, message
):
    login_as(signed.r1)
    agency_id = signed.contract.agency_org_id
    resp = Browser(client).post(
        f"/regulator/sanctions/new?agency={agency_id}",
        _propose_form(agency_id, [(kind, typed)]),
        follow_redirects=True,
    )
    html = resp.get_data(as_text=True)
    assert resp.status_code < 500
    assert message in html
    assert "The proposal is on record." not in html
    assert db.session.execute(sa.select(sa.func.count(SanctionCase.id))).scalar_one() == 0
    assert db.session.execute(sa.select(sa.func.count(SanctionEvidence.id))).scalar_one() == 0


def test_another_agencys_contract_is_refused(db, signed):
    from tests.factories import AgencyFactory

    other = AgencyFactory()
    with pytest.raises(services.DomainError) as info:
        services.propose_sanction(
            other,
            kind="warning",
            ground_code="serious_overrun",
            facts="逾期。",
            end_date=NOW.date().replace(month=12),
            actor=signed.r1,
            now=NOW,
            evidence=[("contract", signed.contract.contract_no, "")],
        )
    assert "is not a contract of this agency" in str(info.value.message)


def test_the_migration_resolves_typed_ids_and_numbers(db, signed):
    spec = importlib.util.spec_from_file_location("evidence_migration", MIGRATION)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    contract, case = signed.contract, signed.req.approval_case
    conn = _db.session.connection()
    assert migration._resolve(conn, "contract", str(contract.id)) == (
        contract.id,
        contract.contract_no,
    )
    assert migration._resolve(conn, "contract", contract.contract_no) == (
        contract.id,
        contract.contract_no,
    )
    assert migration._resolve(conn, "approval_case", case.case_number) == (
        case.id,
        case.case_number,
    )
    assert migration._resolve(conn, "approval_case", str(case.id)) == (case.id, case.case_number)
    assert migration._resolve(conn, "purchase_request", signed.req.reference) == (
        signed.req.id,
        signed.req.reference,
    )
    assert migration._resolve(conn, "contract", "HT-UNKNOWN") is None
    assert migration._resolve(conn, "contract", "99999999999") is None


def test_a_case_without_a_public_announcement_links_for_those_who_may_see_it(
    db, client, login_as, signed
):
    from tests.factories.procurement import ApprovalCaseFactory

    quiet = ApprovalCaseFactory(case_number="SP2026QUIET01")
    proposed = services.propose_sanction(
        signed.contract.agency,
        kind="warning",
        ground_code="serious_overrun",
        facts="逾期。",
        end_date=None,
        actor=signed.r1,
        evidence=[("approval_case", str(quiet.id), "")],
    )
    services.decide_sanction(proposed, actor=signed.r2, end_date=None)
    db.session.commit()
    public = client.get(f"/sanctions/{proposed.id}").get_data(as_text=True)
    assert (
        "Approval case SP2026QUIET01" in public and f"/procurement/cases/{quiet.id}" not in public
    )
    login_as(signed.r1)
    desk = client.get(f"/regulator/sanctions/{proposed.id}").get_data(as_text=True)
    assert f'Approval case <a href="/procurement/cases/{quiet.id}">SP2026QUIET01</a>' in desk
