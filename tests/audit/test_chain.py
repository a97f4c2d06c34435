"""The audit chain detects an edited row, a deleted tail and a re-chained log."""

import json

import sqlalchemy as sa

from marketplace.audit.models import AuditEvent, AuditHead
from marketplace.audit.services import (
    create_checkpoint,
    event_hash,
    record_event,
    verify_chain,
)


def _events(db, n, start=0):
    for i in range(start, start + n):
        record_event("test.happened", ("thing", i), actor="tester", payload={"i": i, "note": "秘密载荷"})
    db.session.commit()


def test_a_clean_chain_verifies(db):
    _events(db, 20)
    create_checkpoint()
    db.session.commit()
    result = verify_chain()
    assert result.ok and result.events_checked == 20 and result.checkpoints_checked == 1


def test_edited_row_is_detected_and_named(db):
    _events(db, 10)
    db.session.execute(
        sa.update(AuditEvent).where(AuditEvent.seq == 4).values(payload=json.dumps({"i": 999}))
    )
    db.session.commit()
    result = verify_chain()
    assert not result.ok and result.first_bad_seq == 4


def test_deleted_tail_is_detected_against_a_checkpoint(db):
    _events(db, 10)
    create_checkpoint()
    db.session.commit()
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.seq > 7))
    db.session.execute(sa.update(AuditHead).values(seq=7))
    db.session.commit()
    result = verify_chain()
    assert not result.ok
    assert result.first_bad_seq == 8 and "removed" in result.problem


def test_rechained_log_is_detected_against_a_published_checkpoint(db):
    _events(db, 10)
    create_checkpoint()
    db.session.commit()
    published = [
        {"seq": 10, "head_hash": db.session.execute(sa.select(AuditEvent.hash).where(AuditEvent.seq == 10)).scalar(),
         "signature": db.session.execute(sa.text("SELECT signature FROM audit_checkpoints")).scalar()}
    ]
    # The attacker edits event 3 and recomputes every hash after it, so the links all match.
    rows = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    prev = rows[1].hash
    for ev in rows[2:]:
        payload = json.dumps({"i": 12345}) if ev.seq == 3 else ev.payload
        new = event_hash(seq=ev.seq, created_at=ev.created_at, actor_id=ev.actor_id,
                         actor_label=ev.actor_label, action=ev.action, object_type=ev.object_type,
                         object_id=ev.object_id, payload=payload, prev_hash=prev)
        db.session.execute(sa.update(AuditEvent).where(AuditEvent.seq == ev.seq).values(
            payload=payload, prev_hash=prev, hash=new))
        prev = new
    # ...deletes the checkpoint rows too, and moves the head row to the new last hash.
    db.session.execute(sa.text("DELETE FROM audit_checkpoints"))
    db.session.execute(sa.update(AuditHead).values(hash=prev))
    db.session.commit()
    assert verify_chain().ok  # the re-chained log is internally consistent...
    result = verify_chain(published)  # ...but not against what was published
    assert not result.ok and result.first_bad_seq == 10 and "re-chained" in result.problem


def test_forged_checkpoint_signature_is_detected(db):
    _events(db, 3)
    head = db.session.execute(sa.select(AuditEvent.hash).where(AuditEvent.seq == 3)).scalar()
    result = verify_chain([{"seq": 3, "head_hash": head, "signature": "AAAA"}])
    assert not result.ok and "signature" in result.problem


def test_cli_verify_names_the_first_bad_event(app, db):
    _events(db, 5)
    db.session.execute(sa.update(AuditEvent).where(AuditEvent.seq == 2).values(action="forged"))
    db.session.commit()
    result = app.test_cli_runner().invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert "event 2" in result.output


def test_checkpoint_job_signs_when_due(app, db):
    from marketplace.jobs.runner import run_once

    app.config["AUDIT_CHECKPOINT_EVERY"] = 5
    _events(db, 4)
    assert run_once(only="audit.checkpoint") == {"audit.checkpoint": 0}
    _events(db, 1, start=4)
    assert run_once(only="audit.checkpoint") == {"audit.checkpoint": 1}
    app.config["AUDIT_CHECKPOINT_EVERY"] = 100


def test_public_pages_show_events_and_checkpoints_without_payloads(client, db, english):
    for i in range(3):
        record_event("calendar.year_imported", ("calendar_year", 2030 + i), actor="tester",
                     payload={"note": "秘密载荷"})
    db.session.commit()
    create_checkpoint()
    db.session.commit()
    html = client.get("/audit/").get_data(as_text=True)
    assert "Working-day calendar year imported" in html and "秘密载荷" not in html
    assert "calendar.year_imported" not in html and "calendar_year" not in html
    data = client.get("/audit/checkpoints.json").get_json()
    assert data["checkpoints"][0]["seq"] == 3 and "BEGIN PUBLIC KEY" in data["public_key"]
    assert client.get("/audit/checkpoints").status_code == 200


def test_registration_writes_an_event_in_the_same_transaction(db):
    from marketplace.accounts.models import OrgKind
    from marketplace.accounts.services import register_organisation
    from tests.factories import make_uscc

    register_organisation(kind=OrgKind.AGENCY, name="A", uscc=make_uscc(), legal_representative="B",
                          region_code="530102", contact_phone="1", user_name="C",
                          email="c@example.com", password="Secret-pass-1")
    db.session.rollback()  # the change is undone, and so is its event
    assert db.session.execute(sa.select(sa.func.count(AuditEvent.seq))).scalar() == 0
