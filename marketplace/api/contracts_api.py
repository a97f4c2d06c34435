"""Contracts and their delivery, for either party (and the delivery for the case's department).

A token acts for its organisation as its staff would (``TokenActor``). Who sees a contract is
``contracts.get_contract_for`` (the two parties); who sees a delivery, which versions and which
files is ``delivery.get_contract_for`` / ``visible_submissions`` / ``get_file_for`` (the parties
every version, the approval officers of the case's department only the accepted one).

Contracts are never signed here: ``sign_contract`` re-checks the signer's password, so a person
signs on the site, on the page ``sign_url`` names. The agency delivers its result here
(``submit_result``, the site's upload checks) and either party proposes a later due date
(``propose_extension``); the version or proposal records the token, as the audit trail does.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Response, g, request, url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint, abort

from marketplace.api.auth import token_required
from marketplace.api.common import ID, SECURITY, error_docs, state_conflict, token_actor
from marketplace.api.pagination import CursorArgs, page
from marketplace.api.public import CodedRefSchema, RefSchema
from marketplace.api.schemas import ErrorSchema, StrictSchema, page_schema
from marketplace.contracts import services as contracts
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.uploads import DOCUMENT_TYPES, send_stored_file
from marketplace.delivery import services as delivery
from marketplace.delivery.models import MAX_FILES, SUMMARY_MAX
from marketplace.extensions import db

BINARY = {"schema": {"type": "string", "format": "binary"}}

contracts_bp = Blueprint(
    "api_contracts", __name__,
    description="Contracts and the delivery of their results, for the parties (not signed through the API: "
                "a person signs on the site)",
)


def _errors(*codes):
    return error_docs(contracts_bp, *codes)


# --- shapes ------------------------------------------------------------------------------------


class PartyContractSignatureSchema(ma.Schema):
    party = ma.fields.Function(lambda s: s["party"], metadata={"description": "buyer or agency"})
    organisation = ma.fields.Nested(RefSchema)
    signer_name = ma.fields.String()
    signer_position = ma.fields.String()
    signed_at = ma.fields.DateTime()
    version = ma.fields.Integer()
    sha256 = ma.fields.String(metadata={"description": "the hash of the version the signature covers"})


class PartyContractVersionSchema(ma.Schema):
    version = ma.fields.Integer()
    sha256 = ma.fields.String(metadata={"description": "SHA-256 of the version's PDF as drafted"})
    sealed_sha256 = ma.fields.String(allow_none=True,
                                     metadata={"description": "SHA-256 of the sealed PDF, once both signed"})
    superseded = ma.fields.Boolean()
    created_at = ma.fields.DateTime()
    pdf_url = ma.fields.String(metadata={"description": "the PDF (the sealed one once in force), with the token"})


class PartyContractSummarySchema(ma.Schema):
    id = ma.fields.Integer()
    contract_no = ma.fields.String()
    status = ma.fields.String(metadata={"description": "drafting, awaiting_signatures, in_force, refused, "
                                                       "terminated, completed"})
    role = ma.fields.String(metadata={"description": "the caller's side: buyer or agency"})
    buyer = ma.fields.Nested(RefSchema)
    agency = ma.fields.Nested(RefSchema)
    request_id = ma.fields.Integer()
    service_item = ma.fields.Nested(CodedRefSchema)
    price_fen = ma.fields.Integer()
    working_days = ma.fields.Integer()
    current_version = ma.fields.Integer()
    signing_deadline = ma.fields.DateTime()
    in_force_at = ma.fields.DateTime(allow_none=True)
    url = ma.fields.String(metadata={"description": "this contract in the API"})


class PartyContractSchema(PartyContractSummarySchema):
    sha256 = ma.fields.String(allow_none=True, metadata={"description": "SHA-256 of the current version's PDF"})
    sealed_sha256 = ma.fields.String(allow_none=True)
    effective_date = ma.fields.Date(allow_none=True)
    due_date = ma.fields.Date(allow_none=True)
    refusal_reason = ma.fields.String()
    signatures = ma.fields.List(ma.fields.Nested(PartyContractSignatureSchema),
                                metadata={"description": "the signatures of the current version"})
    awaiting = ma.fields.List(ma.fields.String(),
                              metadata={"description": "the parties (buyer, agency) still to sign the current "
                                                       "version"})
    versions = ma.fields.List(ma.fields.Nested(PartyContractVersionSchema))
    sign_url = ma.fields.String(metadata={"description": "the page on the site where a person of each party "
                                                        "reviews and signs (with their password)"})
    pdf_url = ma.fields.String(allow_none=True, metadata={"description": "the current version's PDF, with the token"})
    delivery_url = ma.fields.String(allow_none=True, metadata={"description": "the delivery, once in force"})


class PartyDeliveryFileSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    content_type = ma.fields.String()
    size_bytes = ma.fields.Integer()
    sha256 = ma.fields.String()
    download_url = ma.fields.String()


class PartyDeliverySubmissionSchema(ma.Schema):
    version = ma.fields.Integer()
    summary = ma.fields.String()
    submitted_at = ma.fields.DateTime()
    submitted_on = ma.fields.Date(metadata={"description": "the day in China it arrived"})
    accepted = ma.fields.Boolean()
    revision_reason = ma.fields.String()
    revision_requested_at = ma.fields.DateTime(allow_none=True)
    files = ma.fields.List(ma.fields.Nested(PartyDeliveryFileSchema))


class PartyDeliveryExtensionSchema(ma.Schema):
    """A due-date proposal (a ``DeliveryExtension`` row), for the parties."""

    id = ma.fields.Integer()
    status = ma.fields.Function(lambda e: e.status.value)
    proposed_by = ma.fields.Nested(RefSchema, attribute="proposed_by_org")
    current_due_date = ma.fields.Date()
    proposed_due_date = ma.fields.Date()
    reason = ma.fields.String()
    proposed_at = ma.fields.DateTime()
    decided_at = ma.fields.DateTime(allow_none=True)
    decision_note = ma.fields.String()


class PartyDeliveryCountdownSchema(ma.Schema):
    state = ma.fields.String(metadata={"description": "left, overrun, paused, with_buyer, accepted, ended"})
    days = ma.fields.Integer(metadata={"description": "working days left (left) or over (overrun)"})
    label = ma.fields.String()


class PartyContractDeliverySchema(ma.Schema):
    contract_id = ma.fields.Integer()
    contract_no = ma.fields.String()
    status = ma.fields.String(metadata={"description": "in_progress, submitted, revision_requested, accepted"})
    original_due_date = ma.fields.Date()
    due_date = ma.fields.Date()
    countdown = ma.fields.Nested(PartyDeliveryCountdownSchema)
    overrun_days = ma.fields.Integer(allow_none=True)
    accepted_version = ma.fields.Integer(allow_none=True)
    accepted_at = ma.fields.DateTime(allow_none=True)
    submissions = ma.fields.List(ma.fields.Nested(PartyDeliverySubmissionSchema),
                                 metadata={"description": "the versions visible to the caller, oldest first"})
    extensions = ma.fields.List(ma.fields.Nested(PartyDeliveryExtensionSchema),
                                metadata={"description": "proposed due-date extensions (the parties only)"})
    web_url = ma.fields.String(metadata={"description": "the delivery page on the site"})


# --- contracts ---------------------------------------------------------------------------------


def _summary(contract: Contract, org_id: int) -> dict:
    return {
        "id": contract.id, "contract_no": contract.contract_no, "status": contract.status.value,
        "role": "buyer" if contract.buyer_org_id == org_id else "agency",
        "buyer": contract.buyer, "agency": contract.agency, "request_id": contract.request_id,
        "service_item": contract.request.service_item, "price_fen": contract.price_fen,
        "working_days": contract.working_days, "current_version": contract.current_version,
        "signing_deadline": contract.signing_deadline, "in_force_at": contract.in_force_at,
        "url": url_for("api_contracts.ContractView", contract_id=contract.id, _external=True),
    }


def _pdf_url(contract: Contract, number: int) -> str:
    return url_for("api_contracts.ContractPdf", contract_id=contract.id, number=number, _external=True)


def _detail(contract: Contract, org_id: int) -> dict:
    try:
        version = contracts.current_version(contract)
    except StopIteration:  # a contract row being drafted has no document yet
        version = None
    signatures = contracts.signatures_of(contract)
    signed = {s.party_org_id for s in signatures}
    parties = {contract.buyer_org_id: "buyer", contract.agency_org_id: "agency"}
    data = _summary(contract, org_id)
    data.update(
        sha256=version and version.sha256, sealed_sha256=version and version.sealed_sha256,
        effective_date=contract.effective_date,
        due_date=contract.due_date, refusal_reason=contract.refusal_reason,
        signatures=[{"party": parties.get(s.party_org_id, ""), "organisation": s.party, "signer_name": s.signer_name,
                     "signer_position": s.signer_position, "signed_at": s.signed_at, "version": s.version,
                     "sha256": s.sha256} for s in signatures],
        awaiting=[] if contract.status is not ContractStatus.AWAITING_SIGNATURES
        else [party for oid, party in parties.items() if oid not in signed],
        versions=[{"version": v.version, "sha256": v.sha256, "sealed_sha256": v.sealed_sha256,
                   "superseded": v.is_superseded, "created_at": v.created_at, "pdf_url": _pdf_url(contract, v.version)}
                  for v in contract.versions],
        sign_url=url_for("contracts.detail", contract_id=contract.id, _external=True),
        pdf_url=version and _pdf_url(contract, version.version),
        delivery_url=url_for("api_contracts.DeliveryView", contract_id=contract.id, _external=True)
        if contract.in_force_at is not None else None,
    )
    return data


@contracts_bp.route("")
class Contracts(MethodView):
    @contracts_bp.doc(security=SECURITY)
    @contracts_bp.arguments(CursorArgs, location="query")
    @contracts_bp.response(200, page_schema(PartyContractSummarySchema, "PartyContractPage"))
    @contracts_bp.alt_response(400, schema=ErrorSchema, description="Malformed cursor")
    @_errors(401, 403)
    @token_required("contracts:read")
    def get(self, args):
        """The contracts the token's organisation is a party to, newest first."""
        org_id = g.api_org.id
        items, cursor = page(contracts.contracts_of_query(org_id).order_by(None), Contract.id, args, descending=True)
        return {"items": [_summary(c, org_id) for c in items], "next_cursor": cursor}


@contracts_bp.route(f"/<{ID}:contract_id>")
class ContractView(MethodView):
    @contracts_bp.doc(security=SECURITY)
    @contracts_bp.response(200, PartyContractSchema)
    @_errors(401, 403, 404)
    @token_required("contracts:read")
    def get(self, contract_id):
        """One contract for its parties: status, current version and its SHA-256, signatures.

        The API does not sign: a person of each party signs on the site (``sign_url``), re-entering their
        password. Once both have signed the contract is in force (``in_force_at``) and ``sealed_sha256`` is
        the hash of the sealed PDF.
        """
        contract = contracts.get_contract_for(token_actor(), contract_id)
        return _detail(contract, g.api_org.id)


@contracts_bp.route(f"/<{ID}:contract_id>/versions/<{ID}:number>/pdf")
class ContractPdf(MethodView):
    @contracts_bp.doc(security=SECURITY, responses={"200": {
        "description": "The version's PDF (the sealed one once in force)", "content": {"application/pdf": BINARY}}})
    @_errors(401, 403, 404)
    @token_required("contracts:read")
    def get(self, contract_id, number):
        """A version's PDF, as the parties download it on the site."""
        contract = contracts.get_contract_for(token_actor(), contract_id)
        version = next((v for v in contract.versions if v.version == number), None)
        if version is None:
            raise NotFound(_l("This contract does not exist."))
        data = version.sealed_pdf or version.pdf
        suffix = "-sealed" if version.sealed_pdf else ""
        return Response(data, mimetype="application/pdf", headers={
            "Content-Disposition": f'attachment; filename="{contract.contract_no}-v{number}{suffix}.pdf"',
            "Cache-Control": "private, no-store"})


# --- delivery ----------------------------------------------------------------------------------


def _load_delivery(contract_id: int):
    """The contract in force (or since ended) and its delivery, opened on the first look as on the site."""
    actor = token_actor()
    contract = delivery.get_contract_for(actor, contract_id)
    found = delivery.delivery_of(contract)
    if found is None:
        # The site opens the delivery on the first visit once the contract is in force; so does this.
        try:
            found = delivery.open_delivery(contract, actor=actor)
        except DomainError:
            db.session.rollback()
            raise NotFound(_l("This page does not exist.")) from None
        db.session.commit()
    return actor, contract, found


def _file(contract_id: int, item) -> dict:
    stored = item.stored
    return {"id": item.id, "name": stored.original_name, "content_type": stored.content_type,
            "size_bytes": stored.size_bytes, "sha256": stored.sha256,
            "download_url": url_for("api_contracts.DeliveryFileView", contract_id=contract_id, file_id=item.id,
                                    _external=True)}


def _submission(contract_id: int, s) -> dict:
    return {"version": s.version, "summary": s.summary, "submitted_at": s.submitted_at,
            "submitted_on": s.submitted_on, "accepted": s.is_accepted, "revision_reason": s.revision_reason,
            "revision_requested_at": s.revision_requested_at, "files": [_file(contract_id, f) for f in s.files]}


@contracts_bp.route(f"/<{ID}:contract_id>/delivery")
class DeliveryView(MethodView):
    @contracts_bp.doc(security=SECURITY)
    @contracts_bp.response(200, PartyContractDeliverySchema)
    @_errors(401, 403, 404)
    @token_required("contracts:read")
    def get(self, contract_id):
        """The delivery of a contract in force: due date, countdown, status, the versions and files visible
        to the caller (the parties every version, the case's department only the accepted one)."""
        actor, contract, found = _load_delivery(contract_id)
        is_party = delivery.party_of(actor, found) is not None
        count = delivery.countdown(found)
        return {
            "contract_id": contract.id, "contract_no": contract.contract_no, "status": found.status.value,
            "original_due_date": found.original_due_date, "due_date": found.due_date,
            "countdown": {"state": count.state, "days": count.days, "label": str(count.label)},
            "overrun_days": found.overrun_days, "accepted_version": found.accepted_version,
            "accepted_at": found.accepted_at,
            "submissions": [_submission(contract.id, s) for s in delivery.visible_submissions(actor, found)],
            "extensions": list(found.extensions) if is_party else [],
            "web_url": url_for("delivery.detail", contract_id=contract.id, _external=True),
        }


@contracts_bp.route(f"/<{ID}:contract_id>/delivery/files/<{ID}:file_id>")
class DeliveryFileView(MethodView):
    @contracts_bp.doc(security=SECURITY, responses={"200": {
        "description": "The file's bytes", "content": {t: BINARY for t in sorted(DOCUMENT_TYPES)}}})
    @_errors(401, 403, 404)
    @token_required("contracts:read")
    def get(self, contract_id, file_id):
        """One file of a delivered version the caller may see."""
        actor, _contract, found = _load_delivery(contract_id)
        item = delivery.get_file_for(actor, found, file_id)
        return send_stored_file(item.stored, as_attachment=True)


# --- the agency delivers, either party proposes a later due date -------------------------------

SUBMISSION_BODY = {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "additionalProperties": False, "required": ["summary", "files"],
    "properties": {
        "summary": {"type": "string", "maxLength": SUMMARY_MAX,
                    "description": "what the result is and what it contains"},
        "files": {"type": "array", "minItems": 1, "maxItems": MAX_FILES,
                  "items": {"type": "string", "format": "binary"},
                  "description": "the result's files (PDF, Office documents, images; the site's upload rules)"},
    }}}}}


class PartyNewSubmissionSchema(PartyDeliverySubmissionSchema):
    contract_id = ma.fields.Integer()
    due_date = ma.fields.Date(metadata={"description": "the due date after this submission"})


class PartyExtensionProposalSchema(StrictSchema):
    new_due_date = ma.fields.Date(required=True, metadata={"description": "a working day after the current due "
                                                                          "date"})
    reason = ma.fields.String(required=True, validate=ma.validate.Length(min=1, max=2000))


@contracts_bp.route(f"/<{ID}:contract_id>/delivery/submissions")
class DeliverySubmissions(MethodView):
    @contracts_bp.doc(security=SECURITY, requestBody=SUBMISSION_BODY)
    @contracts_bp.response(201, PartyNewSubmissionSchema)
    @_errors(400, 401, 403, 404, 409, 413, 422)
    @token_required("delivery:write")
    def post(self, contract_id):
        """The agency delivers a version of its result (multipart: ``summary`` and one or more ``files``).

        The same checks as the site: while the work is in progress or a revision was asked for, at
        least one file and at most ten, each of an accepted type and size. The delivered day (China
        time) is what the due date is compared with."""
        unknown = {"form": sorted(set(request.form) - {"summary"}), "files": sorted(set(request.files) - {"files"})}
        if unknown["form"] or unknown["files"]:
            # Shaped like the other endpoints' 422 details: {location: {field: [messages]}}.
            abort(422, message=str(_l("Some fields are not valid.")),
                  errors={where: {name: [str(_l("Unknown field."))] for name in names}
                          for where, names in unknown.items() if names})
        summary = request.form.get("summary", "")
        files = [f for f in request.files.getlist("files") if f and f.filename]
        actor, contract, found = _load_delivery(contract_id)
        try:
            submission = delivery.submit_result(found, summary=summary, files=files, actor=actor)
        except DomainError as exc:
            raise state_conflict(exc) from None
        db.session.commit()
        return {**_submission(contract.id, submission), "contract_id": contract.id, "due_date": found.due_date}, 201


@contracts_bp.route(f"/<{ID}:contract_id>/delivery/extensions")
class DeliveryExtensions(MethodView):
    @contracts_bp.doc(security=SECURITY)
    @contracts_bp.arguments(PartyExtensionProposalSchema)
    @contracts_bp.response(201, PartyDeliveryExtensionSchema)
    @_errors(400, 401, 403, 404, 409)
    @token_required("delivery:write")
    def post(self, data, contract_id):
        """Either party proposes a later due date with its reason; the other party answers (on the site, or
        the enterprise through ``/contracts/{id}/delivery/extensions/{ext_id}/decision``)."""
        actor, _contract, found = _load_delivery(contract_id)
        try:
            ext = delivery.propose_extension(found, new_due_date=data["new_due_date"], reason=data["reason"],
                                             actor=actor)
        except DomainError as exc:
            raise state_conflict(exc) from None
        db.session.commit()
        return ext, 201


BLUEPRINTS = [(contracts_bp, "/contracts")]
