"""The platform's Ed25519 key: signs audit checkpoints and contract signatures."""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app


def _load_or_create(path: Path) -> Ed25519PrivateKey:
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise RuntimeError(f"{path} is not an Ed25519 private key")
        return key
    if current_app.config.get("ENV_NAME") == "production":
        raise RuntimeError(f"platform key {path} is missing")
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return key


def platform_key() -> Ed25519PrivateKey:
    """The platform private key (generated on first use outside production)."""
    return _load_or_create(Path(current_app.config["PLATFORM_KEY_PATH"]))


def public_key_pem() -> str:
    """The platform public key as PEM text, for publication."""
    return (
        platform_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def key_id() -> str:
    """A short fingerprint of the public key (SHA-256 of the raw bytes, hex, 16 chars)."""
    raw = platform_key().public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return hashlib.sha256(raw).hexdigest()[:16]


def sign(message: bytes) -> str:
    """Sign with the platform key; base64 signature."""
    return base64.b64encode(platform_key().sign(message)).decode()


def verify(message: bytes, signature_b64: str, public: Ed25519PublicKey | None = None) -> bool:
    """Check a base64 signature against the platform (or the given) public key."""
    public = public or platform_key().public_key()
    try:
        public.verify(base64.b64decode(signature_b64), message)
    except (InvalidSignature, ValueError):
        return False
    return True
