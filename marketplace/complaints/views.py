"""Objection and complaint pages: filing, answering, escalating, the regulators' work list."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.complaints import bp, services
from marketplace.complaints.forms import (
    ActionForm,
    AnswerForm,
    DecisionForm,
    EscalateForm,
    ObjectionForm,
    ReasonForm,
    RouteForm,
    ServiceComplaintForm,
)
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.uploads import send_stored_file
from marketplace.core.web import current_actor, fail
from marketplace.extensions import db
from marketplace.procurement.models import PurchaseRequest

ID = "int(max=2147483647)"
REGULATORS = (Role.REGULATOR, Role.ADMIN)


def _files(form) -> list:
    return request.files.getlist(form.files.name)


def _request(request_id: int) -> PurchaseRequest:
    req = db.session.get(PurchaseRequest, request_id)
    if req is None or not req.is_public:
        raise NotFound(_("This announcement does not exist."))
    return req


@bp.app_template_global("complaints_panel")
def complaints_panel(req):
    """What the announcement page shows about objections and complaints to ``user``."""
    now = utcnow()
    user = current_user
    return {
        "outcomes": services.public_outcomes(req),
        "objections": services.objections_of_request(req, user),
        "complaints": services.complaints_of_request(req, user),
        "can_object": user.is_authenticated and user.role is Role.AGENCY_STAFF
        and not services.objection_problems(req, user, now),
        "can_complain": user.is_authenticated and not services.service_complaint_problems(req, user),
        "period_open": services.objection_period_open(req, now),
    }


@bp.app_template_global("can_complain_about_contract")
def can_complain_about_contract(contract) -> bool:
    """The contract page's "complain" link: the buyer of a contract in force (or after it) may
    complain about the agency's service. A template global, so contracts need not import
    complaints (a later stage)."""
    if contract.in_force_at is None or contract.party_of(current_user) != "buyer":
        return False
    return not services.service_complaint_problems(contract.request, current_user)


@bp.app_template_global("complaint_tasks")
def complaint_tasks():
    """The workbench panel: objections and complaints waiting for the signed-in user."""
    return services.tasks_for(current_user, utcnow())


# --- objections ---------------------------------------------------------------------------------


@bp.route(f"/announcements/<{ID}:request_id>/objections/new", methods=["GET", "POST"])
@roles_required(Role.AGENCY_STAFF)
def new_objection(request_id: int):
    req = _request(request_id)
    now = utcnow()
    problems = services.objection_problems(req, current_user, now)
    form = ObjectionForm()
    if not problems and form.validate_on_submit():
        try:
            obj = services.file_objection(req, grounds=form.grounds.data, files=_files(form), actor=current_actor(),
                                          submit=not form.save_draft.data, now=now)
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("Your objection is saved as a draft; submit it before the deadline.") if form.save_draft.data
                  else _("Your objection is submitted. The enterprise must answer by %(deadline)s.",
                         deadline=services.china_text(obj.answer_deadline)), "success")
            return redirect(url_for("complaints.objection", objection_id=obj.id))
    return render_template("complaints/objection_form.html", req=req, form=form,
                           problems=[str(p) for p in problems])


def _objection_page(obj, status: int = 200, **forms):
    now = utcnow()
    context = {"answer_form": AnswerForm(prefix="answer"), "escalate_form": EscalateForm(prefix="escalate"),
               "action_form": ActionForm()}
    context.update(forms)
    user = current_user
    is_objector = user.role is Role.AGENCY_STAFF and user.organisation_id == obj.objector_org_id
    return render_template(
        "complaints/objection.html", obj=obj, req=obj.request, now=now, is_objector=is_objector,
        can_answer=services.can_answer(obj, user, now),
        can_escalate=is_objector and services.can_escalate(obj, now), **context,
    ), status


@bp.route(f"/objections/<{ID}:objection_id>")
@roles_required()
def objection(objection_id: int):
    return _objection_page(services.get_objection_for(current_user, objection_id))


@bp.route(f"/objections/<{ID}:objection_id>/submit", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def submit_objection(objection_id: int):
    obj = services.get_objection_for(current_user, objection_id)
    if ActionForm().validate_on_submit():
        try:
            services.submit_objection(obj, actor=current_actor())
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            flash(_("Your objection is submitted."), "success")
    return redirect(url_for("complaints.objection", objection_id=objection_id))


@bp.route(f"/objections/<{ID}:objection_id>/answer", methods=["POST"])
@roles_required(Role.ENTERPRISE_STAFF)
def answer_objection(objection_id: int):
    obj = services.get_objection_for(current_user, objection_id)
    form = AnswerForm(prefix="answer")
    if form.validate_on_submit():
        try:
            services.answer_objection(obj, text=form.text.data, files=_files(form), actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("Your answer is on record; the objector has been told."), "success")
            return redirect(url_for("complaints.objection", objection_id=objection_id))
    return _objection_page(services.get_objection_for(current_user, objection_id), 400, answer_form=form)


@bp.route(f"/objections/<{ID}:objection_id>/accept", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def accept_answer(objection_id: int):
    obj = services.get_objection_for(current_user, objection_id)
    if ActionForm().validate_on_submit():
        try:
            services.accept_answer(obj, actor=current_actor())
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            flash(_("You accepted the answer; the objection is resolved."), "success")
    return redirect(url_for("complaints.objection", objection_id=objection_id))


@bp.route(f"/objections/<{ID}:objection_id>/escalate", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def escalate_objection(objection_id: int):
    obj = services.get_objection_for(current_user, objection_id)
    form = EscalateForm(prefix="escalate")
    if form.validate_on_submit():
        try:
            complaint = services.escalate_objection(obj, reasons=form.reasons.data or "", actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("Your objection is now complaint %(ref)s before the regulator.", ref=complaint.reference),
                  "success")
            return redirect(url_for("complaints.complaint", complaint_id=complaint.id))
    return _objection_page(services.get_objection_for(current_user, objection_id), 400, escalate_form=form)


# --- complaints ---------------------------------------------------------------------------------


@bp.route(f"/announcements/<{ID}:request_id>/complaints/new", methods=["GET", "POST"])
@roles_required()
def new_complaint(request_id: int):
    req = _request(request_id)
    problems = services.service_complaint_problems(req, current_user)
    form = ServiceComplaintForm()
    if not problems and form.validate_on_submit():
        try:
            c = services.file_service_complaint(req, category=form.category.data, grounds=form.grounds.data,
                                                files=_files(form), actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("Your complaint %(ref)s is with the regulator; it will be accepted or rejected by %(deadline)s.",
                    ref=c.reference, deadline=services.china_text(c.acceptance_deadline)), "success")
            return redirect(url_for("complaints.complaint", complaint_id=c.id))
    return render_template("complaints/complaint_form.html", req=req, form=form,
                           problems=[str(p) for p in problems])


def _complaint_page(c, status: int = 200, **forms):
    now = utcnow()
    context = {"action_form": ActionForm(), "reject_form": ReasonForm(prefix="reject"),
               "withdraw_form": ReasonForm(prefix="withdraw"), "decision_form": DecisionForm(prefix="decide")}
    context.update(forms)
    user = current_user
    return render_template(
        "complaints/complaint.html", c=c, req=c.request, now=now, may_handle=services.may_handle(c, user),
        is_complainant=user.organisation_id == c.complainant_org_id and not services.is_official(user),
        **context,
    ), status


@bp.route(f"/complaints/<{ID}:complaint_id>")
@roles_required()
def complaint(complaint_id: int):
    return _complaint_page(services.get_complaint_for(current_user, complaint_id))


@bp.route(f"/complaints/<{ID}:complaint_id>/accept", methods=["POST"])
@roles_required(Role.REGULATOR)
def accept_complaint(complaint_id: int):
    c = services.get_complaint_for(current_user, complaint_id)
    if ActionForm().validate_on_submit():
        try:
            services.accept_complaint(c, actor=current_actor())
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            flash(_("The complaint is accepted; decide it by %(deadline)s.",
                    deadline=services.china_text(c.decision_deadline)), "success")
    return redirect(url_for("complaints.complaint", complaint_id=complaint_id))


@bp.route(f"/complaints/<{ID}:complaint_id>/reject", methods=["POST"])
@roles_required(Role.REGULATOR)
def reject_complaint(complaint_id: int):
    c = services.get_complaint_for(current_user, complaint_id)
    form = ReasonForm(prefix="reject")
    if form.validate_on_submit():
        try:
            services.reject_complaint(c, reason=form.reason.data, actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The complaint is not accepted; the complainant has been told why."), "success")
            return redirect(url_for("complaints.complaint", complaint_id=complaint_id))
    return _complaint_page(services.get_complaint_for(current_user, complaint_id), 400, reject_form=form)


@bp.route(f"/complaints/<{ID}:complaint_id>/decide", methods=["POST"])
@roles_required(Role.REGULATOR)
def decide_complaint(complaint_id: int):
    c = services.get_complaint_for(current_user, complaint_id)
    form = DecisionForm(prefix="decide")
    if form.validate_on_submit():
        try:
            services.decide_complaint(c, upheld=form.outcome.data == "upheld", text=form.text.data,
                                      against=form.against.data, remedy=form.remedy.data, actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The complaint is decided; the outcome is public on the announcement."), "success")
            return redirect(url_for("complaints.complaint", complaint_id=complaint_id))
    return _complaint_page(services.get_complaint_for(current_user, complaint_id), 400, decision_form=form)


@bp.route(f"/complaints/<{ID}:complaint_id>/withdraw", methods=["POST"])
@roles_required()
def withdraw_complaint(complaint_id: int):
    c = services.get_complaint_for(current_user, complaint_id)
    form = ReasonForm(prefix="withdraw")
    if form.validate_on_submit():
        try:
            services.withdraw_complaint(c, reason=form.reason.data, actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("Your complaint is withdrawn."), "success")
            return redirect(url_for("complaints.complaint", complaint_id=complaint_id))
    return _complaint_page(services.get_complaint_for(current_user, complaint_id), 400, withdraw_form=form)


@bp.get(f"/complaints/files/<{ID}:evidence_id>")
@roles_required()
def evidence_file(evidence_id: int):
    item = services.get_evidence_for(current_user, evidence_id)
    return send_stored_file(item.stored, as_attachment=request.args.get("download") == "1")


@bp.route("/my/complaints")
@roles_required(Role.AGENCY_STAFF, Role.ENTERPRISE_STAFF)
def mine():
    objections, complaints = services.mine(current_user)
    return render_template("complaints/mine.html", objections=objections, complaints=complaints, now=utcnow())


# --- regulators ---------------------------------------------------------------------------------


@bp.route("/regulator/complaints")
@roles_required(*REGULATORS)
def worklist():
    everything = request.args.get("all") == "1"
    route_form = None
    if current_user.role is Role.ADMIN:
        route_form = _route_form()
    return render_template(
        "complaints/worklist.html", items=services.worklist(current_user, utcnow(), everything=everything),
        everything=everything, recent=services.recent_decisions(), routes=services.routes(),
        route_form=route_form, now=utcnow(),
    )


def _route_form() -> RouteForm:
    from marketplace.catalog.models import ServiceItem

    form = RouteForm()
    items = db.session.execute(db.select(ServiceItem).order_by(ServiceItem.code)).scalars()
    form.service_item_id.choices = [(i.id, f"{i.code} {i.name}") for i in items]
    form.regulator_org_id.choices = [(0, "—")] + [(d.id, d.name) for d in services.regulator_departments()]
    return form


@bp.route("/regulator/complaints/routes", methods=["POST"])
@roles_required(Role.ADMIN)
def set_route():
    form = _route_form()
    if form.validate_on_submit():
        try:
            services.set_route(form.service_item_id.data, form.regulator_org_id.data or None, actor=current_actor())
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            flash(_("The route is saved."), "success")
    else:
        flash(_("Choose a service item."), "danger")
    return redirect(url_for("complaints.worklist"))
