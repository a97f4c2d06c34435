"""Agency profile: qualifications with scans, practitioners, regions, the independence declaration."""

from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.agencies import services
from marketplace.agencies.models import (
    IndependenceDeclaration,
    Practitioner,
    Qualification,
    ServiceRegion,
)
from marketplace.audit.models import AuditEvent
from marketplace.core import uploads
from marketplace.core.errors import DomainError, PermissionDenied
from marketplace.core.uploads import StoredFile
from tests.agencies.conftest import JPEG, PDF, PNG, upload
from tests.factories import QualificationTypeFactory


def files_on_disk(app) -> set[str]:
    folder = Path(app.config["UPLOAD_FOLDER"])
    return {p.name for p in folder.glob("*")} if folder.exists() else set()


def add(staff, qtype, **overrides):
    values = {
        "qualification_type_id": qtype.id, "certificate_no": "乙测资字53100001", "level": "乙级",
        "issuer": "云南省自然资源厅", "valid_from": date(2024, 1, 1), "valid_to": date(2028, 12, 31),
        "scan": None, "actor": staff,
    }
    values.update(overrides)
    return services.add_qualification(staff.organisation, **values)


def test_qualification_with_a_scan_is_stored_under_a_generated_name(app, db, staff, qtype):
    q = add(staff, qtype, scan=upload(PNG, "营业执照.pdf")[0])
    db.session.commit()
    stored = q.scan
    # The type comes from the bytes, not from the name the user gave.
    assert stored.content_type == "image/png" and stored.storage_name.endswith(".png")
    assert "营业执照" not in stored.storage_name and len(stored.storage_name) == 36
    assert (Path(app.config["UPLOAD_FOLDER"]) / stored.storage_name).read_bytes() == PNG
    event = db.session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "agency.qualification_added")
    ).one()
    assert stored.sha256 in event.payload


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"valid_from": date(2026, 5, 1), "valid_to": date(2026, 4, 30)}, "valid_to"),
        ({"valid_from": None}, "valid_from"),
        ({"valid_to": date(9999, 1, 1)}, "valid_to"),
        ({"certificate_no": "x" * 101}, "certificate_no"),
        ({"certificate_no": ""}, "certificate_no"),
        ({"issuer": "省厅\x00"}, "issuer"),
        ({"level": "甲" * 51}, "level"),
        ({"qualification_type_id": 2**40}, "qualification_type_id"),
        ({"scan": b"MZ\x90\x00 this is a program renamed .pdf"}, "scan"),
        ({"scan": b""}, "scan"),
    ],
)
def test_bad_qualifications_are_refused_and_change_nothing(app, db, staff, qtype, overrides, field):
    before_files = files_on_disk(app)
    values = dict(overrides)
    if isinstance(values.get("scan"), bytes):
        values["scan"] = upload(values["scan"], "scan.pdf")[0]
    with pytest.raises(DomainError) as exc:
        add(staff, qtype, **({"scan": upload(PDF)[0]} | values))
    db.session.rollback()
    assert exc.value.field == field
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Qualification)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 0
    assert files_on_disk(app) == before_files


def test_size_limit_and_quota(app, db, staff, qtype, monkeypatch):
    db.session.commit()
    monkeypatch.setitem(app.config, "UPLOAD_MAX_BYTES", 1000)
    monkeypatch.setitem(app.config, "UPLOAD_ORG_QUOTA_BYTES", 1500)
    big = PDF + b"0" * 1000
    with pytest.raises(DomainError) as exc:
        add(staff, qtype, scan=upload(big)[0])
    assert exc.value.field == "scan"
    db.session.rollback()
    add(staff, qtype, scan=upload(PDF + b"1" * 800)[0], certificate_no="A-1")
    db.session.commit()
    with pytest.raises(DomainError) as exc:
        add(staff, qtype, scan=upload(PDF + b"2" * 800)[0], certificate_no="A-2")
    assert exc.value.field == "scan"
    db.session.rollback()
    # Another agency has its own quota.
    from tests.factories import AgencyFactory, UserFactory

    other = UserFactory(organisation=AgencyFactory(), role=Role.AGENCY_STAFF)
    add(other, qtype, scan=upload(JPEG)[0], certificate_no="B-1")


def test_bytes_written_by_a_rolled_back_transaction_are_removed(app, db, staff):
    stored = uploads.store_upload(PDF, owner_org_id=staff.organisation_id, purpose="test")
    path = uploads.stored_path(stored)
    assert path.exists()
    db.session.rollback()
    assert not path.exists()


def test_replacing_and_removing_a_scan_removes_the_old_bytes_after_commit(app, db, staff, qtype):
    q = add(staff, qtype, scan=upload(PDF)[0])
    db.session.commit()
    old_path = uploads.stored_path(q.scan)
    services.update_qualification(
        q, qualification_type_id=qtype.id, certificate_no=q.certificate_no, level="甲级",
        issuer=q.issuer, valid_from=q.valid_from, valid_to=date(2029, 12, 31),
        scan=upload(JPEG)[0], actor=staff,
    )
    assert old_path.exists()  # still there until the change is committed
    db.session.commit()
    assert not old_path.exists()
    assert q.scan.content_type == "image/jpeg" and q.level == "甲级"
    new_path = uploads.stored_path(q.scan)
    services.remove_qualification(q, actor=staff)
    db.session.commit()
    assert not new_path.exists()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(StoredFile)) == 0


def test_scans_are_served_only_to_those_allowed(app, db, client, login_as, staff, qtype, make_user):
    q = add(staff, qtype, scan=upload(PDF)[0])
    db.session.commit()
    url = f"/qualifications/{q.id}/scan"
    assert client.get(url).status_code == 302  # anonymous: sign in first
    for role, expected in [
        (Role.AGENCY_STAFF, 403), (Role.ENTERPRISE_STAFF, 403), (Role.APPROVAL_OFFICER, 403),
        (Role.REGULATOR, 200), (Role.ADMIN, 200),
    ]:
        login_as(make_user(role))
        db.session.commit()
        with client.get(url) as resp:
            assert resp.status_code == expected, role
    login_as(staff)
    with client.get(url) as resp:
        assert resp.status_code == 200
        assert resp.mimetype == "application/pdf" and resp.data == PDF
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert "no-store" in resp.headers["Cache-Control"]


def test_practitioners(db, staff, make_user):
    person = services.add_practitioner(
        staff.organisation, name="李卫东", certificate_no="CH-2023-001", specialty="注册测绘师", actor=staff
    )
    with pytest.raises(DomainError) as exc:
        services.add_practitioner(staff.organisation, name="李卫东", certificate_no="CH-2023-001", actor=staff)
    assert exc.value.field == "certificate_no"
    with pytest.raises(PermissionDenied):
        services.remove_practitioner(person, actor=make_user(Role.AGENCY_STAFF))
    services.remove_practitioner(person, actor=staff)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Practitioner)) == 0
    actions = db.session.scalars(
        sa.select(AuditEvent.action).where(AuditEvent.action.like("agency.%")).order_by(AuditEvent.seq)
    ).all()
    assert actions == ["agency.practitioner_added", "agency.practitioner_removed"]


def test_regions(db, staff):
    assert services.parse_region_codes("530100, 530400；530100\n110000") == ["530100", "530400", "110000"]
    with pytest.raises(DomainError):
        services.parse_region_codes("530100 99999")
    with pytest.raises(DomainError):
        services.parse_region_codes(" ".join(f"53{i:04d}" for i in range(100, 160)))
    with pytest.raises(DomainError) as exc:
        services.update_profile(staff.organisation, introduction="", website="", serves_nationwide=False,
                                region_codes=[], actor=staff)
    assert exc.value.field == "region_codes"
    with pytest.raises(DomainError) as exc:
        services.update_profile(staff.organisation, introduction="", website="javascript:alert(1)",
                                serves_nationwide=True, region_codes=[], actor=staff)
    assert exc.value.field == "website"
    services.update_profile(staff.organisation, introduction="介绍", website="https://example.cn",
                            serves_nationwide=False, region_codes=["530100", "510100"], actor=staff)
    assert services.service_region_codes(staff.organisation_id) == ["510100", "530100"]
    services.update_profile(staff.organisation, introduction="介绍", website="",
                            serves_nationwide=True, region_codes=["530100"], actor=staff)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ServiceRegion)) == 0
    assert services.get_profile(staff.organisation).serves_nationwide


def test_declaration_is_kept_with_signer_and_time(db, staff, make_user):
    with pytest.raises(PermissionDenied):
        services.sign_declaration(staff.organisation, signer_name="x", signer_position="y",
                                  actor=make_user(Role.ADMIN))
    first = services.sign_declaration(staff.organisation, signer_name="张三", signer_position="法定代表人",
                                      decoupling_note="原隶属市测绘院，2016年脱钩改制。", actor=staff)
    db.session.commit()
    second = services.sign_declaration(staff.organisation, signer_name="张三", signer_position="法定代表人",
                                       actor=staff)
    db.session.commit()
    assert services.current_declaration(staff.organisation_id).id == second.id
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IndependenceDeclaration)) == 2
    assert first.signed_by_id == staff.id and first.signed_at is not None
    assert staff.organisation.name in first.statement
    with pytest.raises(DomainError) as exc:
        services.sign_declaration(staff.organisation, signer_name="", signer_position="法定代表人", actor=staff)
    assert exc.value.field == "signer_name"


def test_expiring_qualifications_cli(app, db, staff, qtype):
    from marketplace.agencies.eligibility import today

    add(staff, qtype, valid_from=today() - timedelta(days=10), valid_to=today() + timedelta(days=5),
        certificate_no="SOON-1")
    add(staff, qtype, certificate_no="LATER-1", valid_to=today() + timedelta(days=400))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["agencies", "expiring", "--days", "30"])
    assert result.exit_code == 0, result.output
    assert "SOON-1" in result.output and "LATER-1" not in result.output


def test_inactive_qualification_type_cannot_be_added(db, staff):
    old = QualificationTypeFactory(is_active=False)
    with pytest.raises(DomainError) as exc:
        add(staff, old)
    assert exc.value.field == "qualification_type_id"
