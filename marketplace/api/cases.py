"""Endpoints for approval systems: approval cases, the results attached to them, request status.

A token acts for its organisation as the organisation's own staff would (``TokenActor``): a
department's token as its approval officers, an enterprise's as its staff. Every permission is the
domain services' own (``create_approval_case``, ``set_case_status``, ``can_view_case``,
``accepted_results_for_case``, ``get_file_for``); nothing here decides on its own who may do what.
"""

from __future__ import annotations

import marshmallow as ma
from flask import g, url_for
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from flask_smorest import Blueprint

from marketplace.api.auth import token_required
from marketplace.api.public import CodedRefSchema, RefSchema
from marketplace.api.schemas import ErrorSchema, StrictSchema
from marketplace.api.services import TokenActor
from marketplace.contracts import services as contracts
from marketplace.core.errors import NotFound
from marketplace.core.text import MAX_DB_INT, has_control_chars
from marketplace.core.uploads import send_stored_file
from marketplace.delivery import services as delivery
from marketplace.extensions import db
from marketplace.payments import services as payments
from marketplace.procurement import services as procurement
from marketplace.procurement.models import CaseStatus, PurchaseRequest

ID = f"int(max={MAX_DB_INT})"  # larger ids never match: a JSON 404, never a database error
SECURITY = [{"bearerAuth": []}]

cases_bp = Blueprint("api_cases", __name__, description="Approval cases (审批案件) for approval systems")
requests_bp = Blueprint("api_request_status", __name__,
                        description="The status of purchase requests, for the organisations involved")


def _actor() -> TokenActor:
    return TokenActor(g.api_token)


def _plain(value):
    if isinstance(value, str) and has_control_chars(value):
        raise ma.ValidationError(str(_l("This field contains characters that are not allowed.")))


def _errors(bp, *codes):
    descriptions = {
        400: "A business rule refused the input (details names the field)",
        401: "No valid token",
        403: "The token lacks the scope, or its organisation may not do this",
        404: "No such record, or not visible to the token's organisation",
        409: "The status no longer allows this",
    }

    def decorator(view):
        for code in codes:
            view = bp.alt_response(code, schema=ErrorSchema, description=descriptions[code])(view)
        return view

    return decorator


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


class CaseCreateSchema(StrictSchema):
    approval_item_id = ma.fields.Integer(required=True, validate=ma.validate.Range(min=1, max=MAX_DB_INT))
    project_name = ma.fields.String(required=True, validate=[ma.validate.Length(max=1000), _plain])
    service_item_ids = ma.fields.List(
        ma.fields.Integer(validate=ma.validate.Range(min=1, max=MAX_DB_INT)),
        required=True, validate=ma.validate.Length(min=1, max=50),
    )
    case_number = ma.fields.String(load_default="", validate=[ma.validate.Length(max=200), _plain],
                                   metadata={"description": "the approval system's own number; generated "
                                                            "when empty"})
    project_code = ma.fields.String(load_default="", validate=[ma.validate.Length(max=200), _plain],
                                    metadata={"example": "2026-530102-48-01-012345"})
    department_id = ma.fields.Integer(load_default=None, validate=ma.validate.Range(min=1, max=MAX_DB_INT),
                                      metadata={"description": "the approving department (enterprise tokens)"})
    applicant_uscc = ma.fields.String(load_default=None, validate=[ma.validate.Length(max=40), _plain],
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


# --- approval cases ----------------------------------------------------------------------------


@cases_bp.route("")
class Cases(MethodView):
    @cases_bp.doc(security=SECURITY)
    @cases_bp.arguments(CaseCreateSchema)
    @cases_bp.response(201, CaseSchema)
    @_errors(cases_bp, 400, 401, 403)
    @token_required("cases:write")
    def post(self, data):
        """Open an approval case: a department names the applicant by its USCC, an enterprise the department."""
        case = procurement.create_approval_case(actor=_actor(), **data)
        db.session.commit()
        return case


@cases_bp.route(f"/<{ID}:case_id>")
class CaseView(MethodView):
    @cases_bp.doc(security=SECURITY)
    @cases_bp.response(200, CaseSchema)
    @_errors(cases_bp, 401, 403, 404)
    @token_required("cases:read")
    def get(self, case_id):
        """One case, for the applicant and the approving department."""
        return procurement.get_case_for(_actor(), case_id)

    @cases_bp.doc(security=SECURITY)
    @cases_bp.arguments(CaseUpdateSchema)
    @cases_bp.response(200, CaseSchema)
    @_errors(cases_bp, 400, 401, 403, 404, 409)
    @token_required("cases:write")
    def patch(self, data, case_id):
        """Decide the case (approved / rejected: the department) or withdraw it (the applicant too)."""
        actor = _actor()
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
    @_errors(cases_bp, 401, 403, 404)
    @token_required("cases:read")
    def get(self, case_id):
        """The accepted intermediary results attached to the case, with each file's SHA-256."""
        actor = _actor()
        case = procurement.get_case_for(actor, case_id)
        return {"case_id": case.id,
                "results": [_result(case.id, r) for r in delivery.accepted_results_for_case(actor, case)]}


@cases_bp.route(f"/<{ID}:case_id>/results/files/<{ID}:file_id>")
class ResultFile(MethodView):
    @cases_bp.doc(security=SECURITY, responses={"200": {
        "description": "The file's bytes", "content": {"application/octet-stream": {
            "schema": {"type": "string", "format": "binary"}}}}})
    @_errors(cases_bp, 401, 403, 404)
    @token_required("cases:read")
    def get(self, case_id, file_id):
        """One file of an accepted result attached to the case."""
        actor = _actor()
        case = procurement.get_case_for(actor, case_id)
        for found, _submission in delivery.accepted_results_for_case(actor, case):
            try:
                item = delivery.get_file_for(actor, found, file_id)
            except NotFound:
                continue
            return send_stored_file(item.stored, as_attachment=True)
        raise NotFound(_l("This file does not exist."))


# --- purchase request status -----------------------------------------------------------------


def _status(req: PurchaseRequest) -> dict:
    contract = contracts.contract_for_request(req)
    found = delivery.delivery_of(contract) if contract is not None else None
    payment = payments.payment_of(contract) if contract is not None else None
    award = None
    if req.awarded_org_id is not None:
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
    }


@requests_bp.route(f"/<{ID}:request_id>/status")
class RequestStatusView(MethodView):
    @requests_bp.doc(security=SECURITY)
    @requests_bp.response(200, RequestStatusSchema)
    @_errors(requests_bp, 401, 403, 404)
    @token_required("requests:read")
    def get(self, request_id):
        """Where a request stands: award, contract, delivery, payment (the enterprise and the department)."""
        actor = _actor()
        req = procurement.get_request_for(actor, request_id)
        if not procurement.can_view_case(actor, req.approval_case):
            raise NotFound(_l("This page does not exist."))
        return _status(req)


BLUEPRINTS = [(cases_bp, "/cases"), (requests_bp, "/requests")]
