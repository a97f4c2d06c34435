"""Contract rules: generation from the final award, changes, signing, refusal, verification.

Services flush and never commit; the caller (a view, the job, the CLI, procurement's job via the
``award_finalised`` signal) commits once. Every status change goes through ``CONTRACT_MACHINE``.
"""

from __future__ import annotations

import importlib.util
import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError

from marketplace.accounts.models import Organisation, Role, User
from marketplace.audit.services import record_event
from marketplace.contracts.documents.render import (
    ContractData,
    Party,
    html_to_pdf,
    render_contract_pdf,
    sha256_hex,
)
from marketplace.contracts.documents.seal import seal_pdf
from marketplace.contracts.documents.signing import sign_record, verify_record
from marketplace.contracts.documents.verify import VerificationResult, verify_document
from marketplace.contracts.models import (
    POSITION_MAX,
    SIGNER_MAX,
    SPECIAL_TERMS_MAX,
    USER_AGENT_MAX,
    Contract,
    ContractSignature,
    ContractStatus,
    ContractVersion,
)
from marketplace.contracts.states import CONTRACT_MACHINE
from marketplace.contracts.templates_service import DEFAULT_PAYMENT_TERMS, terms_for_item
from marketplace.core import keys
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotFound, PermissionDenied
from marketplace.core.passwords import check_password
from marketplace.core.regions import region_name
from marketplace.core.text import clean_text
from marketplace.extensions import db
from marketplace.notifications.kinds import register_kind
from marketplace.notifications.services import notify_organisation
from marketplace.procurement import services as procurement
from marketplace.procurement.models import PurchaseRequest, RequestStatus, SelectionMethod
from marketplace.procurement.signals import award_finalised
from marketplace.procurement.states import REQUEST_MACHINE
from marketplace.sanctions.signals import blacklist_in_force
from marketplace.webhooks.services import emit
from marketplace.workdays.services import add_working_days

log = logging.getLogger(__name__)

SYSTEM = "system"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MAX_PDF_UPLOAD = 20 * 1024 * 1024
SIGNER_ROLES = {"buyer": Role.ENTERPRISE_STAFF, "agency": Role.AGENCY_STAFF}
# The contract is always in Chinese: the method as the model contract's preamble names it.
SELECTION_METHOD_TEXT = {
    SelectionMethod.DIRECT: "网上中介服务超市直接选取",
    SelectionMethod.LOWEST_PRICE: "网上中介服务超市竞价选取",
    SelectionMethod.RANDOM_DRAW: "网上中介服务超市随机抽取",
    SelectionMethod.SCORING: "网上中介服务超市综合评分",
}

register_kind("contracts.drafted", _l("The contract %(no)s is ready to review and sign by %(deadline)s."))
register_kind("contracts.changed", _l("The contract %(no)s was changed (version %(version)s): review and sign it again."))
register_kind("contracts.signed", _l("%(party)s signed the contract %(no)s."))
register_kind("contracts.in_force", _l("The contract %(no)s is in force; the service is due on %(due)s."))
register_kind("contracts.refused", _l("The contract %(no)s was not signed by the agency in time; the award passes on."))
register_kind("contracts.agency_blacklisted", _l(
    "The agency %(agency)s of contract %(no)s was blacklisted (case %(case)s) and leaves the market. "
    "Open the contract to decide how to continue."))


class SigningRefused(DomainError):
    """A signature was refused (wrong password, superseded version, deadline, not a party...)."""


def china_today(now: datetime | None = None) -> date:
    """Today's date in China."""
    return (now or utcnow()).astimezone(SHANGHAI).date()


def _end_of_china_day(day: date) -> datetime:
    return datetime.combine(day, time(23, 59, 59), tzinfo=SHANGHAI).astimezone(UTC)


# --- generation -------------------------------------------------------------------------------


def _party(org: Organisation) -> Party:
    # No signer: the document is drafted (and its hash signed) before anyone signs, and whoever
    # of the party's staff signs types their own name then. The organisation's contact person is
    # not that signer, so printing it named someone who never signed; the text refers to the
    # signature records instead (the completion certificate lists them).
    return Party(
        name=org.name, uscc=org.uscc, legal_representative=org.legal_representative or "",
        address=org.address or "", signer="", phone=org.contact_phone or "",
    )


def contract_data(contract: Contract, version: int, *, drafted_on: date) -> ContractData:
    """The document data of ``contract`` (version ``version``): the request, its parties and the
    clauses stored on the contract when it was drafted."""
    req: PurchaseRequest = contract.request
    case = req.approval_case
    return ContractData(
        contract_no=contract.contract_no,
        version=version,
        buyer=_party(contract.buyer),
        agency=_party(contract.agency),
        approval_case_no=case.case_number,
        approval_item=case.approval_item.name,
        service_item=req.service_item.name,
        request_no=req.reference,
        request_title=req.title,
        service_content=req.content,
        price_fen=contract.price_fen,
        working_days=contract.working_days,
        # Contracts drafted before templates existed stored no payment terms: the default.
        payment_terms=contract.payment_terms or DEFAULT_PAYMENT_TERMS,
        region=region_name(req.region_code) or req.region_code,
        drafted_on=drafted_on,
        special_terms=contract.special_terms or "",
        acceptance_terms=contract.acceptance_terms or "",
        selection_method=SELECTION_METHOD_TEXT[req.selection_method],
        effective_date=contract.effective_date,
        due_date=contract.due_date,
    )


def _next_contract_no(req: PurchaseRequest, now: datetime) -> str:
    count = db.session.execute(
        sa.select(sa.func.count()).select_from(Contract).where(Contract.request_id == req.id)
    ).scalar_one()
    return f"ZJHT-{china_today(now).year}-{req.id:06d}-{count + 1}"


def _add_version(contract: Contract, number: int, *, actor, now: datetime) -> ContractVersion:
    rendered = render_contract_pdf(contract_data(contract, number, drafted_on=china_today(now)))
    version = ContractVersion(
        contract=contract, version=number, pdf=rendered.pdf, sha256=rendered.sha256,
        special_terms=contract.special_terms or "", created_by_id=getattr(actor, "id", None),
        created_at=now,
    )
    db.session.add(version)
    db.session.flush()
    return version


def signing_deadline_for(now: datetime) -> datetime:
    """The end (in China) of the CONTRACT_SIGNING_DAYS-th working day after ``now``."""
    days = int(current_app.config.get("CONTRACT_SIGNING_DAYS", 5))
    return _end_of_china_day(add_working_days(china_today(now), days))


def generate_contract(req: PurchaseRequest, *, actor=SYSTEM, now: datetime | None = None) -> Contract:
    """Draft the contract of a final award: version 1 rendered, frozen and hashed; both told.

    The clauses are copied from the service item's template (or the model contract's defaults),
    so a later template edit changes neither this contract nor its later versions.

    Idempotent: the existing contract for this request and winner is returned.

    Raises:
        DomainError: the request has no winner; RenderError when the document cannot be rendered.
    """
    # The deadline runs from the final award (the job may run late, or be told another time).
    now = now or req.award_finalised_at or utcnow()
    if not req.has_winner or req.awarded_org_id is None:
        raise DomainError(_l("Only an awarded request gets a contract."))
    existing = db.session.execute(
        sa.select(Contract).where(Contract.request_id == req.id,
                                  Contract.agency_org_id == req.awarded_org_id)
    ).scalar_one_or_none()
    if existing is not None:
        return existing
    terms = terms_for_item(req.service_item_id)
    contract = Contract(
        contract_no=_next_contract_no(req, now), request=req, buyer_org_id=req.enterprise_id,
        agency_org_id=req.awarded_org_id, price_fen=req.awarded_price_fen,
        working_days=req.awarded_days, status=ContractStatus.DRAFTING, current_version=1,
        signing_deadline=signing_deadline_for(now), created_at=now,
        payment_terms=terms.payment_terms, acceptance_terms=terms.acceptance_terms,
        special_terms=terms.special_terms, template_version=terms.template_version,
    )
    db.session.add(contract)
    db.session.flush()
    version = _add_version(contract, 1, actor=actor, now=now)
    record_event("contract.drafted", contract, actor=actor, payload={
        "request": req.id, "agency": contract.agency_org_id, "version": 1, "sha256": version.sha256,
        "signing_deadline": contract.signing_deadline.isoformat(),
        "template_version": contract.template_version,
    })
    CONTRACT_MACHINE.transition(contract, ContractStatus.AWAITING_SIGNATURES, actor=actor)
    params = {"no": contract.contract_no,
              "deadline": contract.signing_deadline.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")}
    for org in (contract.buyer, contract.agency):
        notify_organisation(org, "contracts.drafted", params=params,
                            link=f"/contracts/{contract.id}",
                            dedupe_key=f"contract-drafted:{contract.id}")
    return contract


def _on_award_finalised(sender, **_extra) -> None:
    """Procurement made an award final: draft its contract (inside procurement's transaction)."""
    generate_contract(sender)


award_finalised.connect(_on_award_finalised)


# --- reading ----------------------------------------------------------------------------------


def get_contract(contract_id) -> Contract:
    """The contract with this id.

    Raises:
        NotFound: no such contract (or a malformed id).
    """
    try:
        contract_id = int(contract_id)
    except (TypeError, ValueError):
        contract_id = 0
    contract = db.session.get(Contract, contract_id) if 0 < contract_id < 2**31 else None
    if contract is None:
        raise NotFound(_l("This contract does not exist."))
    return contract


def get_contract_for(user, contract_id) -> Contract:
    """A contract the user's organisation is a party to (officials see all).

    Raises:
        NotFound: no such contract, or not visible to ``user``.
    """
    contract = get_contract(contract_id)
    if contract.party_of(user) is None and getattr(user, "role", None) not in (Role.ADMIN, Role.REGULATOR):
        raise NotFound(_l("This contract does not exist."))
    return contract


def contract_for_request(req: PurchaseRequest) -> Contract | None:
    """The request's newest contract (an earlier one may have been refused and the award passed on)."""
    return db.session.execute(
        sa.select(Contract).where(Contract.request_id == req.id).order_by(Contract.id.desc()).limit(1)
    ).scalar_one_or_none()


def find_by_number(contract_no: str) -> Contract | None:
    """The contract with this number, if any."""
    contract_no = (contract_no or "").strip()[:60]
    if not contract_no:
        return None
    return db.session.execute(
        sa.select(Contract).where(Contract.contract_no == contract_no)
    ).scalar_one_or_none()


def current_version(contract: Contract) -> ContractVersion:
    """The version the parties are to sign (or have signed)."""
    return next(v for v in contract.versions if v.version == contract.current_version)


def signatures_of(contract: Contract, version: int | None = None) -> list[ContractSignature]:
    """The signatures of one version (default: the current one)."""
    number = contract.current_version if version is None else version
    return list(db.session.execute(
        sa.select(ContractSignature).where(ContractSignature.contract_id == contract.id,
                                           ContractSignature.version == number)
        .order_by(ContractSignature.signed_at)
    ).scalars())


def signature_is_valid(sig: ContractSignature) -> bool:
    """Whether the platform's Ed25519 record of the signature verifies."""
    return verify_record(sig.contract_id, sig.version, sig.sha256, sig.user_id, sig.signer_name,
                         sig.signed_at, sig.platform_signature, signer_position=sig.signer_position)


def contracts_of_query(org_id: int) -> sa.Select:
    """The contracts an organisation is a party to, newest first (the API pages through it)."""
    return (sa.select(Contract)
            .where(sa.or_(Contract.buyer_org_id == org_id, Contract.agency_org_id == org_id))
            .order_by(Contract.id.desc()))


def contracts_of(org_id: int) -> list[Contract]:
    """The contracts an organisation is a party to, newest first."""
    return list(db.session.execute(contracts_of_query(org_id)).scalars())


def public_notices(*, page: int = 1, per_page: int = 30):
    """Contract notices (合同公告): contracts that came into force, newest first (public fields only)."""
    return db.paginate(public_notices_query(), page=page, per_page=per_page, error_out=False)


def public_notices_query() -> sa.Select:
    """The query behind :func:`public_notices` (the page and the API share it): every contract
    that came into force, including those completed or terminated since."""
    return (
        sa.select(Contract).where(sa.or_(
            Contract.status.in_([ContractStatus.IN_FORCE, ContractStatus.COMPLETED]),
            sa.and_(Contract.status == ContractStatus.TERMINATED, Contract.in_force_at.is_not(None))))
        .order_by(Contract.in_force_at.desc(), Contract.id.desc())
    )


# --- changes and signing ---------------------------------------------------------------------


def _lock(contract: Contract, *, version: int | None = None) -> None:
    """Take the contract row (serialises signers and changes); refuse if it moved on.

    Raises:
        SigningRefused: the contract no longer awaits signatures or the version changed.
    """
    db.session.flush()
    conditions = [Contract.id == contract.id, Contract.status == ContractStatus.AWAITING_SIGNATURES]
    if version is not None:
        conditions.append(Contract.current_version == version)
    result = db.session.execute(
        sa.update(Contract).where(*conditions).values(lock_seq=Contract.lock_seq + 1)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        db.session.rollback()
        raise SigningRefused(_l("This version has been superseded or the contract no longer awaits "
                                "signatures. Reload the page and review the current version."))
    db.session.refresh(contract)


def _check_open(contract: Contract, now: datetime) -> None:
    if contract.status is not ContractStatus.AWAITING_SIGNATURES:
        raise SigningRefused(_l("This contract no longer awaits signatures."))
    if now > contract.signing_deadline:
        raise SigningRefused(_l("The signing deadline has passed."))


def _party_or_refuse(contract: Contract, user) -> str:
    party = contract.party_of(user)
    if party is None or getattr(user, "role", None) is not SIGNER_ROLES[party] or not user.is_enabled:
        raise PermissionDenied(_l("Only an authorised user of a party to this contract can do this."))
    return party


def propose_changes(contract: Contract, special_terms: str, *, actor: User,
                    now: datetime | None = None) -> ContractVersion:
    """A party agrees changed special terms before signing: a new version, the old one kept.

    Signatures on earlier versions no longer count.

    Raises:
        PermissionDenied: not a party's authorised user.
        SigningRefused: the contract no longer awaits signatures or the deadline passed.
        DomainError: the text is too long or has control characters.
    """
    now = now or utcnow()
    _party_or_refuse(contract, actor)
    _check_open(contract, now)
    terms = clean_text(special_terms, max_len=SPECIAL_TERMS_MAX, field="special_terms",
                       required=False, multiline=True)
    _lock(contract)
    old = current_version(contract)
    old.is_superseded = True
    contract.special_terms = terms
    contract.current_version = old.version + 1
    version = _add_version(contract, old.version + 1, actor=actor, now=now)
    record_event("contract.changed", contract, actor=actor, payload={
        "from_version": old.version, "version": version.version, "sha256": version.sha256,
        "old_sha256": old.sha256,
    })
    params = {"no": contract.contract_no, "version": version.version}
    for org in (contract.buyer, contract.agency):
        notify_organisation(org, "contracts.changed", params=params, link=f"/contracts/{contract.id}",
                            dedupe_key=f"contract-changed:{contract.id}:{version.version}")
    return version


@dataclass(frozen=True)
class SignatureInput:
    """What the signer typed: password (re-authentication), name and position."""

    password: str
    signer_name: str
    signer_position: str = ""
    version: int | None = None
    ip: str = ""
    user_agent: str = ""


def sign_contract(contract: Contract, data: SignatureInput, *, actor: User,
                  now: datetime | None = None) -> ContractSignature:
    """The actor signs the current version for their party; the contract enters into force when
    both parties have signed it (sealed PDF, effective and due dates, request contracted).

    Raises:
        PermissionDenied: not an authorised user of either party.
        SigningRefused: wrong password, superseded version, already signed by this party,
            deadline passed, or the contract no longer awaits signatures.
        DomainError: the name or position is empty, too long or has control characters.
    """
    now = now or utcnow()
    party = _party_or_refuse(contract, actor)
    if not check_password(actor.password_hash, data.password or ""):
        raise SigningRefused(_l("The password is not correct."), field="password")
    name = clean_text(data.signer_name, max_len=SIGNER_MAX, field="signer_name")
    position = clean_text(data.signer_position, max_len=POSITION_MAX, field="signer_position",
                          required=False)
    _check_open(contract, now)
    expected = data.version if data.version is not None else contract.current_version
    if expected != contract.current_version:
        raise SigningRefused(_l("This version has been superseded. Review the current version and "
                                "sign that."))
    _lock(contract, version=expected)
    org_id = contract.buyer_org_id if party == "buyer" else contract.agency_org_id
    if any(s.party_org_id == org_id for s in signatures_of(contract)):
        raise SigningRefused(_l("Your organisation has already signed this version."))
    version = current_version(contract)
    sig = ContractSignature(
        contract_id=contract.id, version=version.version, party_org_id=org_id, user_id=actor.id,
        signer_name=name, signer_position=position, signed_at=now, ip=(data.ip or "")[:64],
        user_agent=(data.user_agent or "")[:USER_AGENT_MAX], sha256=version.sha256,
        platform_signature=sign_record(contract.id, version.version, version.sha256, actor.id, name,
                                       now, signer_position=position),
        platform_key_id=keys.key_id()[:100],
    )
    try:
        with db.session.begin_nested():
            db.session.add(sig)
            db.session.flush()
    except IntegrityError as exc:
        raise SigningRefused(_l("Your organisation has already signed this version.")) from exc
    db.session.refresh(contract)
    record_event("contract.signed", contract, actor=actor, payload={
        "party": party, "org": org_id, "version": version.version, "sha256": version.sha256,
        "signer": name, "position": position, "at": now.isoformat(), "ip": sig.ip,
    })
    other = contract.agency if party == "buyer" else contract.buyer
    notify_organisation(other, "contracts.signed",
                        params={"no": contract.contract_no, "party": actor.organisation.name},
                        link=f"/contracts/{contract.id}",
                        dedupe_key=f"contract-signed:{contract.id}:{version.version}:{org_id}")
    if {s.party_org_id for s in signatures_of(contract)} >= {contract.buyer_org_id, contract.agency_org_id}:
        _enter_into_force(contract, version, actor=actor, now=now)
    return sig


def _enter_into_force(contract: Contract, version: ContractVersion, *, actor, now: datetime) -> None:
    sealed = seal_pdf(version.pdf, reason=f"合同 {contract.contract_no} 已由双方签署",
                      location=region_name(contract.request.region_code) or "中国")
    version.sealed_pdf = sealed
    version.sealed_sha256 = sha256_hex(sealed)
    contract.effective_date = china_today(now)
    contract.due_date = add_working_days(contract.effective_date, contract.working_days)
    contract.in_force_at = now
    CONTRACT_MACHINE.transition(contract, ContractStatus.IN_FORCE, actor=actor, payload={
        "version": version.version, "sha256": version.sha256, "sealed_sha256": version.sealed_sha256,
        "effective_date": contract.effective_date.isoformat(), "due_date": contract.due_date.isoformat(),
    })
    req = contract.request
    if REQUEST_MACHINE.can(req.status, RequestStatus.CONTRACTED):
        REQUEST_MACHINE.transition(req, RequestStatus.CONTRACTED, actor=actor,
                                   payload={"contract": contract.contract_no})
    emit("contract.in_force", {
        "contract_no": contract.contract_no, "request_id": contract.request_id,
        "buyer_org_id": contract.buyer_org_id, "agency_org_id": contract.agency_org_id,
        "price_fen": contract.price_fen, "effective_date": contract.effective_date.isoformat(),
        "due_date": contract.due_date.isoformat(), "sha256": version.sha256,
        "sealed_sha256": version.sealed_sha256,
        "approval_case_id": req.approval_case_id,
    }, audience=[contract.buyer_org_id, contract.agency_org_id, req.approval_case.department_id])
    params = {"no": contract.contract_no, "due": contract.due_date.isoformat()}
    for org in (contract.buyer, contract.agency):
        notify_organisation(org, "contracts.in_force", params=params, link=f"/contracts/{contract.id}",
                            dedupe_key=f"contract-in-force:{contract.id}")


# --- the deadline ----------------------------------------------------------------------------


def overdue_contract_ids(now: datetime) -> list[int]:
    """Contracts awaiting signatures whose signing deadline has passed."""
    return list(db.session.execute(
        sa.select(Contract.id).where(Contract.status == ContractStatus.AWAITING_SIGNATURES,
                                     Contract.signing_deadline < now).order_by(Contract.id)
    ).scalars())


def refuse_unsigned(contract: Contract, *, now: datetime | None = None, actor=SYSTEM) -> bool:
    """Past the deadline without the agency's signature: the agency refused; the award passes on.

    Returns whether it did anything (False when the agency signed or the deadline is ahead).
    """
    now = now or utcnow()
    if contract.status is not ContractStatus.AWAITING_SIGNATURES or now <= contract.signing_deadline:
        return False
    if any(s.party_org_id == contract.agency_org_id for s in signatures_of(contract)):
        return False
    contract.refusal_reason = "乙方未在签约期限内签署合同"
    CONTRACT_MACHINE.transition(contract, ContractStatus.REFUSED, actor=actor,
                                reason=contract.refusal_reason,
                                payload={"deadline": contract.signing_deadline.isoformat()})
    if importlib.util.find_spec("marketplace.credit.services") is not None:
        credit = importlib.import_module("marketplace.credit.services")
        credit.record_credit_input(
            contract.agency_org_id, "signing_refusal", occurred_at=now, now=now,
            refs=[("contract", contract.id, contract.contract_no),
                  ("purchase_request", contract.request_id)],
            note=contract.refusal_reason, actor=None,
        )
    req = contract.request
    if req.status is RequestStatus.AWARDED and req.awarded_org_id == contract.agency_org_id:
        procurement.pass_award_to_next(req, contract.refusal_reason, SYSTEM, now=now)
    params = {"no": contract.contract_no}
    for org in (contract.buyer, contract.agency):
        notify_organisation(org, "contracts.refused", params=params, link=f"/contracts/{contract.id}",
                            dedupe_key=f"contract-refused:{contract.id}")
    return True


# --- verification -----------------------------------------------------------------------------


@dataclass
class Verification:
    """What the verification page and the CLI report about a file or a contract number."""

    contract: Contract | None = None
    version: ContractVersion | None = None
    result: VerificationResult | None = None
    signatures: list[ContractSignature] = field(default_factory=list)
    messages: list = field(default_factory=list)

    @property
    def is_signed_version(self) -> bool:
        """The version both parties signed, of a contract in force (or completed)."""
        return bool(
            self.contract is not None and self.version is not None
            and self.contract.status in (ContractStatus.IN_FORCE, ContractStatus.COMPLETED)
            and self.version.version == self.contract.current_version
            and self.version.sealed_sha256 is not None
        )

    @property
    def ok(self) -> bool:
        """A file was checked, it is the sealed signed version, and the seal is intact."""
        return bool(self.is_signed_version and self.result is not None and self.result.ok)


def _find_version(*hashes: str | None) -> ContractVersion | None:
    wanted = [h for h in hashes if h]
    if not wanted:
        return None
    return db.session.execute(
        sa.select(ContractVersion).where(sa.or_(ContractVersion.sha256.in_(wanted),
                                                ContractVersion.sealed_sha256.in_(wanted)))
        .order_by(ContractVersion.id)
    ).scalars().first()


def verify_contract(pdf_bytes: bytes | None = None, contract_no: str | None = None) -> Verification:
    """Check an uploaded PDF and/or a contract number against the stored hashes and the seal.

    Never raises on bad input (a wrong file, an unknown number).
    """
    out = Verification()
    if contract_no:
        out.contract = find_by_number(contract_no)
        if out.contract is None:
            out.messages.append(_l("No contract has this number."))
    if pdf_bytes is None:
        if out.contract is not None:
            out.version = current_version(out.contract)
            out.signatures = signatures_of(out.contract)
        return out
    first = verify_document(pdf_bytes)
    version = _find_version(first.sha256,
                            first.seal.sealed_content_sha256 if first.seal.ok else None)
    if out.contract is not None:
        if version is not None and version.contract_id != out.contract.id:
            out.messages.append(_l("The file belongs to another contract."))
            version = None
        expected = current_version(out.contract)
        out.result = verify_document(pdf_bytes, expected.sealed_sha256 or expected.sha256)
    elif version is not None:
        out.contract = version.contract
        out.result = verify_document(pdf_bytes, version.sealed_sha256 or version.sha256)
    else:
        out.result = first
        out.messages.append(_l("The file is not a contract document recorded by this platform."))
    out.version = version
    if version is not None:
        out.signatures = signatures_of(version.contract, version.version)
        if version.is_superseded:
            out.messages.append(_l("The file is version %(n)d, which was superseded by a later "
                                   "version.", n=version.version))
        elif not out.is_signed_version:
            out.messages.append(_l("The file is version %(n)d, which has not been signed by both "
                                   "parties.", n=version.version))
    return out


def certificate_events(contract: Contract) -> list[dict]:
    """The signing timeline: drafting, each version, each signature, entry into force."""
    events = [{"at": contract.created_at, "what": _l("Contract drafted"), "detail": contract.contract_no}]
    for v in contract.versions:
        events.append({"at": v.created_at, "what": _l("Version %(n)d frozen", n=v.version),
                       "detail": v.sha256})
    for s in contract.signatures:
        events.append({
            "at": s.signed_at,
            "what": _l("Signed by %(org)s", org=s.party.name),
            "detail": f"{s.signer_name} {s.signer_position} · v{s.version} · {s.sha256}",
            "valid": signature_is_valid(s),
        })
    if contract.in_force_at:
        events.append({"at": contract.in_force_at, "what": _l("Sealed and in force"),
                       "detail": current_version(contract).sealed_sha256})
    return sorted(events, key=lambda e: e["at"])


def certificate_pdf(contract: Contract, html: str) -> bytes:
    """The certificate of completion of an in-force contract as a PDF, from its rendered page.

    Rendered on request (it is a report of the stored records, not evidence itself); dated by
    the entry into force, so the same records give the same file.

    Raises:
        RenderError: no CJK font is installed.
    """
    return html_to_pdf(html, title=f"签署完成证明 {contract.contract_no}",
                       created=contract.in_force_at or contract.created_at)


def read_upload(stream) -> bytes:
    """The bytes of an uploaded PDF, refusing what is too large or not a PDF.

    Raises:
        DomainError: more than MAX_PDF_UPLOAD bytes, or not starting with %PDF.
    """
    data = stream.read(MAX_PDF_UPLOAD + 1)
    if len(data) > MAX_PDF_UPLOAD:
        raise DomainError(_l("The file is too large."), field="file")
    if not data.startswith(b"%PDF"):
        raise DomainError(_l("The file is not a PDF."), field="file")
    return data


# --- a blacklisting's exit (清退) -------------------------------------------------------------

OPEN_STATUSES = (ContractStatus.AWAITING_SIGNATURES, ContractStatus.IN_FORCE)


def open_contracts_of_agency(org_id: int) -> list[Contract]:
    """The agency's contracts awaiting signatures or in force."""
    return list(db.session.execute(
        sa.select(Contract).where(Contract.agency_org_id == org_id, Contract.status.in_(OPEN_STATUSES))
        .order_by(Contract.id)
    ).scalars())


def flag_blacklisted_agency(case) -> int:
    """Tell the enterprises of the agency's open contracts that it was blacklisted (once each).

    The contract page shows the warning while the blacklisting is in force. Returns how many
    contracts were flagged.
    """
    contracts = open_contracts_of_agency(case.organisation_id)
    for contract in contracts:
        record_event("contract.agency_blacklisted", contract, actor=f"sanction {case.reference}",
                     payload={"case": case.reference, "agency": case.organisation_id})
        notify_organisation(contract.buyer, "contracts.agency_blacklisted",
                            params={"no": contract.contract_no, "agency": contract.agency.name,
                                    "case": case.reference},
                            link=f"/contracts/{contract.id}",
                            dedupe_key=f"contract-agency-blacklisted:{contract.id}:{case.id}")
    return len(contracts)


def _on_blacklist_in_force(case, **_extra) -> None:
    """Sanctions: a blacklisting is in force; flag its open contracts (same transaction)."""
    flag_blacklisted_agency(case)


blacklist_in_force.connect(_on_blacklist_in_force)
