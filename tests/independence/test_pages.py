"""The regulators' desk and the agency's page, through the browser."""

from __future__ import annotations

import io
import itertools

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.audit.models import AuditEvent
from marketplace.core.errors import InvalidTransition
from marketplace.independence import services
from marketplace.independence.models import FlagStatus, IndependenceFlag
from marketplace.independence.states import FLAG_MACHINE, TRANSITIONS
from tests.factories import AgencyFactory, UserFactory
from tests.independence.conftest import EVIDENCE

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_regulator_flags_with_a_file_and_the_agency_responds(world, db, browser, login_as, client):
    s = world.s
    db.session.commit()
    login_as(world.r1)
    page = browser.get("/regulator/independence/new?q=" + s.agencies[0].name[:6]).get_data(as_text=True)
    assert s.agencies[0].name in page
    url = f"/regulator/independence/new?agency={s.agencies[0].id}"
    resp = browser.post("/regulator/independence/new", {
        "agency_id": s.agencies[0].id, "department_id": 0, "link_kind": "staff", "evidence_text": EVIDENCE,
    }, form_url=url)
    assert "Choose the department concerned." in resp.get_data(as_text=True)
    assert db.session.execute(sa.select(sa.func.count(IndependenceFlag.id))).scalar() == 0
    resp = browser.post("/regulator/independence/new", {
        "agency_id": s.agencies[0].id, "department_id": s.case.department_id, "link_kind": "staff",
        "evidence_text": EVIDENCE, "files": (io.BytesIO(PDF), "股东名册.pdf"),
    }, form_url=url, content_type="multipart/form-data", follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "The flag is on record" in page and s.case.department.name in page and "股东名册.pdf" in page
    flag = db.session.execute(sa.select(IndependenceFlag)).scalar_one()
    assert len(flag.files) == 1

    login_as(s.staff[0])
    page = client.get("/agency/independence").get_data(as_text=True)
    assert flag.reference in page and s.case.department.name in page
    page = client.get(f"/agency/independence/{flag.id}").get_data(as_text=True)
    assert EVIDENCE in page
    download = client.get(f"/agency/independence/{flag.id}/files/{flag.files[0].stored_file_id}")
    assert download.status_code == 200 and download.data == PDF
    download.close()
    resp = browser.post(f"/agency/independence/{flag.id}/respond", {"text": "该人员已于2025年离职。"},
                        follow_redirects=True)
    assert "Your response is on record" in resp.get_data(as_text=True)

    login_as(s.staff[1])  # another agency sees nothing of it
    assert client.get(f"/agency/independence/{flag.id}").status_code == 404
    assert client.get(f"/agency/independence/{flag.id}/files/{flag.files[0].stored_file_id}").status_code == 404

    login_as(world.r2)
    page = client.get(f"/regulator/independence/{flag.id}").get_data(as_text=True)
    assert "该人员已于2025年离职。" in page
    resp = browser.post(f"/regulator/independence/{flag.id}/lift", {"lift-reason": ""})
    assert resp.status_code == 200 and flag.status is FlagStatus.ACTIVE
    resp = browser.post(f"/regulator/independence/{flag.id}/lift", {"lift-reason": "经核实已离职。"},
                        form_url=f"/regulator/independence/{flag.id}", follow_redirects=True)
    assert "The flag is lifted" in resp.get_data(as_text=True)
    db.session.refresh(flag)
    assert flag.status is FlagStatus.LIFTED


def test_regulator_opens_a_sanction_proposal_from_the_page(world, db, browser, login_as, client):
    flag = world.flag()
    db.session.commit()
    login_as(world.r1)
    url = f"/regulator/independence/{flag.id}"
    resp = browser.post(f"{url}/sanction", {"sanction-kind": "suspension", "sanction-facts": EVIDENCE},
                        form_url=url)
    assert "A suspension needs an end date." in resp.get_data(as_text=True)
    resp = browser.post(f"{url}/sanction", {"sanction-kind": "warning", "sanction-facts": EVIDENCE},
                        form_url=url, follow_redirects=True)
    page = resp.get_data(as_text=True)
    assert "The proposal is on record" in page and flag.reference in page
    assert "False declaration of independence" in page


def test_only_regulators_open_the_desk(world, db, client, login_as):
    flag = world.flag()
    db.session.commit()
    login_as(world.s.staff[0])
    assert client.get("/regulator/independence").status_code == 403
    assert client.get(f"/regulator/independence/{flag.id}").status_code == 403
    login_as(UserFactory(organisation=AgencyFactory(), role=Role.AGENCY_STAFF))
    assert "No regulator has flagged your agency." in client.get("/agency/independence").get_data(as_text=True)


@pytest.mark.parametrize(("src", "dst"), list(itertools.product(list(TRANSITIONS), repeat=2)),
                         ids=lambda s: s.value)
def test_every_transition_pair(world, db, src, dst):
    flag = world.flag()
    flag.lifted_by_id, flag.lifted_at = world.r1.id, flag.raised_at
    if src is FlagStatus.LIFTED:
        FLAG_MACHINE.transition(flag, FlagStatus.LIFTED, actor="test")
    before = db.session.execute(sa.select(sa.func.count(AuditEvent.seq))).scalar()
    if dst in TRANSITIONS[src]:
        FLAG_MACHINE.transition(flag, dst, actor="test")
        db.session.refresh(flag)
        assert flag.status is dst
        assert db.session.execute(sa.select(sa.func.count(AuditEvent.seq))).scalar() == before + 1
    else:
        with pytest.raises(InvalidTransition):
            FLAG_MACHINE.transition(flag, dst, actor="test")
        assert flag.status is src


def test_the_declaration_page_warns_about_an_active_flag(world, db, client, login_as):
    s = world.s
    flag = world.flag()
    db.session.commit()
    login_as(s.staff[0])
    page = client.get("/agency/declaration").get_data(as_text=True)
    assert flag.reference in page and f"tied to {s.case.department.name}" in page
    login_as(s.staff[1])
    assert flag.reference not in client.get("/agency/declaration").get_data(as_text=True)


def test_the_public_agency_page_shows_an_active_finding_until_it_is_lifted(world, db, client):
    s = world.s
    agency = s.agencies[0]
    assert 'id="independence-findings"' not in client.get(f"/agencies/{agency.id}").get_data(as_text=True)
    flag = world.flag()
    db.session.commit()
    page = client.get(f"/agencies/{agency.id}").get_data(as_text=True)
    assert 'id="independence-findings"' in page and flag.reference in page
    assert f"tied to {s.case.department.name}" in page
    assert EVIDENCE not in page  # the finding is public, the regulator's evidence is not
    other = client.get(f"/agencies/{s.agencies[1].id}").get_data(as_text=True)
    assert 'id="independence-findings"' not in other
    services.lift_flag(flag, reason="已完成脱钩改制。", actor=world.r2)
    db.session.commit()
    assert flag.reference not in client.get(f"/agencies/{agency.id}").get_data(as_text=True)
