"""Public announcement and result pages; the enterprise's, agency's and officer's pages."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.audit.registry import describe
from marketplace.audit.services import events_for
from marketplace.catalog.models import ServiceItem
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.regions import is_valid_region
from marketplace.core.text import MAX_DB_INT
from marketplace.core.web import current_actor, fail, flash_form_errors, page_arg
from marketplace.extensions import db
from marketplace.procurement import bp, services
from marketplace.procurement.forms import (
    ApprovalCaseForm,
    BidForm,
    CaseStatusForm,
    DecisionForm,
    ExclusionForm,
    ReasonForm,
    RequestForm,
)
from marketplace.procurement.models import (
    ApprovalCase,
    Bid,
    BidStatus,
    CaseStatus,
    Exclusion,
    PurchaseRequest,
    RequestStatus,
    SelectionMethod,
)
from marketplace.procurement.selection import strategy_for

CASE_ROLES = (Role.ENTERPRISE_STAFF, Role.APPROVAL_OFFICER, Role.REGULATOR, Role.ADMIN)


def _load(model, obj_id):
    try:
        return services.get_by_id(model, obj_id)
    except NotFound:
        abort(404)


def _load_request(request_id) -> PurchaseRequest:
    try:
        return services.get_request_for(current_user, request_id)
    except NotFound:
        abort(404)


def _own_request(request_id) -> PurchaseRequest:
    req = _load(PurchaseRequest, request_id)
    if req.enterprise_id != current_user.organisation_id:
        abort(404)
    return req


# --- public pages ---------------------------------------------------------------------------


def _filters() -> services.AnnouncementFilters:
    region = (request.args.get("region") or "").strip()
    try:
        item_id = int(request.args.get("item", ""))
    except ValueError:
        item_id = None
    method = request.args.get("method") or None
    status = request.args.get("status") or None
    return services.AnnouncementFilters(
        region=region if is_valid_region(region) else None,
        service_item_id=item_id if item_id and 0 < item_id <= services.MAX_ID else None,
        method=SelectionMethod(method) if method in set(SelectionMethod) else None,
        status=RequestStatus(status) if status in set(RequestStatus) - {RequestStatus.DRAFT} else None,
    )


@bp.route("/announcements")
def announcements():
    filters = _filters()
    pagination = services.public_requests(filters, page=page_arg())
    args = {k: v for k, v in {
        "region": filters.region, "item": filters.service_item_id,
        "method": filters.method.value if filters.method else None,
        "status": filters.status.value if filters.status else None,
    }.items() if v}
    return render_template(
        "procurement/announcements.html", pagination=pagination, filters=filters, args=args,
        items=services.announcement_filter_items(), regions=services.announcement_regions(),
        methods=list(SelectionMethod), statuses=[s for s in RequestStatus if s is not RequestStatus.DRAFT],
        now=utcnow(),
    )


def _agency_context(req: PurchaseRequest, now) -> dict:
    org = current_user.organisation
    bid = services.live_bid(req.id, org.id)
    problems = [str(p) for p in services.bid_problems(req, org, now)] if req.is_open_for_bids(now) else []
    return {"own_bid": bid, "bid_problems": problems,
            "decline_form": ReasonForm() if bid and bid.status is BidStatus.WON else None}


@bp.route("/announcements/<int:request_id>")
def announcement(request_id: int):
    req = _load_request(request_id)
    now = utcnow()
    context = {"own_bid": None, "bid_problems": [], "decline_form": None}
    if current_user.is_authenticated and current_user.role is Role.AGENCY_STAFF:
        context = _agency_context(req, now)
    owner = req.is_owned_by(current_user)
    pending = services.pending_decisions(req) if owner and req.status is RequestStatus.BIDDING_CLOSED else []
    exclusion_form = None
    if owner and req.status is RequestStatus.DRAFT:
        exclusion_form = ExclusionForm()
        exclusion_form.agency_id.choices = [(a.id, a.name) for a in
                                            services.listed_agencies(req.service_item_id, services.china_date(now))]
    return render_template(
        "procurement/announcement.html", req=req, now=now, owner=owner, pending=pending,
        decision_form=DecisionForm(), reason_form=ReasonForm(), cancel_form=ReasonForm(prefix="cancel"),
        exclusion_form=exclusion_form,
        rounds=services.rounds_of(req), next_round=services.next_round_of(req),
        trail=describe(events_for("purchase_requests", req.id, public_at=None if owner else now)),
        earliest_deadline=services.earliest_deadline_day(now) if req.status is RequestStatus.DRAFT else None,
        **context,
    )


@bp.route("/announcements/<int:request_id>/result")
def result(request_id: int):
    req = _load_request(request_id)
    if not services.result_visible_to(req, current_user):
        flash(_("The result is published when bidding has closed and the selection is made."), "info")
        return redirect(url_for("procurement.announcement", request_id=req.id))
    return render_template(
        "procurement/result.html", req=req, outcome=req.outcome or {},
        strategy=strategy_for(req.selection_method), history=services.award_history(req),
        is_final=services.award_is_final(req), public=services.result_is_public(req),
        bids=services.revealed_bids(req), next_round=services.next_round_of(req),
    )


@bp.route("/announcements/<int:request_id>/result.json")
def result_json(request_id: int):
    req = _load(PurchaseRequest, request_id)
    if not services.result_is_public(req):
        return jsonify({"error": {"code": 404, "message": _("The result of this request is not public yet.")}}), 404
    return jsonify(services.public_result(req))


# --- approval cases -----------------------------------------------------------------------------


@bp.route("/procurement/cases")
@roles_required(*CASE_ROLES)
def cases():
    return render_template("procurement/cases.html",
                           pagination=services.cases_for(current_user, page=page_arg()))


@bp.route("/procurement/cases/new", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE_STAFF, Role.APPROVAL_OFFICER)
def new_case():
    form = ApprovalCaseForm()
    items = services.approval_item_choices()
    form.approval_item_id.choices = [(0, "—")] + [(i.id, f"{i.code} {i.name}") for i in items]
    form.service_item_ids.choices = sorted(
        {(s.id, f"{s.code} {s.name}") for i in items for s in i.service_items if s.is_active},
        key=lambda c: c[1],
    )
    if current_user.role is Role.ENTERPRISE_STAFF:
        del form.applicant_uscc
        form.department_id.choices = [(0, "—")] + [(d.id, d.name) for d in services.department_choices()]
    else:
        del form.department_id
    if form.validate_on_submit():
        try:
            case = services.create_approval_case(
                actor=current_actor(), approval_item_id=form.approval_item_id.data,
                project_name=form.project_name.data, service_item_ids=form.service_item_ids.data,
                case_number=form.case_number.data, project_code=form.project_code.data,
                department_id=form.department_id.data if "department_id" in form else None,
                applicant_uscc=form.applicant_uscc.data if "applicant_uscc" in form else None,
            )
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("Case %(number)s opened.", number=case.case_number), "success")
            return redirect(url_for("procurement.case", case_id=case.id))
    return render_template("procurement/case_form.html", form=form, items=items)


@bp.route("/procurement/cases/<int:case_id>")
@roles_required(*CASE_ROLES)
def case(case_id: int):
    try:
        found = services.get_case_for(current_user, case_id)
    except NotFound:
        abort(404)
    live = {r.service_item_id: r for r in found.requests
            if r.status not in (RequestStatus.FAILED, RequestStatus.CANCELLED)}
    return render_template("procurement/case.html", case=found, live=live, status_form=CaseStatusForm())


@bp.route("/procurement/cases/<int:case_id>/status", methods=["POST"])
@roles_required(Role.APPROVAL_OFFICER, Role.ENTERPRISE_STAFF)
def case_status(case_id: int):
    try:
        found = services.get_case_for(current_user, case_id)
    except NotFound:
        abort(404)
    form = CaseStatusForm()
    if form.validate_on_submit():
        try:
            services.set_case_status(found, CaseStatus(form.status.data), actor=current_actor(), reason=form.reason.data)
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            flash(_("The case is now “%(status)s”.", status=found.status.label), "success")
    else:
        flash_form_errors(form)
    return redirect(url_for("procurement.case", case_id=found.id))


# --- purchase requests (enterprise) ----------------------------------------------------------


@bp.route("/procurement/requests/new")
@roles_required(Role.ENTERPRISE_STAFF)
def choose_case():
    open_cases = [c for c in services.cases_for(current_user, per_page=100).items if c.status is CaseStatus.OPEN]
    return render_template("procurement/choose_case.html", cases=open_cases)


def _request_input(form: RequestForm) -> services.RequestInput:
    deadline = form.bidding_deadline.data
    return services.RequestInput(
        title=form.title.data, content=form.content.data, scale=form.scale.data or "",
        is_budgeted=form.is_budgeted.data == "yes", budget_ceiling_fen=form.budget_ceiling.data,
        quote_min_fen=form.quote_min.data, quote_max_fen=form.quote_max.data,
        qualification_type_ids=tuple(form.qualification_type_ids.data or ()),
        selection_method=form.selection_method.data,
        direct_agency_id=form.direct_agency_id.data or None, direct_reason=form.direct_reason.data or "",
        weight_price=form.weight_price.data, weight_time=form.weight_time.data,
        weight_credit=form.weight_credit.data,
        bidding_deadline=services.china_local_to_utc(deadline) if deadline else None,
        contact_name=form.contact_name.data, contact_phone=form.contact_phone.data,
        complaint_phone=form.complaint_phone.data,
    )


def _request_form(item: ServiceItem, obj: PurchaseRequest | None = None) -> RequestForm:
    form = RequestForm()
    now = utcnow()
    form.qualification_type_ids.choices = [(q.id, q.name) for q in item.qualification_types]
    form.direct_agency_id.choices = [(0, "—")] + [
        (a.id, a.name) for a in services.listed_agencies(item.id, services.china_date(now))
    ]
    if request.method == "GET":
        if obj is not None:
            for name in ("title", "content", "scale", "direct_reason", "weight_price", "weight_time",
                         "weight_credit", "contact_name", "contact_phone", "complaint_phone"):
                getattr(form, name).data = getattr(obj, name)
            form.is_budgeted.data = "yes" if obj.is_budgeted else "no"
            form.budget_ceiling.data = obj.budget_ceiling_fen
            form.quote_min.data, form.quote_max.data = obj.quote_min_fen, obj.quote_max_fen
            form.selection_method.data = obj.selection_method.value
            form.direct_agency_id.data = obj.direct_agency_id or 0
            form.qualification_type_ids.data = [q.id for q in obj.required_qualifications]
            deadline = obj.bidding_deadline
        else:
            org = current_user.organisation
            form.contact_name.data = current_user.name
            form.contact_phone.data = org.contact_phone or current_user.phone
            form.weight_price.data, form.weight_time.data, form.weight_credit.data = 60, 20, 20
            deadline = services.default_deadline(now)
        form.bidding_deadline.data = deadline.astimezone(services.SHANGHAI).replace(tzinfo=None)
    return form


@bp.route("/procurement/cases/<int:case_id>/items/<int:item_id>/request", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE_STAFF)
def new_request(case_id: int, item_id: int):
    found = _load(ApprovalCase, case_id)
    if found.applicant_id != current_user.organisation_id:
        abort(404)
    item = _load(ServiceItem, item_id)
    form = _request_form(item)
    if form.validate_on_submit():
        try:
            req = services.create_request(found, item, _request_input(form), actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("Draft saved. Check it, then publish it."), "success")
            return redirect(url_for("procurement.announcement", request_id=req.id))
    return render_template("procurement/request_form.html", form=form, case=found, item=item, req=None,
                           min_days=services._config("PROCUREMENT_MIN_BIDDING_DAYS"))


@bp.route("/procurement/requests/<int:request_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ENTERPRISE_STAFF)
def edit_request(request_id: int):
    req = _own_request(request_id)
    if req.status is not RequestStatus.DRAFT:
        flash(_("Only a draft can be changed."), "warning")
        return redirect(url_for("procurement.announcement", request_id=req.id))
    form = _request_form(req.service_item, req)
    if form.validate_on_submit():
        try:
            services.update_request(req, _request_input(form), actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("Draft saved."), "success")
            return redirect(url_for("procurement.announcement", request_id=req.id))
    return render_template("procurement/request_form.html", form=form, case=req.approval_case,
                           item=req.service_item, req=req,
                           min_days=services._config("PROCUREMENT_MIN_BIDDING_DAYS"))


@bp.route("/procurement/requests/<int:request_id>/publish", methods=["POST"])
@roles_required(Role.ENTERPRISE_STAFF)
def publish_request(request_id: int):
    req = _own_request(request_id)
    try:
        services.publish_request(req, actor=current_actor())
    except DomainError as exc:
        fail(None, exc)
    else:
        db.session.commit()
        flash(_("Published. Bidding is open until %(deadline)s.",
                deadline=req.bidding_deadline.astimezone(services.SHANGHAI).strftime("%Y-%m-%d %H:%M")), "success")
    return redirect(url_for("procurement.announcement", request_id=req.id))


@bp.route("/procurement/requests/<int:request_id>/cancel", methods=["POST"])
@roles_required(Role.ENTERPRISE_STAFF)
def cancel_request(request_id: int):
    req = _own_request(request_id)
    form = ReasonForm(prefix="cancel")
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        try:
            services.cancel_request(req, form.reason.data, actor=current_actor())
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            if req.is_public:
                flash(_("The request is cancelled; the reason is public."), "success")
            else:
                flash(_("The draft is cancelled. It was never published, so nobody else sees it."),
                      "success")
    return redirect(url_for("procurement.announcement", request_id=req.id))


@bp.route("/procurement/requests/<int:request_id>/republish", methods=["POST"])
@roles_required(Role.ENTERPRISE_STAFF)
def republish_request(request_id: int):
    req = _own_request(request_id)
    try:
        copy = services.republish_request(req, actor=current_actor())
    except DomainError as exc:
        fail(None, exc)
        return redirect(url_for("procurement.announcement", request_id=req.id))
    db.session.commit()
    flash(_("Round %(n)d drafted from the failed one. Check the deadline and publish it.", n=copy.round_number),
          "success")
    return redirect(url_for("procurement.edit_request", request_id=copy.id))


@bp.route("/procurement/requests/<int:request_id>/exclusions", methods=["POST"])
@roles_required(Role.ENTERPRISE_STAFF)
def add_exclusion(request_id: int):
    req = _own_request(request_id)
    form = ExclusionForm()
    form.agency_id.choices = [(a.id, a.name) for a in
                              services.listed_agencies(req.service_item_id, services.china_date(utcnow()))]
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        try:
            services.add_exclusion(req, form.agency_id.data, form.reason.data, actor=current_actor())
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            flash(_("Exclusion added."), "success")
    return redirect(url_for("procurement.announcement", request_id=req.id))


@bp.route("/procurement/exclusions/<int:exclusion_id>/delete", methods=["POST"])
@roles_required(Role.ENTERPRISE_STAFF)
def remove_exclusion(exclusion_id: int):
    exclusion = _load(Exclusion, exclusion_id)
    req = _own_request(exclusion.request_id)
    try:
        services.remove_exclusion(exclusion, actor=current_actor())
    except DomainError as exc:
        fail(None, exc)
    else:
        db.session.commit()
        flash(_("Exclusion removed."), "success")
    return redirect(url_for("procurement.announcement", request_id=req.id))


@bp.route("/procurement/requests/<int:request_id>/bids/<int:bid_id>/decision", methods=["POST"])
@roles_required(Role.ENTERPRISE_STAFF)
def decide_bid(request_id: int, bid_id: int):
    req = _own_request(request_id)
    bid = _load(Bid, bid_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        try:
            services.decide_abnormal_bid(req, bid, confirm=form.decision.data == "confirm",
                                         reason=form.reason.data, actor=current_actor())
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            flash(_("Decision recorded."), "success")
    return redirect(url_for("procurement.announcement", request_id=req.id))


@bp.route("/procurement/requests/<int:request_id>/pass-award", methods=["POST"])
@roles_required(Role.ENTERPRISE_STAFF)
def pass_award(request_id: int):
    req = _own_request(request_id)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        try:
            services.pass_award_to_next(req, form.reason.data, current_actor())
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            flash(_("The award has passed on; the result page shows the record."), "success")
    return redirect(url_for("procurement.result", request_id=req.id))


@bp.route("/procurement/my-requests")
@roles_required(Role.ENTERPRISE_STAFF)
def my_requests():
    org_id = current_user.organisation_id
    now = utcnow()
    return render_template(
        "procurement/my_requests.html", tasks=services.enterprise_tasks(org_id, now),
        pagination=services.enterprise_requests(org_id, page=page_arg()), now=now,
    )


# --- bids (agency) ---------------------------------------------------------------------------


@bp.route("/announcements/<int:request_id>/bid", methods=["GET", "POST"])
@roles_required(Role.AGENCY_STAFF)
def bid(request_id: int):
    req = _load_request(request_id)
    org = current_user.organisation
    now = utcnow()
    own = services.live_bid(req.id, org.id)
    form = BidForm()
    if request.method == "GET" and own is not None:
        form.price.data, form.days.data, form.version.data = own.price_fen, own.days, own.version
    if form.validate_on_submit():
        # No version: the page showed no bid of this agency, so this is a first submission.
        try:
            expected = int(form.version.data) if form.version.data else None
        except ValueError:
            expected = 0
        if expected is not None and not 0 < expected <= MAX_DB_INT:
            expected = 0  # no bid has that version: refused as stale
        try:
            services.place_bid(req, org=org, price_fen=form.price.data, days=form.days.data,
                               expected_version=expected, actor=current_actor(), now=now)
            message = (_("Your sealed bid is submitted. Nobody else can see it before the deadline.")
                       if expected is None else _("Your bid is revised."))
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(message, "success")
            return redirect(url_for("procurement.announcement", request_id=req.id))
    problems = [str(p) for p in services.bid_problems(req, org, now)]
    return render_template("procurement/bid_form.html", req=req, form=form, own=own, problems=problems,
                           listing=services.active_listing(org.id, req.service_item_id, services.china_date(now)))


@bp.route("/procurement/bids/<int:bid_id>/withdraw", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def withdraw_bid(bid_id: int):
    found = _load(Bid, bid_id)
    if found.agency_id != current_user.organisation_id:
        abort(404)
    try:
        services.withdraw_bid(found, actor=current_actor())
    except DomainError as exc:
        fail(None, exc)
    else:
        db.session.commit()
        flash(_("Your bid is withdrawn. You may bid again until the deadline."), "success")
    return redirect(url_for("procurement.announcement", request_id=found.request_id))


@bp.route("/procurement/bids/<int:bid_id>/decline", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def decline_award(bid_id: int):
    found = _load(Bid, bid_id)
    if found.agency_id != current_user.organisation_id:
        abort(404)
    form = ReasonForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
    else:
        try:
            services.decline_award(found, form.reason.data, actor=current_actor())
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            flash(_("You refused the award; it passes to the next in the ranking."), "success")
    return redirect(url_for("procurement.result", request_id=found.request_id))


@bp.route("/procurement/my-bids")
@roles_required(Role.AGENCY_STAFF)
def my_bids():
    org_id = current_user.organisation_id
    now = utcnow()
    return render_template(
        "procurement/my_bids.html", tasks=services.agency_tasks(org_id, now),
        bids=services.agency_bids(org_id), opportunities=services.open_opportunities(org_id, now),
        now=now,
    )


@bp.app_template_filter("china_time")
def china_time(value, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """An aware UTC datetime (or its ISO text, as stored in an outcome) shown in Beijing time."""
    if value is None or value == "":
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(services.SHANGHAI).strftime(fmt)
