"""Contracts, their frozen versions (PDF bytes + SHA-256) and the parties' signatures."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from marketplace.accounts.models import Organisation, User
from marketplace.core.db import UTCDateTime, enum_column, utcnow
from marketplace.extensions import db

CONTRACT_NO_MAX = 40
SIGNER_MAX = 100
POSITION_MAX = 100
SPECIAL_TERMS_MAX = 5000
PAYMENT_TERMS_MAX = 5000
ACCEPTANCE_TERMS_MAX = 5000
USER_AGENT_MAX = 300


class ContractStatus(enum.StrEnum):
    """The lifecycle of a contract."""

    DRAFTING = "drafting"
    AWAITING_SIGNATURES = "awaiting_signatures"
    IN_FORCE = "in_force"
    REFUSED = "refused"
    TERMINATED = "terminated"
    COMPLETED = "completed"

    @property
    def label(self):
        return {
            ContractStatus.DRAFTING: _l("Being drafted"),
            ContractStatus.AWAITING_SIGNATURES: _l("Awaiting signatures"),
            ContractStatus.IN_FORCE: _l("In force"),
            ContractStatus.REFUSED: _l("Refused by the agency"),
            ContractStatus.TERMINATED: _l("Terminated"),
            ContractStatus.COMPLETED: _l("Completed"),
        }[self]


class Contract(db.Model):
    """The contract between the buyer (甲方) and the winning agency (乙方) of a purchase request."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_no: Mapped[str] = mapped_column(sa.String(CONTRACT_NO_MAX), unique=True)
    request_id: Mapped[int] = mapped_column(sa.ForeignKey("purchase_requests.id"), index=True)
    buyer_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    agency_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    working_days: Mapped[int] = mapped_column()
    status: Mapped[ContractStatus] = mapped_column(
        enum_column(ContractStatus, "contract_status"), default=ContractStatus.DRAFTING, index=True
    )
    current_version: Mapped[int] = mapped_column(default=1)
    # Bumped by every signature and change: serialises concurrent signers of one contract.
    lock_seq: Mapped[int] = mapped_column(default=0)
    # Copied from the service item's template (or the model contract's defaults) when drafted:
    # a later template edit changes neither this contract nor its later versions.
    payment_terms: Mapped[str] = mapped_column(sa.Text, default="")
    acceptance_terms: Mapped[str] = mapped_column(sa.Text, default="")
    special_terms: Mapped[str] = mapped_column(sa.Text, default="")
    template_version: Mapped[int | None] = mapped_column()
    signing_deadline: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    effective_date: Mapped[date | None] = mapped_column(sa.Date)
    due_date: Mapped[date | None] = mapped_column(sa.Date)
    refusal_reason: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    in_force_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    buyer: Mapped[Organisation] = relationship(foreign_keys=[buyer_org_id])
    agency: Mapped[Organisation] = relationship(foreign_keys=[agency_org_id])
    request = relationship("PurchaseRequest")
    versions: Mapped[list[ContractVersion]] = relationship(
        back_populates="contract", order_by="ContractVersion.version", cascade="all, delete-orphan"
    )
    signatures: Mapped[list[ContractSignature]] = relationship(
        back_populates="contract", order_by="ContractSignature.signed_at",
        cascade="all, delete-orphan",
    )

    __table_args__ = (
        # One contract per request and winner: a passed award gives the next winner its own.
        sa.UniqueConstraint("request_id", "agency_org_id", name="one_per_winner"),
        sa.CheckConstraint("price_fen >= 0", name="price_non_negative"),
        sa.CheckConstraint("working_days BETWEEN 1 AND 3650", name="working_days_range"),
        sa.CheckConstraint("current_version >= 1", name="version_positive"),
        sa.CheckConstraint(
            "status NOT IN ('in_force', 'completed') OR (effective_date IS NOT NULL"
            " AND due_date IS NOT NULL)",
            name="in_force_has_dates",
        ),
        sa.CheckConstraint("status <> 'refused' OR refusal_reason <> ''", name="refused_has_reason"),
    )

    def party_of(self, user) -> str | None:
        """"buyer" or "agency" when ``user`` works for that party, else None."""
        org_id = getattr(user, "organisation_id", None)
        if not getattr(user, "is_authenticated", False) or org_id is None:
            return None
        if org_id == self.buyer_org_id:
            return "buyer"
        if org_id == self.agency_org_id:
            return "agency"
        return None

    @property
    def audit_label(self) -> str:
        return f"contract:{self.id} {self.contract_no}"

    def __repr__(self) -> str:
        return f"<Contract {self.id} {self.contract_no} v{self.current_version} {self.status}>"


class ContractVersion(db.Model):
    """One frozen version of the contract document; the sealed file once both parties signed."""

    __tablename__ = "contract_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    version: Mapped[int] = mapped_column()
    pdf: Mapped[bytes] = deferred(mapped_column(sa.LargeBinary))
    sha256: Mapped[str] = mapped_column(sa.String(64), index=True)
    sealed_pdf: Mapped[bytes | None] = deferred(mapped_column(sa.LargeBinary))
    sealed_sha256: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    special_terms: Mapped[str] = mapped_column(sa.Text, default="")
    is_superseded: Mapped[bool] = mapped_column(default=False)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contract: Mapped[Contract] = relationship(back_populates="versions")

    __table_args__ = (sa.UniqueConstraint("contract_id", "version", name="one_per_number"),)

    @property
    def audit_label(self) -> str:
        return f"contract_version:{self.id}"

    def __repr__(self) -> str:
        return f"<ContractVersion {self.contract_id} v{self.version} {self.sha256[:12]}>"


class ContractSignature(db.Model):
    """One party's signature of one version: who, when, from where, over which hash."""

    __tablename__ = "contract_signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    version: Mapped[int] = mapped_column()
    party_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    signer_name: Mapped[str] = mapped_column(sa.String(SIGNER_MAX))
    signer_position: Mapped[str] = mapped_column(sa.String(POSITION_MAX), default="")
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ip: Mapped[str] = mapped_column(sa.String(64), default="")
    user_agent: Mapped[str] = mapped_column(sa.String(USER_AGENT_MAX), default="")
    sha256: Mapped[str] = mapped_column(sa.String(64))
    platform_signature: Mapped[str] = mapped_column(sa.String(200))
    platform_key_id: Mapped[str] = mapped_column(sa.String(100), default="")

    contract: Mapped[Contract] = relationship(back_populates="signatures")
    party: Mapped[Organisation] = relationship()
    user: Mapped[User] = relationship()

    __table_args__ = (
        # Two simultaneous signatures by the same party of the same version: exactly one stays.
        sa.UniqueConstraint("contract_id", "version", "party_org_id", name="once_per_party"),
    )

    @property
    def audit_label(self) -> str:
        return f"contract_signature:{self.id}"

    def __repr__(self) -> str:
        return f"<ContractSignature {self.contract_id} v{self.version} org={self.party_org_id}>"


class ContractTemplate(db.Model):
    """An administrator's clauses for the contracts of one service item; an empty text means
    the model contract's default. Removing it keeps the row (inactive) so versions never repeat.
    """

    __tablename__ = "contract_templates"

    id: Mapped[int] = mapped_column(primary_key=True)
    service_item_id: Mapped[int] = mapped_column(sa.ForeignKey("service_items.id"), unique=True)
    payment_terms: Mapped[str] = mapped_column(sa.Text, default="")
    acceptance_terms: Mapped[str] = mapped_column(sa.Text, default="")
    special_terms: Mapped[str] = mapped_column(sa.Text, default="")
    is_active: Mapped[bool] = mapped_column(default=True)
    # Bumped by every save, also one after a removal: a contract's template_version names one text.
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))

    service_item = relationship("ServiceItem")
    updated_by: Mapped[User | None] = relationship()

    __table_args__ = (sa.CheckConstraint("version >= 1", name="version_positive"),)

    @property
    def audit_label(self) -> str:
        return f"contract_template:{self.id} item={self.service_item_id}"

    def __repr__(self) -> str:
        state = "" if self.is_active else " removed"
        return f"<ContractTemplate item={self.service_item_id} v{self.version}{state}>"


TERMINATION_REASON_MAX = 2000


class TerminationGround(enum.StrEnum):
    """Why a contract in force ends before acceptance (解除合同).

    ``mutual`` needs the other party's agreement; the two ``agency_*`` grounds let the enterprise
    end the contract on its own, and only while the fact holds (checked when it declares).
    """

    MUTUAL = "mutual"
    AGENCY_OVERDUE = "agency_overdue"
    AGENCY_EXCLUDED = "agency_excluded"

    @property
    def label(self):
        return {
            TerminationGround.MUTUAL: _l("Terminated by agreement of both parties"),
            TerminationGround.AGENCY_OVERDUE: _l("The agency is seriously overdue"),
            TerminationGround.AGENCY_EXCLUDED: _l("The agency is suspended or blacklisted"),
        }[self]

    @property
    def unilateral(self) -> bool:
        return self is not TerminationGround.MUTUAL


class TerminationStatus(enum.StrEnum):
    """proposed → agreed | declined | withdrawn (by agreement); declared (by the enterprise alone)."""

    PROPOSED = "proposed"
    AGREED = "agreed"
    DECLINED = "declined"
    WITHDRAWN = "withdrawn"
    DECLARED = "declared"

    @property
    def label(self):
        return {
            TerminationStatus.PROPOSED: _l("Awaiting the other party's answer"),
            TerminationStatus.AGREED: _l("Agreed: the contract is terminated"),
            TerminationStatus.DECLINED: _l("Declined"),
            TerminationStatus.WITHDRAWN: _l("Withdrawn"),
            TerminationStatus.DECLARED: _l("Declared: the contract is terminated"),
        }[self]


class ContractTermination(db.Model):
    """A proposal to end a contract in force, or the enterprise's declaration that ends it."""

    __tablename__ = "contract_terminations"

    id: Mapped[int] = mapped_column(primary_key=True)
    contract_id: Mapped[int] = mapped_column(sa.ForeignKey("contracts.id"), index=True)
    ground: Mapped[TerminationGround] = mapped_column(enum_column(TerminationGround, "termination_ground"))
    status: Mapped[TerminationStatus] = mapped_column(
        enum_column(TerminationStatus, "termination_status"), default=TerminationStatus.PROPOSED, index=True
    )
    proposed_by_org_id: Mapped[int] = mapped_column(sa.ForeignKey("organisations.id"))
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(sa.Text)
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(sa.Text, default="")

    contract: Mapped[Contract] = relationship()
    proposed_by_org: Mapped[Organisation] = relationship(foreign_keys=[proposed_by_org_id])
    proposed_by: Mapped[User] = relationship(foreign_keys=[proposed_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])

    __table_args__ = (
        sa.CheckConstraint("reason <> ''", name="has_reason"),
        sa.CheckConstraint("status IN ('proposed', 'declared') OR decided_at IS NOT NULL",
                           name="decided_has_time"),
        sa.CheckConstraint("status <> 'declared' OR ground <> 'mutual'", name="declared_is_unilateral"),
    )

    @property
    def audit_label(self) -> str:
        return f"contract_termination:{self.id} contract={self.contract_id}"

    def __repr__(self) -> str:
        return f"<ContractTermination {self.id} contract={self.contract_id} {self.ground} {self.status}>"
