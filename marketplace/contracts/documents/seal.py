"""The platform seal: a PAdES signature by the platform certificate over the final contract PDF.

Production configures a real key and certificate (``SEAL_KEY_PATH``, ``SEAL_CERT_PATH``,
``SEAL_CA_CERT_PATH``, ``SEAL_KEY_PASSPHRASE``). Elsewhere, on first use, a self-signed
development CA and a seal certificate it issued are generated under ``instance/seal/``; a document
sealed there is trusted only by an instance holding the same CA.

The seal is a certification signature (DocMDP "no changes") in a field named ``PlatformSeal``,
SHA-256, with the certificate chain embedded. No timestamp server is used (no network), so the
signing time is the one the platform states in the signature, and validation is done at the
current time against our CA only; nothing is fetched.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from io import BytesIO
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from flask import current_app
from flask_babel import LazyString
from flask_babel import lazy_gettext as _l

from marketplace.core.errors import DomainError

log = logging.getLogger(__name__)

FIELD_NAME = "PlatformSeal"
DEV_SEAL_CN = "zhongjie-market platform seal (development)"
DEV_CA_CN = "zhongjie-market development root CA"
DEV_FILES = {"key": "seal-key.pem", "cert": "seal-cert.pem", "ca": "ca-cert.pem"}


class SealError(DomainError):
    """The document could not be sealed (not a readable PDF, already sealed, bad key)."""


@dataclass(frozen=True)
class SealMaterial:
    """Where the seal key, its certificate and the issuing CA certificate are (PEM files)."""

    key_path: Path
    cert_path: Path
    ca_cert_path: Path
    passphrase: str | None = None


@dataclass(frozen=True)
class SealCheck:
    """What the seal of a PDF says; ``ok`` only if sealed, intact, whole and trusted.

    ``sealed_content_sha256`` is the SHA-256 of the bytes the seal was added to (the document
    as the parties signed it), when that revision could be located.
    """

    sealed: bool
    intact: bool
    covers_whole_document: bool
    trusted: bool
    signer_subject: str | None
    signed_at: datetime | None
    message: str | LazyString
    sealed_content_sha256: str | None = None

    @property
    def ok(self) -> bool:
        """Sealed, cryptographically intact, covering every byte, and issued by our CA."""
        return self.sealed and self.intact and self.covers_whole_document and self.trusted


def _negative(message, *, sealed: bool = False) -> SealCheck:
    return SealCheck(
        sealed=sealed, intact=False, covers_whole_document=False, trusted=False,
        signer_subject=None, signed_at=None, message=message,
    )


def _outside_event_loop(fn, *args, **kwargs):
    """Call ``fn``, in a short-lived thread if this thread already runs an asyncio loop.

    pyHanko's synchronous API wraps ``asyncio.run``, which refuses to start inside a running
    loop (an async server, or Playwright's sync API in the test process).
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return fn(*args, **kwargs)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="pyhanko") as pool:
        return pool.submit(fn, *args, **kwargs).result()


# --- key material -----------------------------------------------------------------------------


def seal_material() -> SealMaterial:
    """The configured seal files, or the development ones (generated on first use).

    Raises:
        RuntimeError: only some SEAL_* paths are set, a file is missing, or production has none.
    """
    config = current_app.config
    paths = [config.get("SEAL_KEY_PATH"), config.get("SEAL_CERT_PATH"),
             config.get("SEAL_CA_CERT_PATH")]
    if all(paths):
        material = SealMaterial(*(Path(p) for p in paths), config.get("SEAL_KEY_PASSPHRASE"))
        for path in (material.key_path, material.cert_path, material.ca_cert_path):
            if not path.is_file():
                raise RuntimeError(f"seal file {path} is missing")
        return material
    if any(paths):
        raise RuntimeError("set all of SEAL_KEY_PATH, SEAL_CERT_PATH and SEAL_CA_CERT_PATH")
    if config.get("ENV_NAME") == "production":
        raise RuntimeError("the platform seal certificate is not configured (SEAL_KEY_PATH...)")
    return ensure_dev_seal(Path(current_app.instance_path) / "seal")


def ensure_dev_seal(folder: Path) -> SealMaterial:
    """The development CA and seal certificate in ``folder``, created if missing.

    The files are written to a temporary folder renamed into place, so concurrent first uses by
    several processes end with one complete set.

    Raises:
        RuntimeError: ``folder`` exists but lacks some of the files.
    """
    material = SealMaterial(*(folder / DEV_FILES[k] for k in ("key", "cert", "ca")))
    if not folder.exists():
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".seal-", dir=folder.parent))
        try:
            _write_dev_seal(staging)
            os.rename(staging, folder)
        except OSError:
            if not folder.exists():
                raise
            # Another process won the race: use its files.
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    for path in (material.key_path, material.cert_path, material.ca_cert_path):
        if not path.is_file():
            raise RuntimeError(f"development seal file {path} is missing; remove {folder}")
    return material


def _name(cn: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "zhongjie-market (development)"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _write_dev_seal(folder: Path) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = _name(DEV_CA_CN)
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * 20))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False, content_commitment=False, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(DEV_SEAL_CN))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * 10))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            # pyHanko requires non-repudiation (content commitment) for document signatures.
            x509.KeyUsage(
                digital_signature=True, content_commitment=True, key_encipherment=False,
                data_encipherment=False, key_agreement=False, key_cert_sign=False,
                crl_sign=False, encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(folder / DEV_FILES["key"], os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(key_pem)
    (folder / DEV_FILES["cert"]).write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / DEV_FILES["ca"]).write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    # The CA key is not kept: the development CA issues exactly one certificate.


def _load_signer(material: SealMaterial):
    """The pyHanko signer of ``material``, loaded once per process (re-loaded if a file changes)."""
    stamps = tuple((p.stat().st_size, p.stat().st_mtime_ns)
                   for p in (material.key_path, material.cert_path, material.ca_cert_path))
    return _cached_signer(material, stamps)


@functools.lru_cache(maxsize=4)
def _cached_signer(material: SealMaterial, _stamps: tuple):
    from pyhanko.sign import signers

    passphrase = material.passphrase.encode() if material.passphrase else None
    signer = signers.SimpleSigner.load(
        str(material.key_path), str(material.cert_path),
        ca_chain_files=(str(material.ca_cert_path),), key_passphrase=passphrase,
    )
    if signer is None:
        raise RuntimeError("the seal key or certificate cannot be loaded (wrong passphrase?)")
    return signer


def _trust_root(material: SealMaterial):
    from pyhanko.keys import load_cert_from_pemder

    return load_cert_from_pemder(str(material.ca_cert_path))


# --- sealing ----------------------------------------------------------------------------------


def seal_pdf(pdf_bytes: bytes, *, reason: str, location: str) -> bytes:
    """Seal ``pdf_bytes`` with the platform certificate (PAdES B-B, field ``PlatformSeal``).

    The original bytes are kept unchanged at the start of the result (an incremental update), so
    the hash the parties signed can still be checked against the sealed file.

    Raises:
        SealError: the input is not a readable PDF, or it already has a platform seal.
        RuntimeError: the seal key or certificate is missing or cannot be loaded.
    """
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    signer = _load_signer(seal_material())
    try:
        writer = IncrementalPdfFileWriter(BytesIO(pdf_bytes), strict=True)
        existing = {name for name, _, _ in fields.enumerate_sig_fields(writer.prev)}
    except Exception as exc:  # pyHanko's parser raises many types on bad input
        raise SealError(_l("The document is not a readable PDF.")) from exc
    if FIELD_NAME in existing:
        raise SealError(_l("The document already carries the platform seal."))
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
        certify=True,
        docmdp_permissions=fields.MDPPerm.NO_CHANGES,
    )
    pdf_signer = signers.PdfSigner(
        meta, signer=signer, new_field_spec=fields.SigFieldSpec(sig_field_name=FIELD_NAME)
    )
    try:
        out = _outside_event_loop(pdf_signer.sign_pdf, writer, output=BytesIO())
    except Exception as exc:  # a PDF that parses but cannot take a signature
        raise SealError(_l("The document cannot be sealed: %(error)s", error=str(exc)[:200])) from exc
    return out.getvalue()


# --- checking ---------------------------------------------------------------------------------


def _revision_end(pdf_bytes: bytes, reader, revision: int) -> int | None:
    """The offset just past ``%%EOF`` (and its end-of-line) closing ``revision``."""
    start = reader.xrefs.get_xref_container_info(revision).end_location
    marker = pdf_bytes.find(b"%%EOF", start)
    if marker < 0:
        return None
    end = marker + len(b"%%EOF")
    for eol in (b"\r\n", b"\n", b"\r"):
        if pdf_bytes.startswith(eol, end):
            return end + len(eol)
    return end


def _is_plain_der(data: bytes, depth: int = 0) -> bool:
    """Whether ``data`` is a run of DER elements with minimal lengths, exactly filling it.

    Checks the structure only (re-encoding with asn1crypto would take ~300 ms): no indefinite
    or over-long length, no end-of-contents filler, constructed contents tiled exactly.

    Raises:
        ValueError: the bytes cannot be parsed as ASN.1 at all.
    """
    from asn1crypto import parser

    if depth > 32:
        return False
    offset = 0
    while offset < len(data):
        class_, method, tag, header, contents, trailer = parser.parse(data[offset:])
        if trailer or (class_ == 0 and tag == 0) or tag >= 31:
            return False
        size = len(contents)
        length_bytes = 1 if size < 128 else 1 + (size.bit_length() + 7) // 8
        if len(header) != 1 + length_bytes:
            return False
        if method == 1 and not _is_plain_der(contents, depth + 1):
            return False
        offset += len(header) + size
    return True


def _container_is_strict(contents: bytes, signer_cert, trust_root, *, trusted: bool) -> bool:
    """Whether the signature container holds nothing that the signature leaves unprotected.

    A CMS signature does not cover its own envelope: the /Contents padding, DER lengths, the
    version numbers, the digest-algorithm list and the embedded certificates can change while
    the signature still verifies. A seal we made has canonical DER followed by zero padding,
    one signer, and carries only the signer's certificate and our CA certificate, so anything
    else means the file was altered after sealing. (The certificate list is checked only for
    a seal that chains to our CA: a foreign seal is untrusted anyway.)
    """
    from asn1crypto import cms, parser

    try:
        _, _, _, header, body, trailer = parser.parse(contents)
        used = contents[: len(header) + len(body) + len(trailer)]
        if contents[len(used):].strip(b"\x00"):
            return False
        if not _is_plain_der(used):
            return False
        info = cms.ContentInfo.load(used, strict=True)
        signed = info["content"]
        (signer_info,) = signed["signer_infos"]
        allowed = {signer_cert.dump(), trust_root.dump()}
        return (
            signed["version"].native == "v1"
            and signer_info["version"].native == "v1"
            and [a.dump() for a in signed["digest_algorithms"]] == [signer_info["digest_algorithm"].dump()]
            and (not trusted or all(c.chosen.dump() in allowed for c in signed["certificates"]))
            and not signed["crls"]
            and not signer_info["unsigned_attrs"]
        )
    except Exception:  # any parse problem is itself an alteration
        return False


def verify_sealed_pdf(pdf_bytes: bytes) -> SealCheck:
    """Check the platform seal of a PDF against our CA. Never raises on bad input.

    Needs an app context (the CA comes from the configuration).

    Garbage, truncated, unsigned or modified files give a negative ``SealCheck`` whose
    ``message`` says why.

    Raises:
        RuntimeError: the seal certificate is not configured (a server problem, not the file's).
    """
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

    if not isinstance(pdf_bytes, bytes | bytearray) or not pdf_bytes.startswith(b"%PDF-"):
        return _negative(_l("The file is not a PDF document."))
    pdf_bytes = bytes(pdf_bytes)
    try:
        reader = PdfFileReader(BytesIO(pdf_bytes), strict=False)
        seals = [s for s in reader.embedded_signatures if s.field_name == FIELD_NAME]
    except Exception:  # hostile input can make the parser raise almost anything
        log.info("unreadable PDF given for seal verification", exc_info=True)
        return _negative(_l("The PDF is damaged or truncated and cannot be read."))
    if not seals:
        return _negative(_l("The document carries no platform seal."))
    embedded = seals[0]
    root = _trust_root(seal_material())  # configuration problems are not the document's fault
    try:
        context = ValidationContext(
            trust_roots=[root], allow_fetching=False, revocation_mode="soft-fail"
        )
        status = _outside_event_loop(validate_pdf_signature, embedded, context)
    except Exception:  # a malformed signature dictionary or CMS structure
        log.info("seal validation failed", exc_info=True)
        return _negative(_l("The platform seal is damaged and cannot be checked."), sealed=True)

    trusted = bool(status.trusted)
    intact = bool(status.intact and status.valid) and _container_is_strict(
        embedded.pkcs7_content, embedded.signer_cert, root, trusted=trusted
    )
    covers = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    content_sha256 = None
    if intact and covers and embedded.signed_revision >= 1:
        try:
            end = _revision_end(pdf_bytes, reader, embedded.signed_revision - 1)
        except Exception:
            end = None
        if end is not None:
            content_sha256 = hashlib.sha256(pdf_bytes[:end]).hexdigest()
    if not intact:
        message = _l("The platform seal is broken: the document was changed after sealing.")
    elif not covers:
        message = _l("The document was changed after the platform seal was applied.")
    elif not trusted:
        message = _l("The seal is intact but was not made by this platform's certificate.")
    else:
        message = _l("The platform seal is intact and covers the whole document.")
    return SealCheck(
        sealed=True,
        intact=intact,
        covers_whole_document=covers,
        trusted=trusted,
        signer_subject=status.signing_cert.subject.human_friendly,
        signed_at=status.signer_reported_dt,
        message=message,
        sealed_content_sha256=content_sha256,
    )
