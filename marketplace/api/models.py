"""Per-organisation API tokens, stored hashed."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organisation, User
from marketplace.core.db import UTCDateTime, utcnow
from marketplace.extensions import db


class ApiToken(db.Model):
    """A bearer token for one organisation with a set of scopes; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    prefix: Mapped[str] = mapped_column(sa.String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    scopes: Mapped[str] = mapped_column(sa.String(500))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship()
    created_by: Mapped[User | None] = relationship()

    @property
    def scope_set(self) -> frozenset[str]:
        return frozenset(s for s in self.scopes.split() if s)

    def is_usable(self, now: datetime) -> bool:
        """Not revoked, not expired, and its creator's account not disabled (a disabled user's
        tokens must stop working with their sessions)."""
        if self.created_by is not None and not self.created_by.is_enabled:
            return False
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    @property
    def audit_label(self) -> str:
        return f"api-token:{self.prefix} org:{self.organisation_id}"

    def __repr__(self) -> str:
        return f"<ApiToken {self.prefix} org={self.organisation_id}>"
