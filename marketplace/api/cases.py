"""Endpoints for approval systems: approval cases, the results attached to them, request status.

A token acts for its organisation as the organisation's own staff would (``TokenActor``): a
department's token as its approval officers, an enterprise's as its staff. Every permission is the
domain services' own (``create_approval_case``, ``set_case_status``, ``can_view_case``,
``accepted_results_for_case``, ``get_file_for``); nothing here decides on its own who may do what.
"""

from __future__ import annotations

from datetime import UTC

import marshmallow as ma
from flask import url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from marketplace.api.auth import token_required
from marketplace.api.common import ID, SECURITY, error_docs, plain, token_actor
from marketplace.api.pagination import CursorArgs, page
from marketplace.api.public import CodedRefSchema, RefSchema
from marketplace.api.schemas import StrictSchema, page_schema
from marketplace.api.services import TokenActor
from marketplace.contracts import services as contracts
from marketplace.core.errors import NotFound
from marketplace.core.text import MAX_DB_INT
from marketplace.core.uploads import send_stored_file
from marketplace.delivery import services as delivery
from marketplace.extensions import db
from marketplace.payments import services as payments
from marketplace.procurement import services as procurement
from marketplace.procurement.models import ApprovalCase, CaseStatus, PurchaseRequest

cases_bp = Blueprint("api_cases", __name__, description="Approval cases (审批案件) for approval systems")
requests_bp = Blueprint("api_request_status", __name__,
                        description="The status of purchase requests, for the organisations involved")


# --- shapes ------------------------------------------------------------------------------------


class ApplicantSchema(RefSchema):
    uscc = ma.fields.String()


class CaseRequestSchema(ma.Schema):
    id = ma.fields.Integer()
    service_item_id = ma.fields.Integer()
    status = ma.fields.Function(lambda r: r.status.value)


class CaseSchema(ma.Schema):
    id = ma.fields.Integer()
    case_number = ma.fields.String()
    status = ma.fields.Function(lambda c: c.status.value, metadata={"description": "open, approved, rejected, "
                                                                                  "withdrawn"})
    approval_item = ma.fields.Nested(CodedRefSchema)
    project_name = ma.fields.String()
    project_code = ma.fields.String(allow_none=True)
    applicant = ma.fields.Nested(ApplicantSchema)
    department = ma.fields.Nested(RefSchema)
    service_items = ma.fields.List(ma.fields.Nested(CodedRefSchema))
    requests = ma.fields.List(ma.fields.Nested(CaseRequestSchema))
    created_at = ma.fields.DateTime()
    updated_at = ma.fields.DateTime()
    web_url = ma.fields.Function(lambda c: url_for("procurement.case", case_id=c.id, _external=True),
                                 metadata={"description": "the case page on the platform"})


def _since(value):
    # The columns hold UTC; a moment out of the calendar's range after the shift is refused, not a 500.
    try:
        value.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ma.ValidationError(str(_l("Not a valid date and time."))) from exc
    if not 1900 <= value.year <= 9000:
        raise ma.ValidationError(str(_l("Not a valid date and time.")))


class CaseListArgs(CursorArgs):
    status = ma.fields.String(load_default=None, validate=ma.validate.OneOf([s.value for s in CaseStatus]))
    updated_since = ma.fields.AwareDateTime(
        load_default=None, validate=_since,
        metadata={"description": "only cases changed at or after this moment (ISO 8601 with a time zone offset, "
                                 "e.g. 2026-12-03T08:00:00+08:00): poll with the time of your last poll"},
    )


class CaseCreateSchema(StrictSchema):
    approval_item_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_DB_INT))
    project_name = ma.fields.String(required=True, validate=[ma.validate.Length(max=1000), plain])
    service_item_ids = ma.fields.List(
        ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_DB_INT)),
        required=True, validate=ma.validate.Length(min=1, max=50),
    )
    case_number = ma.fields.String(load_default="", validate=[ma.validate.Length(max=200), plain],
                                   metadata={"description": "the approval system's own number; generated "
                                                            "when empty"})
    project_code = ma.fields.String(load_default="", validate=[ma.validate.Length(max=200), plain],
                                    metadata={"example": "2026-530102-48-01-012345"})
    department_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1, max=MAX_DB_INT),
                                      metadata={"description": "the approving department (enterprise tokens)"})
    applicant_uscc = ma.fields.String(load_default=None, validate=[ma.validate.Length(max=40), plain],
                                      metadata={"description": "the applicant enterprise (department tokens)"})


class CaseUpdateSchema(StrictSchema):
    status = ma.fields.String(required=True, validate=ma.validate.OneOf(
        [CaseStatus.APPROVED.value, CaseStatus.REJECTED.value, CaseStatus.WITHDRAWN.value]))
    reason = ma.fields.String(load_default="", validate=[ma.validate.Length(max=2000)])


class CaseResultFileSchema(ma.Schema):
    id = ma.fields.Integer()
    name = ma.fields.String()
    content_type = ma.fields.String()
    size_bytes = ma.fields.Integer()
    sha256 = ma.fields.String()
    download_url = ma.fields.String()


class CaseResultSchema(ma.Schema):
    contract_no = ma.fields.String()
    agency = ma.fields.Nested(RefSchema)
    accepted_version = ma.fields.Integer()
    accepted_at = ma.fields.DateTime()
    summary = ma.fields.String()
    files = ma.fields.List(ma.fields.Nested(CaseResultFileSchema))


class CaseResultsSchema(ma.Schema):
    case_id = ma.fields.Integer()
    results = ma.fields.List(ma.fields.Nested(CaseResultSchema))


class AwardSchema(ma.Schema):
    agency = ma.fields.Nested(RefSchema)
    price_fen = ma.fields.Integer(allow_none=True)
    working_days = ma.fields.Integer(allow_none=True)
    final = ma.fields.Boolean()


class ContractStatusSchema(ma.Schema):
    contract_no = ma.fields.String()
    status = ma.fields.String()
    in_force_at = ma.fields.DateTime(allow_none=True)


class DeliveryStatusSchema(ma.Schema):
    status = ma.fields.String()
    due_date = ma.fields.Date()
    accepted_version = ma.fields.Integer(allow_none=True)
    accepted_at = ma.fields.DateTime(allow_none=True)


class PaymentStatusSchema(ma.Schema):
    status = ma.fields.String()
    amount_fen = ma.fields.Integer()


class RequestOwnBidSchema(ma.Schema):
    id = ma.fields.Integer()
    status = ma.fields.Function(lambda b: b.status.value, metadata={"description": "submitted, withdrawn, won, lost, "
                                                                                    "rejected"})
    price_fen = ma.fields.Integer()
    working_days = ma.fields.Integer(attribute="days")
    version = ma.fields.Integer()
    submitted_at = ma.fields.DateTime(attribute="final_submitted_at")


class RequestStatusSchema(ma.Schema):
    id = ma.fields.Integer()
    approval_case_id = ma.fields.Integer()
    service_item = ma.fields.Nested(CodedRefSchema)
    status = ma.fields.String()
    published_at = ma.fields.DateTime(allow_none=True)
    award = ma.fields.Nested(AwardSchema, allow_none=True)
    contract = ma.fields.Nested(ContractStatusSchema, allow_none=True)
    delivery = ma.fields.Nested(DeliveryStatusSchema, allow_none=True)
    payment = ma.fields.Nested(PaymentStatusSchema, allow_none=True)
    bid = ma.fields.Nested(RequestOwnBidSchema, allow_none=True,
                           metadata={"description": "an agency's own bid on the request (agencies only)"})


# --- approval cases ----------------------------------------------------------------------------


@cases_bp.route("")
class Cases(MethodView):
    @cases_bp.doc(security=SECURITY)
    @cases_bp.arguments(CaseListArgs, location="query")
    @cases_bp.response(200, page_schema(CaseSchema, "CasePage"))
    @error_docs(cases_bp, 400, 401, 403)
    @token_required("cases:read")
    def get(self, args):
        """The cases the token's organisation sees (the department's, or the applicant's own), newest id first."""
        stmt = procurement.cases_query(token_actor())
        if args["status"]:
            stmt = stmt.where(ApprovalCase.status == CaseStatus(args["status"]))
        if args["updated_since"] is not None:
            stmt = stmt.where(ApprovalCase.updated_at >= args["updated_since"])
        items, cursor = page(stmt, ApprovalCase.id, args, descending=True)
        return {"items": items, "next_cursor": cursor}

    @cases_bp.doc(security=SECURITY)
    @cases_bp.arguments(CaseCreateSchema)
    @cases_bp.response(201, CaseSchema)
    @error_docs(cases_bp, 400, 401, 403)
    @token_required("cases:write")
    def post(self, data):
        """Open an approval case: a department names the applicant by its USCC, an enterprise the department."""
        case = procurement.create_approval_case(actor=token_actor(), **data)
        db.session.commit()
        return case


@cases_bp.route(f"/<{ID}:case_id>")
class CaseView(MethodView):
    @cases_bp.doc(security=SECURITY)
    @cases_bp.response(200, CaseSchema)
    @error_docs(cases_bp, 401, 403, 404)
    @token_required("cases:read")
    def get(self, case_id):
        """One case, for the applicant and the approving department."""
        return procurement.get_case_for(token_actor(), case_id)

    @cases_bp.doc(security=SECURITY)
    @cases_bp.arguments(CaseUpdateSchema)
    @cases_bp.response(200, CaseSchema)
    @error_docs(cases_bp, 400, 401, 403, 404, 409)
    @token_required("cases:write")
    def patch(self, data, case_id):
        """Decide the case (approved / rejected: the department) or withdraw it (the applicant too)."""
        actor = token_actor()
        case = procurement.get_case_for(actor, case_id)
        procurement.set_case_status(case, CaseStatus(data["status"]), actor=actor, reason=data["reason"])
        db.session.commit()
        return case


def _result(case_id: int, item: tuple) -> dict:
    found, submission = item
    contract = found.contract
    return {
        "contract_no": contract.contract_no,
        "agency": contract.agency,
        "accepted_version": found.accepted_version,
        "accepted_at": found.accepted_at,
        "summary": submission.summary,
        "files": [{
            "id": f.id, "name": f.stored.original_name, "content_type": f.stored.content_type,
            "size_bytes": f.stored.size_bytes, "sha256": f.stored.sha256,
            "download_url": url_for("api_cases.ResultFile", case_id=case_id, file_id=f.id, _external=True),
        } for f in submission.files],
    }


@cases_bp.route(f"/<{ID}:case_id>/results")
class CaseResults(MethodView):
    @cases_bp.doc(security=SECURITY)
    @cases_bp.response(200, CaseResultsSchema)
    @error_docs(cases_bp, 401, 403, 404)
    @token_required("cases:read")
    def get(self, case_id):
        """The accepted intermediary results attached to the case, with each file's SHA-256."""
        actor = token_actor()
        case = procurement.get_case_for(actor, case_id)
        return {"case_id": case.id,
                "results": [_result(case.id, r) for r in delivery.accepted_results_for_case(actor, case)]}


@cases_bp.route(f"/<{ID}:case_id>/results/files/<{ID}:file_id>")
class ResultFile(MethodView):
    @cases_bp.doc(security=SECURITY, responses={"200": {
        "description": "The file's bytes", "content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}}})
    @error_docs(cases_bp, 401, 403, 404)
    @token_required("cases:read")
    def get(self, case_id, file_id):
        """One file of an accepted result attached to the case."""
        actor = token_actor()
        case = procurement.get_case_for(actor, case_id)
        for found, _submission in delivery.accepted_results_for_case(actor, case):
            try:
                item = delivery.get_file_for(actor, found, file_id)
            except NotFound:
                continue
            return send_stored_file(item.stored, as_attachment=True)
        raise NotFound(_l("This file does not exist."))


# --- purchase request status -----------------------------------------------------------------


def _status(req: PurchaseRequest, actor: TokenActor) -> dict:
    """What the token's organisation may see of the request, as the site shows it to its staff.

    The applicant and the department see everything (``can_view_case``). An agency sees a request
    it bid on or holds: its own bid; the award once the result is public; the contract, delivery
    and payment when it is the contract's agency (``delivery.can_view``), otherwise only what the
    public contract notice shows. Anyone else: 404.
    """
    case_viewer = procurement.can_view_case(actor, req.approval_case)
    own_bid = None if case_viewer else procurement.latest_bid_of(req, actor.organisation_id)
    contract = contracts.contract_for_request(req)
    party = contract is not None and (case_viewer or delivery.can_view(actor, contract))
    if not (case_viewer or party or own_bid is not None or req.awarded_org_id == actor.organisation_id):
        raise NotFound(_l("This page does not exist."))
    if contract is not None and not party and contract.in_force_at is None:
        contract = None  # not a public contract notice yet
    found = delivery.delivery_of(contract) if party else None
    payment = payments.payment_of(contract) if party else None
    award = None
    if req.awarded_org_id is not None and (case_viewer or procurement.result_is_public(req)):
        award = {"agency": req.awarded_org, "price_fen": req.awarded_price_fen, "working_days": req.awarded_days,
                 "final": procurement.award_is_final(req)}
    return {
        "id": req.id, "approval_case_id": req.approval_case_id, "service_item": req.service_item,
        "status": req.status.value, "published_at": req.published_at, "award": award,
        "contract": None if contract is None else {
            "contract_no": contract.contract_no, "status": contract.status.value, "in_force_at": contract.in_force_at},
        "delivery": None if found is None else {
            "status": found.status.value, "due_date": found.due_date, "accepted_version": found.accepted_version,
            "accepted_at": found.accepted_at},
        "payment": None if payment is None else {"status": payment.status.value, "amount_fen": payment.amount_fen},
        "bid": own_bid,
    }


@requests_bp.route(f"/<{ID}:request_id>/status")
class RequestStatusView(MethodView):
    @requests_bp.doc(security=SECURITY)
    @requests_bp.response(200, RequestStatusSchema)
    @error_docs(requests_bp, 401, 403, 404)
    @token_required("requests:read")
    def get(self, request_id):
        """Where a request stands: award, contract, delivery, payment (the enterprise and the department);
        an agency that bid on it sees its own bid and the public outcome, the selected agency its contract too."""
        actor = token_actor()
        return _status(procurement.get_request_for(actor, request_id), actor)


BLUEPRINTS = [(cases_bp, "/cases"), (requests_bp, "/requests")]
