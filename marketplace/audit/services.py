"""Writing and verifying the audit chain."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from marketplace.audit.models import GENESIS_HASH, AuditCheckpoint, AuditEvent, AuditHead
from marketplace.audit.registry import PUBLIC_FACTS, public_condition
from marketplace.core import keys
from marketplace.core.db import utcnow
from marketplace.extensions import db


def canonical_json(data) -> str:
    """Deterministic JSON: sorted keys, no spaces, UTF-8 kept readable."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def event_hash(
    *,
    seq: int,
    created_at: datetime,
    actor_id: int | None,
    actor_label: str,
    action: str,
    object_type: str,
    object_id: str,
    payload: str,
    prev_hash: str,
) -> str:
    """SHA-256 over the canonical form of an event and the previous hash."""
    body = canonical_json(
        {
            "seq": seq,
            "created_at": created_at.isoformat(timespec="microseconds"),
            "actor_id": actor_id,
            "actor_label": actor_label,
            "action": action,
            "object_type": object_type,
            "object_id": object_id,
            "payload": payload,
            "prev_hash": prev_hash,
        }
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _describe_actor(actor) -> tuple[int | None, str]:
    if actor is None:
        return None, "system"
    if isinstance(actor, str):
        return None, actor
    return getattr(actor, "id", None), getattr(actor, "audit_label", None) or repr(actor)


def _object_ref(obj) -> tuple[str, str]:
    if isinstance(obj, tuple):
        return str(obj[0]), str(obj[1])
    return getattr(obj, "__tablename__", type(obj).__name__), str(getattr(obj, "id", ""))


def _lock_head() -> tuple[int, str]:
    """Advance the head row by one and return (new seq, previous hash).

    The UPDATE takes a row lock on PostgreSQL (a write lock on SQLite) held until commit,
    so concurrent transactions append one after the other instead of forking the chain.
    """
    row = db.session.execute(
        sa.update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + 1)
        .returning(AuditHead.seq, AuditHead.hash)
        .execution_options(synchronize_session=False)
    ).first()
    if row is None:
        db.session.add(AuditHead(id=1, seq=1, hash=GENESIS_HASH))
        db.session.flush()
        return 1, GENESIS_HASH
    return row.seq, row.hash


def record_event(action: str, obj, *, actor=None, payload: dict | None = None) -> AuditEvent:
    """Append one event to the chain in the current transaction (flushes, never commits)."""
    actor_id, actor_label = _describe_actor(actor)
    object_type, object_id = _object_ref(obj)
    db.session.flush()
    seq, prev_hash = _lock_head()
    created_at = utcnow()
    body = canonical_json(payload or {})
    digest = event_hash(
        seq=seq,
        created_at=created_at,
        actor_id=actor_id,
        actor_label=actor_label,
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload=body,
        prev_hash=prev_hash,
    )
    event = AuditEvent(
        seq=seq,
        created_at=created_at,
        actor_id=actor_id,
        actor_label=actor_label[:200],
        action=action,
        object_type=object_type,
        object_id=object_id,
        payload=body,
        prev_hash=prev_hash,
        hash=digest,
    )
    db.session.add(event)
    db.session.execute(
        sa.update(AuditHead)
        .where(AuditHead.id == 1)
        .values(hash=digest)
        .execution_options(synchronize_session=False)
    )
    db.session.flush()
    if action in PUBLIC_FACTS:
        create_checkpoint()
    return event


def checkpoint_message(seq: int, head_hash: str) -> bytes:
    """The bytes a checkpoint signature covers."""
    return f"zhongjie-market audit checkpoint\nseq={seq}\nhash={head_hash}\n".encode()


def create_checkpoint() -> AuditCheckpoint | None:
    """Sign the current chain head unless it is already checkpointed."""
    head = db.session.execute(sa.select(AuditEvent).order_by(AuditEvent.seq.desc()).limit(1)).scalar()
    if head is None:
        return None
    exists = db.session.execute(
        sa.select(AuditCheckpoint.id).where(AuditCheckpoint.seq == head.seq)
    ).first()
    if exists:
        return None
    cp = AuditCheckpoint(
        seq=head.seq,
        head_hash=head.hash,
        key_id=keys.key_id(),
        signature=keys.sign(checkpoint_message(head.seq, head.hash)),
    )
    db.session.add(cp)
    db.session.flush()
    return cp


def checkpoint_due() -> bool:
    """Whether enough events have accumulated since the last checkpoint."""
    from flask import current_app

    last = db.session.execute(sa.select(sa.func.max(AuditCheckpoint.seq))).scalar() or 0
    head = db.session.execute(sa.select(sa.func.max(AuditEvent.seq))).scalar() or 0
    return head - last >= current_app.config["AUDIT_CHECKPOINT_EVERY"]


@dataclass
class VerifyResult:
    """Outcome of a chain verification."""

    ok: bool
    events_checked: int
    checkpoints_checked: int
    first_bad_seq: int | None = None
    problem: str | None = None
    uncovered: int = 0  # events after the last signed checkpoint: a truncation there goes unseen


def verify_chain(checkpoints: list[dict] | None = None, batch: int = 2000) -> VerifyResult:
    """Recompute every hash; check every signed checkpoint against the chain.

    ``checkpoints`` may be a list saved elsewhere (the published JSON), so that a log whose
    checkpoint rows were deleted too is still checked against what was published.
    """
    prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    by_seq: dict[int, str] = {}
    cp_rows = checkpoints
    if cp_rows is None:
        cp_rows = [
            {"seq": c.seq, "head_hash": c.head_hash, "signature": c.signature}
            for c in db.session.execute(sa.select(AuditCheckpoint).order_by(AuditCheckpoint.seq)).scalars()
        ]
    wanted = {int(c["seq"]) for c in cp_rows}
    last_seq = 0
    while True:
        rows = db.session.execute(
            sa.select(AuditEvent).where(AuditEvent.seq >= expected_seq).order_by(AuditEvent.seq).limit(batch)
        ).scalars().all()
        if not rows:
            break
        for ev in rows:
            if ev.seq != expected_seq:
                return VerifyResult(False, count, 0, expected_seq, f"event {expected_seq} is missing")
            if ev.prev_hash != prev:
                return VerifyResult(False, count, 0, ev.seq, "previous-hash link is broken")
            digest = event_hash(
                seq=ev.seq,
                created_at=ev.created_at,
                actor_id=ev.actor_id,
                actor_label=ev.actor_label,
                action=ev.action,
                object_type=ev.object_type,
                object_id=ev.object_id,
                payload=ev.payload,
                prev_hash=ev.prev_hash,
            )
            if digest != ev.hash:
                return VerifyResult(False, count, 0, ev.seq, "event content does not match its hash")
            if ev.seq in wanted:
                by_seq[ev.seq] = ev.hash
            prev = ev.hash
            expected_seq += 1
            last_seq = ev.seq
            count += 1
        db.session.expunge_all()
    checked = 0
    for cp in sorted(cp_rows, key=lambda c: int(c["seq"])):
        seq = int(cp["seq"])
        if not keys.verify(checkpoint_message(seq, cp["head_hash"]), cp["signature"]):
            return VerifyResult(False, count, checked, seq, "checkpoint signature is invalid")
        if seq > last_seq:
            return VerifyResult(
                False, count, checked, last_seq + 1,
                f"the log ends at {last_seq} but checkpoint {seq} was published: events were removed",
            )
        if by_seq.get(seq) != cp["head_hash"]:
            return VerifyResult(
                False, count, checked, seq,
                "the chain differs from the published checkpoint: the log was re-chained",
            )
        checked += 1
    head = db.session.execute(sa.select(AuditHead.seq, AuditHead.hash).where(AuditHead.id == 1)).first()
    if head is None and count:
        return VerifyResult(False, count, checked, 1, "the chain head row is missing")
    if head is not None and head.seq != last_seq:
        return VerifyResult(
            False, count, checked, last_seq + 1,
            f"the log ends at {last_seq} but the chain head is at {head.seq}: events were removed",
        )
    if head is not None and head.hash != prev:
        return VerifyResult(
            False, count, checked, last_seq,
            "the last event's hash differs from the chain head: events were removed or the log was re-chained",
        )
    covered = max((int(c["seq"]) for c in cp_rows), default=0)
    return VerifyResult(True, count, checked, uncovered=last_seq - covered)


def events_for(object_type: str, object_id, *, public_at: datetime | None = None) -> list[AuditEvent]:
    """The trail of one object, oldest first; with ``public_at``, only what the public may see then."""
    query = sa.select(AuditEvent).where(
        AuditEvent.object_type == object_type, AuditEvent.object_id == str(object_id)
    )
    if public_at is not None:
        query = query.where(public_condition(public_at))
    return list(db.session.execute(query.order_by(AuditEvent.seq)).scalars())


def public_events_query(now: datetime | None = None) -> sa.Select:
    """The events the public may see at ``now`` (see ``marketplace.audit.registry``)."""
    return sa.select(AuditEvent).where(public_condition(now or utcnow()))
