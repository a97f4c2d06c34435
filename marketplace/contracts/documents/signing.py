"""Signature records: the platform's Ed25519 signature over who signed which contract hash, when.

The signed message is canonical JSON (sorted keys, no spaces, UTF-8) with a purpose tag, so a
signature made for a contract can never be replayed as an audit checkpoint or anything else,
and every field is unambiguous (no separator can be smuggled into a name).
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from marketplace.core import keys

PURPOSE = "zhongjie-market/contract-signature/v1"
_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


def canonical_time(value: str | datetime) -> str:
    """An aware datetime (or ISO string) as UTC ISO 8601 with microseconds.

    Raises:
        ValueError: not ISO 8601, or without a timezone.
    """
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValueError("signed_at must be a timezone-aware datetime")
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def signature_message(
    contract_id: int,
    version: int,
    sha256_hex: str,
    signer_user_id: int,
    signer_name: str,
    signed_at_iso: str | datetime,
    *,
    signer_position: str = "",
) -> bytes:
    """The exact bytes the platform signs for one party's signature of one contract version.

    Names are NFC-normalised and the time is converted to UTC, so equal values always give
    equal bytes.

    Raises:
        ValueError: a field has the wrong type or form (the hash must be 64 lower-case hex).
    """
    for label, number in (("contract_id", contract_id), ("version", version),
                          ("signer_user_id", signer_user_id)):
        if not isinstance(number, int) or isinstance(number, bool) or number < 1:
            raise ValueError(f"{label} must be a positive integer")
    if not isinstance(sha256_hex, str) or not _SHA256_HEX.match(sha256_hex):
        raise ValueError("sha256_hex must be 64 lower-case hexadecimal characters")
    if not isinstance(signer_name, str) or not signer_name.strip():
        raise ValueError("signer_name must be a non-empty string")
    if not isinstance(signer_position, str):
        raise ValueError("signer_position must be a string")
    body = {
        "purpose": PURPOSE,
        "contract_id": contract_id,
        "version": version,
        "sha256": sha256_hex,
        "signer_user_id": signer_user_id,
        "signer_name": unicodedata.normalize("NFC", signer_name),
        "signer_position": unicodedata.normalize("NFC", signer_position),
        "signed_at": canonical_time(signed_at_iso),
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def sign_record(
    contract_id: int,
    version: int,
    sha256_hex: str,
    signer_user_id: int,
    signer_name: str,
    signed_at_iso: str | datetime,
    *,
    signer_position: str = "",
) -> str:
    """The base64 Ed25519 signature by the platform key over ``signature_message(...)``.

    Store ``marketplace.core.keys.key_id()`` beside it so that a rotated key can be told apart.

    Raises:
        ValueError: see ``signature_message``.
    """
    return keys.sign(
        signature_message(
            contract_id, version, sha256_hex, signer_user_id, signer_name, signed_at_iso,
            signer_position=signer_position,
        )
    )


def verify_record(
    contract_id: int,
    version: int,
    sha256_hex: str,
    signer_user_id: int,
    signer_name: str,
    signed_at_iso: str | datetime,
    signature_b64: str,
    *,
    signer_position: str = "",
    public_key: Ed25519PublicKey | None = None,
) -> bool:
    """Whether ``signature_b64`` is the platform's (or ``public_key``'s) signature of the record.

    Never raises: malformed fields or signatures simply do not verify.
    """
    try:
        message = signature_message(
            contract_id, version, sha256_hex, signer_user_id, signer_name, signed_at_iso,
            signer_position=signer_position,
        )
    except (ValueError, TypeError):
        return False
    if not isinstance(signature_b64, str):
        return False
    return keys.verify(message, signature_b64, public_key)
