"""verify_document: the hash the parties signed and the platform seal, checked together."""

from __future__ import annotations

import hashlib

from marketplace.contracts.documents.verify import verify_document


def test_the_sealed_file_matches_its_own_hash(ctx, sealed):
    result = verify_document(sealed, hashlib.sha256(sealed).hexdigest().upper())
    assert result.ok and result.matched == "file"


def test_the_sealed_file_matches_the_hash_the_parties_signed(ctx, rendered, sealed):
    result = verify_document(sealed, rendered.sha256)
    assert result.ok and result.matched == "sealed_content"
    assert result.sha256 != rendered.sha256


def test_without_an_expected_hash_only_the_seal_counts(ctx, sealed):
    result = verify_document(sealed)
    assert result.ok and result.hash_matches is None and result.expected_hash is None


def test_another_documents_hash_does_not_match(ctx, sealed):
    result = verify_document(sealed, "0" * 64)
    assert result.hash_matches is False and not result.ok
    assert any("differs" in str(m) for m in result.messages)


def test_a_malformed_expected_hash_does_not_match(ctx, sealed):
    result = verify_document(sealed, "not-a-hash")
    assert result.hash_matches is False and not result.ok


def test_the_unsealed_version_matches_but_is_not_sealed(ctx, rendered):
    result = verify_document(rendered.pdf, rendered.sha256)
    assert result.hash_matches is True and result.matched == "file"
    assert not result.seal.sealed and not result.ok


def test_garbage_never_raises(ctx, rendered):
    for data in (b"", b"%PDF-", b"\xff" * 64, rendered.pdf[:100], None):
        result = verify_document(data, rendered.sha256)
        assert not result.ok and result.hash_matches is False
