"""The platform seal (PAdES): sealed documents verify; changed, truncated or foreign ones do not."""

from __future__ import annotations

import asyncio
import stat
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from marketplace.contracts.documents.seal import (
    DEV_SEAL_CN,
    SealError,
    ensure_dev_seal,
    seal_material,
    seal_pdf,
    verify_sealed_pdf,
)
from marketplace.contracts.documents.verify import verify_document


def flip(data: bytes, offset: int) -> bytes:
    changed = bytearray(data)
    changed[offset] ^= 0x01
    return bytes(changed)


def test_a_sealed_contract_verifies(ctx, rendered, sealed):
    check = verify_sealed_pdf(sealed)
    assert check.ok, check.message
    assert check.sealed and check.intact and check.covers_whole_document and check.trusted
    assert DEV_SEAL_CN in check.signer_subject
    assert abs(datetime.now(UTC) - check.signed_at) < timedelta(hours=1)
    # The seal is appended: the signed version is still there, byte for byte.
    assert sealed.startswith(rendered.pdf)
    assert check.sealed_content_sha256 == rendered.sha256


def test_development_seal_is_generated_in_the_instance_folder(ctx):
    material = seal_material()
    assert material.key_path.parent == Path(ctx.instance_path) / "seal"
    assert stat.S_IMODE(material.key_path.stat().st_mode) == 0o600
    assert ensure_dev_seal(material.key_path.parent) == material  # reused, not regenerated


def test_one_changed_byte_breaks_hash_and_seal(ctx, rendered, sealed):
    changed = flip(sealed, len(rendered.pdf) // 2)  # inside the signed contract
    result = verify_document(changed, rendered.sha256)
    assert result.hash_matches is False
    assert result.seal.sealed and not result.seal.intact
    assert not result.ok


@pytest.mark.parametrize("where", [0.0, 0.01, 0.3, 0.9, 0.97, 0.995, 1.0])
def test_a_changed_byte_anywhere_is_never_accepted(ctx, rendered, sealed, where):
    offset = min(int(len(sealed) * where), len(sealed) - 1)
    result = verify_document(flip(sealed, offset), rendered.sha256)
    assert result.hash_matches is False
    assert not result.seal.ok
    assert not result.ok


def test_bytes_appended_after_the_seal_are_detected(ctx, sealed):
    check = verify_sealed_pdf(sealed + b"\n% added later\n")
    assert check.intact and not check.covers_whole_document and not check.ok


@pytest.mark.parametrize(
    "data",
    [b"", b"garbage", b"%PDF-1.7\n", b"\x00" * 1000, "not bytes"],
    ids=["empty", "garbage", "header-only", "zeros", "str"],
)
def test_garbage_gives_a_negative_result(ctx, data):
    check = verify_sealed_pdf(data)
    assert not check.ok and not check.sealed
    assert str(check.message)


def test_an_unsigned_pdf_is_not_sealed(ctx, rendered):
    check = verify_sealed_pdf(rendered.pdf)
    assert not check.ok and not check.sealed
    assert "no platform seal" in str(check.message)


@pytest.mark.parametrize("keep", [0.5, 0.99, -1])
def test_a_truncated_file_gives_a_negative_result(ctx, sealed, keep):
    cut = len(sealed) - 1 if keep == -1 else int(len(sealed) * keep)
    check = verify_sealed_pdf(sealed[:cut])
    assert not check.ok


def test_sealing_twice_or_sealing_garbage_is_refused(ctx, sealed):
    with pytest.raises(SealError):
        seal_pdf(sealed, reason="again", location="here")
    with pytest.raises(SealError):
        seal_pdf(b"not a pdf", reason="x", location="y")


def test_a_seal_by_another_certificate_is_intact_but_not_trusted(ctx, rendered, tmp_path, monkeypatch):
    other = ensure_dev_seal(tmp_path / "other-seal")
    monkeypatch.setitem(ctx.config, "SEAL_KEY_PATH", str(other.key_path))
    monkeypatch.setitem(ctx.config, "SEAL_CERT_PATH", str(other.cert_path))
    monkeypatch.setitem(ctx.config, "SEAL_CA_CERT_PATH", str(other.ca_cert_path))
    foreign = seal_pdf(rendered.pdf, reason="x", location="y")
    assert verify_sealed_pdf(foreign).ok  # trusted by an instance holding that CA
    monkeypatch.undo()
    check = verify_sealed_pdf(foreign)
    assert check.intact and check.covers_whole_document
    assert not check.trusted and not check.ok


def test_seal_configuration_must_be_complete(ctx, monkeypatch, tmp_path):
    monkeypatch.setitem(ctx.config, "SEAL_KEY_PATH", str(tmp_path / "key.pem"))
    with pytest.raises(RuntimeError, match="SEAL_CERT_PATH"):
        seal_material()


def test_production_needs_a_configured_seal(ctx, monkeypatch):
    monkeypatch.setitem(ctx.config, "ENV_NAME", "production")
    with pytest.raises(RuntimeError, match="not configured"):
        seal_material()


def test_every_part_of_the_seal_revision_is_protected(ctx, rendered, sealed):
    # The seal's own revision includes the signature container, which the signature does not
    # cover (padding, DER lengths, embedded certificates): altering it must still be caught.
    # A full sweep of every byte found no undetected change; this samples it to stay quick.
    start = len(rendered.pdf) - 64
    for offset in range(start, len(sealed), 97):
        result = verify_document(flip(sealed, offset), rendered.sha256)
        assert not result.seal.ok, offset
        assert not result.ok, offset


def test_sealing_and_checking_work_inside_a_running_event_loop(app, rendered):
    # pyHanko's sync API calls asyncio.run(); an async server (or Playwright's sync API in
    # this test process) already runs a loop in the thread.
    async def inside():
        with app.app_context():
            return verify_sealed_pdf(seal_pdf(rendered.pdf, reason="x", location="y"))

    # A fresh thread: the test process itself may already run a loop in the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(lambda: asyncio.run(inside())).result().ok
