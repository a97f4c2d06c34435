"""Uploaded files: stored under generated names, type sniffed from the bytes, size and quota.

Every domain that accepts a file (qualification scans, delivered results, evidence) calls
``store_upload`` and keeps the returned ``StoredFile`` id. The file name the user gave is kept
for display only: on disk a file is ``<UPLOAD_FOLDER>/<uuid>.<ext>`` (``secure_filename`` turns
``营业执照.pdf`` into ``pdf``, so the user's name can never be the storage name). Serving is the
owning domain's job: it checks who may see the file, then calls ``send_stored_file``.
"""

from __future__ import annotations

import hashlib
import os
import unicodedata
import uuid
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from flask import current_app, send_file
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, Session, mapped_column

from marketplace.core.db import UTCDateTime, utcnow
from marketplace.core.errors import DomainError
from marketplace.extensions import db

# Content type and extension for each accepted kind, keyed by the bytes a file starts with.
SIGNATURES: tuple[tuple[bytes, str, str], ...] = (
    (b"%PDF-", "application/pdf", "pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
)
DOCUMENT_TYPES = frozenset({"application/pdf", "image/png", "image/jpeg"})


class StoredFile(db.Model):
    """One uploaded file: who owns it, what it is, where it lies on disk."""

    __tablename__ = "stored_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    storage_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    original_name: Mapped[str] = mapped_column(sa.String(200), default="")
    content_type: Mapped[str] = mapped_column(sa.String(50))
    size_bytes: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    purpose: Mapped[str] = mapped_column(sa.String(40))
    owner_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (sa.CheckConstraint("size_bytes > 0", name="size_positive"),)

    @property
    def extension(self) -> str:
        return self.storage_name.rsplit(".", 1)[-1]

    def __repr__(self) -> str:
        return f"<StoredFile {self.id} {self.content_type} {self.size_bytes}B org={self.owner_org_id}>"


def sniff_type(head: bytes) -> tuple[str, str] | None:
    """(content type, extension) judged from the first bytes, or None if not accepted."""
    for magic, content_type, ext in SIGNATURES:
        if head.startswith(magic):
            return content_type, ext
    return None


def clean_display_name(name: str | None) -> str:
    """The user's file name, NFKC-normalised, without paths or control characters, ≤ 200."""
    name = unicodedata.normalize("NFKC", name or "")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable())
    return name.strip()[:200]


def org_usage_bytes(org_id: int) -> int:
    """Bytes stored for one organisation."""
    return int(
        db.session.execute(
            sa.select(sa.func.coalesce(sa.func.sum(StoredFile.size_bytes), 0)).where(
                StoredFile.owner_org_id == org_id
            )
        ).scalar_one()
    )


def upload_folder() -> Path:
    """The folder uploads live in (created on demand)."""
    path = Path(current_app.config["UPLOAD_FOLDER"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def _read_limited(source, limit: int) -> bytes:
    """Read at most ``limit + 1`` bytes from bytes or a file-like object."""
    if isinstance(source, bytes | bytearray):
        return bytes(source[: limit + 1])
    stream = getattr(source, "stream", source)
    return stream.read(limit + 1)


def store_upload(
    source,
    *,
    owner_org_id: int,
    purpose: str,
    uploaded_by=None,
    filename: str | None = None,
    allowed_types: frozenset[str] = DOCUMENT_TYPES,
) -> StoredFile:
    """Check and store one upload (a werkzeug ``FileStorage``, a stream or bytes).

    Raises:
        DomainError: the file is empty, too large, of a type not accepted (judged by its bytes,
            never by its name), or would take the organisation over its quota.
    """
    max_bytes = int(current_app.config["UPLOAD_MAX_BYTES"])
    data = _read_limited(source, max_bytes)
    if not data:
        raise DomainError(_l("The file is empty."), field="file")
    if len(data) > max_bytes:
        raise DomainError(
            _l("The file is larger than %(mb)s MB.", mb=_megabytes(max_bytes)), field="file"
        )
    sniffed = sniff_type(data[:16])
    if sniffed is None or sniffed[0] not in allowed_types:
        raise DomainError(
            _l("Only PDF, JPEG and PNG files are accepted; this file is none of them."),
            field="file",
        )
    content_type, ext = sniffed
    quota = int(current_app.config["UPLOAD_ORG_QUOTA_BYTES"])
    if org_usage_bytes(owner_org_id) + len(data) > quota:
        raise DomainError(
            _l(
                "Your organisation has used its storage quota of %(mb)s MB. Remove old files first.",
                mb=_megabytes(quota),
            ),
            field="file",
        )
    storage_name = f"{uuid.uuid4().hex}.{ext}"
    path = upload_folder() / storage_name
    tmp = path.with_name(path.name + ".part")
    with open(tmp, "xb") as fh:
        fh.write(data)
    os.replace(tmp, path)
    # If the transaction rolls back, the bytes go too (see _forget_uploads_on_rollback).
    db.session.info.setdefault(_WRITTEN, []).append(str(path))
    if filename is None:
        filename = getattr(source, "filename", None)
    stored = StoredFile(
        storage_name=storage_name,
        original_name=clean_display_name(filename),
        content_type=content_type,
        size_bytes=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        purpose=purpose[:40],
        owner_org_id=owner_org_id,
        uploaded_by_id=getattr(uploaded_by, "id", None),
    )
    db.session.add(stored)
    db.session.flush()
    return stored


def stored_path(stored: StoredFile) -> Path:
    """Where the file lies on disk."""
    return upload_folder() / stored.storage_name


def delete_stored(stored: StoredFile) -> None:
    """Remove the row now; the bytes leave the disk once the transaction commits."""
    db.session.info.setdefault(_TO_DELETE, []).append(str(stored_path(stored)))
    db.session.delete(stored)
    db.session.flush()


_WRITTEN = "uploads_written"
_TO_DELETE = "uploads_to_delete"


@sa.event.listens_for(Session, "after_commit")
def _drop_deleted_uploads_on_commit(session) -> None:
    for name in session.info.pop(_TO_DELETE, []):
        Path(name).unlink(missing_ok=True)
    session.info.pop(_WRITTEN, None)


@sa.event.listens_for(Session, "after_rollback")
def _forget_uploads_on_rollback(session) -> None:
    for name in session.info.pop(_WRITTEN, []):
        Path(name).unlink(missing_ok=True)
    session.info.pop(_TO_DELETE, None)


def send_stored_file(stored: StoredFile, *, as_attachment: bool = False):
    """A response with the file; the caller has already checked who may see it."""
    path = stored_path(stored)
    if not path.is_file():
        from flask import abort

        abort(404)
    name = stored.original_name or f"file-{stored.id}.{stored.extension}"
    if not name.lower().endswith("." + stored.extension):
        name = f"{name}.{stored.extension}"
    response = send_file(
        path,
        mimetype=stored.content_type,
        as_attachment=as_attachment,
        download_name=name,
        max_age=0,
        conditional=True,
        etag=stored.sha256,
    )
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _megabytes(n: int) -> str:
    value = n / (1024 * 1024)
    return f"{value:.0f}" if value >= 10 else f"{value:.1f}".rstrip("0").rstrip(".")
