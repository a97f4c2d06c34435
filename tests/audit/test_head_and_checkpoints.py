"""Verify compares the log with the chain head, and public facts are signed at once (issue 16 item 20)."""

import json

import sqlalchemy as sa

from marketplace.audit.models import AuditCheckpoint, AuditEvent
from marketplace.audit.services import event_hash, record_event, verify_chain


def _events(db, n):
    for i in range(n):
        record_event(
            "calendar.year_imported", ("calendar_year", 2030 + i), actor="tester", payload={"i": i}
        )
    db.session.commit()


def _verify(app):
    return app.test_cli_runner().invoke(args=["audit", "verify"])


def test_truncating_the_last_events_is_detected_without_any_checkpoint(app, db):
    _events(db, 12)
    db.session.execute(sa.delete(AuditEvent).where(AuditEvent.seq > 7))
    db.session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert "BROKEN at event 8" in result.output and "events were removed" in result.output


def test_rechaining_after_an_edit_is_detected_without_any_checkpoint(app, db):
    _events(db, 10)
    rows = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq)).scalars().all()
    prev = rows[3].hash
    for ev in rows[4:]:
        payload = json.dumps({"i": 999}) if ev.seq == 5 else ev.payload
        new = event_hash(
            seq=ev.seq,
            created_at=ev.created_at,
            actor_id=ev.actor_id,
            actor_label=ev.actor_label,
            action=ev.action,
            object_type=ev.object_type,
            object_id=ev.object_id,
            payload=payload,
            prev_hash=prev,
        )
        db.session.execute(
            sa.update(AuditEvent)
            .where(AuditEvent.seq == ev.seq)
            .values(payload=payload, prev_hash=prev, hash=new)
        )
        prev = new
    db.session.commit()
    result = _verify(app)
    assert result.exit_code == 1
    assert "re-chained" in result.output


def test_verify_says_how_many_events_no_checkpoint_covers(app, db):
    _events(db, 6)
    result = _verify(app)
    assert result.exit_code == 0
    assert "OK: 6 events, 0 checkpoints verified." in result.output
    assert "the last 6 events are covered by no signed checkpoint" in result.output
    app.test_cli_runner().invoke(args=["audit", "checkpoint"])
    result = _verify(app)
    assert "OK: 6 events, 1 checkpoints verified." in result.output
    assert "Every event is covered by a signed checkpoint." in result.output


def test_a_public_fact_signs_a_checkpoint_in_its_own_transaction(db):
    _events(db, 3)
    record_event("sanction.exit_started", ("sanction_cases", 1), actor="system")
    db.session.commit()
    cps = db.session.execute(sa.select(AuditCheckpoint.seq)).scalars().all()
    assert cps == [4]
    # Idempotent: another signature at the same head adds nothing.
    from marketplace.audit.services import create_checkpoint

    assert create_checkpoint() is None
    assert verify_chain().ok and verify_chain().uncovered == 0


def test_seed_demo_ends_with_a_checkpoint_covering_every_event(app, db):
    from marketplace.demo import load_demo

    load_demo("demo-Passw0rd")
    db.session.commit()
    result = verify_chain()
    assert result.ok and result.checkpoints_checked >= 1
    assert result.uncovered == 0
    last = db.session.execute(sa.select(sa.func.max(AuditEvent.seq))).scalar()
    assert db.session.execute(sa.select(sa.func.max(AuditCheckpoint.seq))).scalar() == last
    # Every event type and every kind of subject the demo writes has a label.
    from marketplace.audit.registry import SUBJECTS, registry

    seen = db.session.execute(sa.select(AuditEvent.action, AuditEvent.object_type).distinct()).all()
    assert {a for a, _t in seen} - set(registry()) == set()
    assert {t for _a, t in seen} - set(SUBJECTS) == set()
