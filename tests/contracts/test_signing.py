"""Signature records: the platform's Ed25519 signature verifies, and any changed field fails."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from marketplace.contracts.documents.signing import (
    PURPOSE,
    sign_record,
    signature_message,
    verify_record,
)

RECORD = {
    "contract_id": 42,
    "version": 2,
    "sha256_hex": "7401dfbf4272725dcd4280af182e17b1250b1830a531b86b7e0d91feb82228fe",
    "signer_user_id": 7,
    "signer_name": "张华",
    "signed_at_iso": "2025-03-04T10:15:30.123456+08:00",
}


def test_a_signed_record_verifies(ctx):
    signature = sign_record(**RECORD, signer_position="总经理")
    assert len(base64.b64decode(signature)) == 64
    assert verify_record(**RECORD, signature_b64=signature, signer_position="总经理")


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("contract_id", 43),
        ("version", 1),
        ("sha256_hex", "8401dfbf4272725dcd4280af182e17b1250b1830a531b86b7e0d91feb82228fe"),
        ("signer_user_id", 8),
        ("signer_name", "张花"),
        ("signed_at_iso", "2025-03-04T10:15:30.123457+08:00"),
        ("signer_position", "副总经理"),
    ],
)
def test_any_changed_field_fails(ctx, field, value):
    signature = sign_record(**RECORD, signer_position="总经理")
    changed = {**RECORD, "signer_position": "总经理", field: value}
    assert not verify_record(**changed, signature_b64=signature)


def test_a_changed_or_foreign_signature_fails(ctx):
    signature = sign_record(**RECORD)
    raw = bytearray(base64.b64decode(signature))
    raw[0] ^= 1
    assert not verify_record(**RECORD, signature_b64=base64.b64encode(raw).decode())
    assert not verify_record(**RECORD, signature_b64="not base64 at all!")
    assert not verify_record(**RECORD, signature_b64="")
    other = Ed25519PrivateKey.generate().public_key()
    assert not verify_record(**RECORD, signature_b64=signature, public_key=other)


def test_the_same_instant_in_another_zone_is_the_same_message():
    in_utc = datetime(2025, 3, 4, 2, 15, 30, 123456, tzinfo=UTC)
    as_beijing = in_utc.astimezone(timezone(timedelta(hours=8))).isoformat()
    assert signature_message(**{**RECORD, "signed_at_iso": in_utc}) == signature_message(
        **{**RECORD, "signed_at_iso": as_beijing}
    )


def test_the_message_is_canonical_json_with_a_purpose():
    message = signature_message(**RECORD)
    body = json.loads(message)
    assert body["purpose"] == PURPOSE
    assert body["signed_at"] == "2025-03-04T02:15:30.123456+00:00"
    assert message == json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("sha256_hex", RECORD["sha256_hex"].upper()),
        ("sha256_hex", "abc"),
        ("contract_id", 0),
        ("contract_id", "42"),
        ("version", True),
        ("signer_name", "  "),
        ("signed_at_iso", "2025-03-04T10:15:30"),  # no timezone
        ("signed_at_iso", "yesterday"),
    ],
)
def test_malformed_fields_are_refused_and_never_verify(ctx, field, value):
    bad = {**RECORD, field: value}
    with pytest.raises(ValueError):
        signature_message(**bad)
    assert not verify_record(**bad, signature_b64=sign_record(**RECORD))
