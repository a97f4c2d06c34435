"""Independence flags: a regulator's finding that an agency's declaration of independence is false."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from marketplace.accounts.models import Organisation, User
from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.core.uploads import StoredFile
from marketplace.extensions import db

EVIDENCE_MAX = 4000
RESPONSE_MAX = 4000
REASON_MAX = 2000
MAX_FILES = 5


class LinkKind(enum.StrEnum):
    """How the agency is tied to the department."""

    SHAREHOLDING = "shareholding"  # the department, or a unit it runs, holds shares
    STAFF = "staff"  # serving or seconded officials work for the agency
    SUPERVISION = "supervision"  # attached to, or supervised by, the department (挂靠)
    OTHER = "other"

    @property
    def label(self):
        return {
            LinkKind.SHAREHOLDING: _l("Shareholding by the department or a unit it runs"),
            LinkKind.STAFF: _l("Officials of the department working for the agency"),
            LinkKind.SUPERVISION: _l("Attached to or supervised by the department"),
            LinkKind.OTHER: _l("Other link"),
        }[self]


class FlagStatus(enum.StrEnum):
    """Where an independence flag stands."""

    ACTIVE = "active"
    LIFTED = "lifted"

    @property
    def label(self):
        return {
            FlagStatus.ACTIVE: _l("Active: barred from this department's cases"),
            FlagStatus.LIFTED: _l("Lifted"),
        }[self]


class IndependenceFlag(db.Model):
    """A finding that an agency is not decoupled from one department (红顶中介).

    While active, the agency may not bid on, or be awarded, purchase requests of that
    department's approval cases. At most one active flag per agency and department.
    """

    __tablename__ = "independence_flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    department_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    # The declaration in force when the flag was raised: the one found false (None: never signed).
    declaration_id: Mapped[int | None] = mapped_column(sa.ForeignKey("independence_declarations.id"))
    link_kind: Mapped[LinkKind] = mapped_column(enum_column(LinkKind, "independence_link_kind"))
    evidence_text: Mapped[str] = mapped_column(sa.Text)
    status: Mapped[FlagStatus] = mapped_column(
        enum_column(FlagStatus, "independence_flag_status"), default=FlagStatus.ACTIVE, index=True
    )
    raised_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    response_text: Mapped[str | None] = mapped_column(sa.Text)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    responded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    lifted_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    lifted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lift_reason: Mapped[str] = mapped_column(sa.Text, default="")
    # The sanction proposal opened from this flag, if any (ground ``false_independence``).
    sanction_case_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sanction_cases.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id])
    department: Mapped[Organisation] = relationship(foreign_keys=[department_id])
    raised_by: Mapped[User] = relationship(foreign_keys=[raised_by_id])
    lifted_by: Mapped[User | None] = relationship(foreign_keys=[lifted_by_id])
    files: Mapped[list[IndependenceFlagFile]] = relationship(
        back_populates="flag", order_by="IndependenceFlagFile.id", cascade="all, delete-orphan"
    )

    __table_args__ = (
        sa.CheckConstraint("organisation_id <> department_id", name="distinct_parties"),
        sa.CheckConstraint(
            "status <> 'lifted' OR (lifted_by_id IS NOT NULL AND lifted_at IS NOT NULL)",
            name="lifted_data",
        ),
        # One active flag per agency and department, on both databases (guards double clicks).
        sa.Index("uq_independence_flags_active", "organisation_id", "department_id", unique=True,
                 sqlite_where=sa.text("status = 'active'"),
                 postgresql_where=sa.text("status = 'active'")),
    )

    @property
    def reference(self) -> str:
        """The reference of the flag, e.g. ``HD000012`` (红顶)."""
        return f"HD{self.id:06d}"

    @property
    def is_active(self) -> bool:
        return self.status is FlagStatus.ACTIVE

    @property
    def audit_label(self) -> str:
        return f"independence_flag:{self.id} {self.reference}"

    def __repr__(self) -> str:
        return (f"<IndependenceFlag {self.id} org={self.organisation_id} "
                f"dept={self.department_id} {self.status}>")


class IndependenceFlagFile(db.Model):
    """A file attached to a flag as evidence (shareholder register, staff roster, ...)."""

    __tablename__ = "independence_flag_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    flag_id: Mapped[int] = mapped_column(sa.ForeignKey("independence_flags.id"), index=True)
    stored_file_id: Mapped[int] = mapped_column(sa.ForeignKey("stored_files.id"), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    flag: Mapped[IndependenceFlag] = relationship(back_populates="files")
    stored_file: Mapped[StoredFile] = relationship()

    def __repr__(self) -> str:
        return f"<IndependenceFlagFile {self.id} flag={self.flag_id} file={self.stored_file_id}>"
