"""Verifying a contract PDF: its SHA-256 against the recorded hash, and the platform seal.

The public verification page and ``flask contracts verify FILE`` call ``verify_document``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from marketplace.contracts.documents.render import sha256_hex
from marketplace.contracts.documents.seal import SealCheck, verify_sealed_pdf

_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


@dataclass(frozen=True)
class VerificationResult:
    """The outcome of checking one file.

    ``hash_matches`` is None when no hash was expected; ``matched`` tells what matched the
    expected hash: "file" (the bytes as given) or "sealed_content" (the document the seal was
    added to, i.e. the version the parties signed). ``ok`` needs the seal to be good and, when
    a hash was expected, the hash to match.
    """

    sha256: str
    expected_hash: str | None
    hash_matches: bool | None
    matched: str | None
    seal: SealCheck
    messages: tuple[str | LazyString, ...]

    @property
    def ok(self) -> bool:
        """Sealed by the platform, unchanged, and (if a hash was given) the expected document."""
        return self.seal.ok and self.hash_matches is not False


def verify_document(pdf_bytes: bytes, expected_hash: str | None = None) -> VerificationResult:
    """Check a contract PDF: SHA-256 against ``expected_hash`` (if given) and the seal.

    The expected hash may be that of the sealed file or that of the signed version before
    sealing (the sealed file begins with those exact bytes). Never raises on bad input.

    Raises:
        RuntimeError: the seal certificate is not configured (a server problem).
    """
    data = bytes(pdf_bytes) if isinstance(pdf_bytes, bytes | bytearray | memoryview) else b""
    digest = sha256_hex(data)
    seal = verify_sealed_pdf(data)
    messages: list[str | LazyString] = []

    expected = None
    hash_matches: bool | None = None
    matched = None
    if expected_hash is not None:
        candidate = str(expected_hash).strip()
        if _HEX64.match(candidate):
            expected = candidate.lower()
            if digest == expected:
                matched = "file"
            elif seal.ok and seal.sealed_content_sha256 == expected:
                matched = "sealed_content"
            hash_matches = matched is not None
        else:
            hash_matches = False
            messages.append(_l("The expected hash is not a SHA-256 value (64 hexadecimal digits)."))
        if matched == "file":
            messages.append(_l("The file is exactly the recorded document."))
        elif matched == "sealed_content":
            messages.append(_l("The file is the recorded document with the platform seal added."))
        elif expected is not None:
            messages.append(_l("The file is not the recorded document: its SHA-256 differs."))
    messages.append(seal.message)
    return VerificationResult(
        sha256=digest,
        expected_hash=expected,
        hash_matches=hash_matches,
        matched=matched,
        seal=seal,
        messages=tuple(messages),
    )
