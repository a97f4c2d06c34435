"""Creating, revoking and checking API tokens."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.accounts.models import Organisation, OrgKind, Role, User
from marketplace.api.models import ApiToken
from marketplace.api.scopes import SCOPES, scopes_for
from marketplace.audit.services import record_event
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotFound, PermissionDenied
from marketplace.extensions import db

TOKEN_PREFIX = "zjm"  # noqa: S105 - a public marker that makes leaked tokens recognisable
MAX_TOKENS_PER_ORG = 50


def _hash(token: str) -> str:
    # Tokens are 256 random bits, so a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(token.encode()).hexdigest()


def can_manage_tokens(user: User, org: Organisation) -> bool:
    """Staff manage their own organisation's tokens; administrators any government department's."""
    if user.organisation_id == org.id:
        return True
    return user.role is Role.ADMIN and org.kind.value == "government"


def create_token(
    org: Organisation, *, name: str, scopes: list[str], actor: User, expires_at: datetime | None = None
) -> tuple[ApiToken, str]:
    """Create a token; returns the row and the secret, which is shown once and never stored.

    Raises:
        PermissionDenied: the actor may not manage this organisation's tokens.
        DomainError: unknown scopes, scopes the organisation may not hold, or too many tokens.
    """
    if not can_manage_tokens(actor, org):
        raise PermissionDenied(_l("You may not manage this organisation's API tokens."))
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise DomainError(_l("Give the token a name of at most 100 characters."), field="name")
    wanted = sorted(set(scopes))
    if not wanted:
        raise DomainError(_l("Choose at least one scope."), field="scopes")
    allowed = set(scopes_for(org.kind))
    bad = [s for s in wanted if s not in SCOPES or s not in allowed]
    if bad:
        raise DomainError(_l("These scopes are not available: %(s)s", s=", ".join(bad)), field="scopes")
    count = db.session.execute(
        sa.select(sa.func.count(ApiToken.id)).where(
            ApiToken.organisation_id == org.id, ApiToken.revoked_at.is_(None)
        )
    ).scalar_one()
    if count >= MAX_TOKENS_PER_ORG:
        raise DomainError(_l("Revoke an old token first: at most %(n)d are allowed.", n=MAX_TOKENS_PER_ORG))
    prefix = secrets.token_hex(4)
    secret = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        organisation_id=org.id, name=name, prefix=prefix, token_hash=_hash(secret),
        scopes=" ".join(wanted), created_by_id=actor.id, expires_at=expires_at,
    )
    db.session.add(token)
    db.session.flush()
    record_event("api_token.created", token, actor=actor, payload={"prefix": prefix, "scopes": wanted, "org": org.id})
    return token, secret


def revoke_token(token: ApiToken, *, actor: User) -> None:
    """Revoke a token at once.

    Raises:
        PermissionDenied: the actor may not manage this organisation's tokens.
    """
    if not can_manage_tokens(actor, token.organisation):
        raise PermissionDenied(_l("You may not manage this organisation's API tokens."))
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    record_event("api_token.revoked", token, actor=actor, payload={"prefix": token.prefix})


def tokens_of(org: Organisation) -> list[ApiToken]:
    """The organisation's tokens, newest first."""
    return list(
        db.session.execute(
            sa.select(ApiToken).where(ApiToken.organisation_id == org.id).order_by(ApiToken.id.desc())
        ).scalars()
    )


def get_token(token_id: int) -> ApiToken:
    """A token by id.

    Raises:
        NotFound: no such token.
    """
    token = db.session.get(ApiToken, token_id)
    if token is None:
        raise NotFound(_l("This token does not exist."))
    return token


def authenticate_token(secret: str) -> ApiToken | None:
    """The usable token matching a presented secret, or None."""
    if not secret or len(secret) > 200 or not secret.startswith(f"{TOKEN_PREFIX}_"):
        return None
    parts = secret.split("_", 2)
    if len(parts) != 3:
        return None
    token = db.session.execute(sa.select(ApiToken).where(ApiToken.prefix == parts[1])).scalar_one_or_none()
    if token is None or not secrets.compare_digest(token.token_hash, _hash(secret)):
        return None
    now = utcnow()
    if not token.is_usable(now):
        return None
    # One write per minute at most: enough to show "last used" without a write per call.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        db.session.execute(
            sa.update(ApiToken).where(ApiToken.id == token.id).values(last_used_at=now)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
    return token


_ROLE_OF_KIND = {
    OrgKind.GOVERNMENT: Role.APPROVAL_OFFICER,
    OrgKind.ENTERPRISE: Role.ENTERPRISE_STAFF,
    OrgKind.AGENCY: Role.AGENCY_STAFF,
}


class TokenActor:
    """An API token acting for its organisation, as the organisation's own staff would.

    The domain services check ``role`` and ``organisation_id`` exactly as for a signed-in user, so
    a token of a department may do what its approval officers may, and no more. It has no user
    id: the audit trail names the token instead.
    """

    is_authenticated = True
    id = None

    def __init__(self, token: ApiToken):
        self.token = token
        self.organisation = token.organisation
        self.organisation_id = token.organisation_id
        self.role = _ROLE_OF_KIND[token.organisation.kind]

    @property
    def audit_label(self) -> str:
        return self.token.audit_label

    def __repr__(self) -> str:
        return f"<TokenActor {self.token.prefix} org={self.organisation_id}>"
