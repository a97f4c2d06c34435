"""Organisations and their users."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db


class OrgKind(enum.StrEnum):
    """What kind of organisation this is."""

    AGENCY = "agency"
    ENTERPRISE = "enterprise"
    GOVERNMENT = "government"

    @property
    def label(self):
        return {
            OrgKind.AGENCY: _l("Intermediary agency"),
            OrgKind.ENTERPRISE: _l("Enterprise"),
            OrgKind.GOVERNMENT: _l("Government department"),
        }[self]


class Role(enum.StrEnum):
    """A user's role; it decides what they may do."""

    AGENCY_STAFF = "agency_staff"
    ENTERPRISE_STAFF = "enterprise_staff"
    APPROVAL_OFFICER = "approval_officer"
    REGULATOR = "regulator"
    ADMIN = "admin"

    @property
    def label(self):
        return {
            Role.AGENCY_STAFF: _l("Agency staff"),
            Role.ENTERPRISE_STAFF: _l("Enterprise staff"),
            Role.APPROVAL_OFFICER: _l("Approval officer"),
            Role.REGULATOR: _l("Regulator"),
            Role.ADMIN: _l("Administrator"),
        }[self]

    @property
    def org_kind(self) -> OrgKind:
        """The kind of organisation a user with this role belongs to."""
        if self is Role.AGENCY_STAFF:
            return OrgKind.AGENCY
        if self is Role.ENTERPRISE_STAFF:
            return OrgKind.ENTERPRISE
        return OrgKind.GOVERNMENT


GOVERNMENT_ROLES = frozenset({Role.APPROVAL_OFFICER, Role.REGULATOR, Role.ADMIN})


class Organisation(db.Model):
    """An agency, an enterprise or a government department."""

    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind, "org_kind"), index=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    uscc: Mapped[str] = mapped_column(sa.String(18), unique=True)
    legal_representative: Mapped[str] = mapped_column(sa.String(100))
    region_code: Mapped[str] = mapped_column(sa.String(6), index=True)
    contact_name: Mapped[str] = mapped_column(sa.String(100), default="")
    contact_phone: Mapped[str] = mapped_column(sa.String(40), default="")
    contact_email: Mapped[str] = mapped_column(sa.String(254), default="")
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    users: Mapped[list[User]] = relationship(back_populates="organisation", order_by="User.id")

    @property
    def audit_label(self) -> str:
        return f"org:{self.id} {self.name}"

    def __repr__(self) -> str:
        return f"<Organisation {self.id} {self.kind} {self.name}>"


class User(UserMixin, db.Model):
    """A person who signs in; belongs to one organisation."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    phone: Mapped[str] = mapped_column(sa.String(40), default="")
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role"))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    # Bumped by logout, password change and disable: every older session cookie stops working.
    session_version: Mapped[int] = mapped_column(default=1)
    is_enabled: Mapped[bool] = mapped_column(default=True)
    locale: Mapped[str | None] = mapped_column(sa.String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    organisation: Mapped[Organisation] = relationship(back_populates="users")

    def get_id(self) -> str:
        """Flask-Login identity: id and session version, so old cookies can be revoked."""
        return f"{self.id}:{self.session_version}"

    @property
    def is_active(self) -> bool:
        return self.is_enabled

    def has_role(self, *roles: Role) -> bool:
        """Whether the user holds one of ``roles``."""
        return self.role in roles

    @property
    def audit_label(self) -> str:
        return f"user:{self.id} {self.name}"

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class LoginAttempt(db.Model):
    """Sign-in attempts of one client in one fixed window, counted in the database.

    The limit every worker shares when the rate-limit store (Redis) is down or not configured:
    see ``accounts.throttle``. A past window goes at the same client's next attempt, the others
    with the ``accounts.login_attempts`` job.
    """

    __tablename__ = "login_attempts"

    key: Mapped[str] = mapped_column(sa.String(100), primary_key=True)
    window_start: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False,
                                              index=True)  # epoch seconds
    hits: Mapped[int] = mapped_column(sa.Integer, default=1)

    __table_args__ = (sa.CheckConstraint("hits >= 1", name="hits_positive"),)

    def __repr__(self) -> str:
        return f"<LoginAttempt {self.key} @{self.window_start}: {self.hits}>"
