"""Sanction pages: the public blacklist, the regulators' desk, the agency's own cases."""

from __future__ import annotations

from flask import Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.core.csvsafe import to_csv
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.core.text import clean_query, is_db_id
from marketplace.core.web import current_actor, fail, page_arg
from marketplace.credit import services as credit
from marketplace.extensions import db
from marketplace.sanctions import bp, services
from marketplace.sanctions.forms import (
    AppealDecisionForm,
    DecideForm,
    NotifyForm,
    ProposeForm,
    ReasonForm,
    RepairDecisionForm,
    TextForm,
)
from marketplace.sanctions.grounds import GROUNDS, get_ground
from marketplace.sanctions.models import SanctionCase
from marketplace.sanctions.triggers import describe

REGULATORS = (Role.REGULATOR, Role.ADMIN)


def _kind_arg() -> str:
    kind = request.args.get("kind", "blacklist")
    return kind if kind in services.LIST_KINDS else "blacklist"


def _int_arg(name: str) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if is_db_id(value) else None


@bp.app_template_global("agency_exit_case")
def agency_exit_case(org_id: int):
    """The blacklisting in force against an agency today (for the contract page's warning)."""
    return services.exit_case_for(org_id)


@bp.app_template_global("listed_sanctions")
def listed_sanctions(org):
    """The published sanction cases shown in the credit panel of an agency's page."""
    return services.listed_cases_for(getattr(org, "id", org))


@bp.app_template_global("sanction_ground")
def sanction_ground(code: str):
    """The published ground of a case (None when unknown)."""
    return get_ground(code)


@bp.app_template_global("sanction_trigger_text")
def sanction_trigger_text(case) -> str:
    """What fired an automatic proposal, translated."""
    return describe(case)


# --- public pages ----------------------------------------------------------------------------


@bp.route("/blacklist")
def blacklist():
    q, kind = clean_query(request.args.get("q", "")), _kind_arg()
    pagination = services.public_list(q=q, kind=kind, page=page_arg())
    return render_template("sanctions/blacklist.html", pagination=pagination, q=q, kind=kind,
                           grounds=GROUNDS, today=services.china_day(utcnow()))


@bp.route("/blacklist.csv")
def blacklist_csv():
    q, kind = clean_query(request.args.get("q", "")), _kind_arg()
    header, rows = services.csv_table(services.public_rows(q=q, kind=kind))
    today = services.china_day(utcnow()).isoformat()
    return Response(
        to_csv(header, rows), mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="sanctions-{kind}-{today}.csv"'},
    )


@bp.route("/sanctions/<int(max=2147483647):case_id>")
def case(case_id: int):
    found = services.get_public_case(case_id)
    return render_template("sanctions/case.html", case=found, today=services.china_day(utcnow()))


# --- regulators ------------------------------------------------------------------------------


@bp.route("/regulator/sanctions")
@roles_required(*REGULATORS)
def queue():
    q = clean_query(request.args.get("q", ""))
    return render_template(
        "sanctions/queue.html", queue=services.regulator_queue(), q=q,
        agencies=services.search_agencies(q) if q else [], now=utcnow(),
        near=credit.near_threshold(_near_margin()),
    )


def _near_margin() -> int:
    from flask import current_app

    return int(current_app.config.get("CREDIT_NEAR_THRESHOLD_POINTS", 3))


@bp.route("/regulator/sanctions/new", methods=["GET", "POST"])
@roles_required(*REGULATORS)
def propose():
    form = ProposeForm()
    agency_id = form.agency_id.data if request.method == "POST" else _int_arg("agency")
    agency = None
    if agency_id and is_db_id(agency_id):
        try:
            agency = credit.get_agency(agency_id)
        except DomainError:
            agency = None
    if request.method == "GET":
        if agency is not None:
            form.agency_id.data = agency.id
        form.supersedes.data = _int_arg("supersedes")
        replaced = form.supersedes.data and db.session.get(SanctionCase, form.supersedes.data)
        if replaced:
            form.ground_code.data = replaced.ground_code
    elif agency is None:
        flash(_("Choose the agency first."), "danger")
    elif form.validate_on_submit():
        try:
            supersedes = services.get_case(form.supersedes.data) if form.supersedes.data else None
            created = services.propose_sanction(
                agency, kind=form.kind.data, ground_code=form.ground_code.data, facts=form.facts.data,
                start_date=form.start_date.data, end_date=form.end_date.data,
                evidence=[(e.object_type.data, e.object_id.data, e.note.data) for e in form.evidence],
                actor=current_actor(), supersedes=supersedes,
            )
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The proposal is on record. Another regulator must decide it."), "success")
            return redirect(url_for("sanctions.manage", case_id=created.id))
    q = clean_query(request.args.get("q", ""))
    return render_template("sanctions/propose.html", form=form, agency=agency, grounds=GROUNDS, q=q,
                           agencies=services.search_agencies(q) if q and agency is None else [])


def _manage_page(found, status: int = 200, **forms):
    now = utcnow()
    context = {
        "notify_form": NotifyForm(), "decide_form": DecideForm(prefix="decide"),
        "withdraw_form": ReasonForm(prefix="withdraw"), "appeal_form": AppealDecisionForm(prefix="appeal"),
        "repair_form": RepairDecisionForm(prefix="repair"),
    }
    context.update(forms)
    if request.method == "GET":
        today = services.china_day(now)
        context["decide_form"].start_date.data = max(found.start_date or today, today)
        context["decide_form"].end_date.data = found.end_date
    return render_template(
        "sanctions/manage.html", case=found, now=now, today=services.china_day(now),
        decision_problem=services.decision_problem(found, current_actor(), now),
        appeal_problem=services.appeal_problem(found, current_actor()),
        pending_repair=next((r for r in found.repair_requests if r.status.value == "pending"), None),
        **context,
    ), status


@bp.route("/regulator/sanctions/<int(max=2147483647):case_id>")
@roles_required(*REGULATORS)
def manage(case_id: int):
    return _manage_page(services.get_case(case_id))


@bp.route("/regulator/sanctions/<int(max=2147483647):case_id>/notify", methods=["POST"])
@roles_required(*REGULATORS)
def notify(case_id: int):
    found = services.get_case(case_id)
    if NotifyForm().validate_on_submit():
        try:
            services.notify_agency(found, actor=current_actor())
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            flash(_("The agency is notified; its response period is open."), "success")
    return redirect(url_for("sanctions.manage", case_id=case_id))


@bp.route("/regulator/sanctions/<int(max=2147483647):case_id>/decide", methods=["POST"])
@roles_required(*REGULATORS)
def decide(case_id: int):
    found = services.get_case(case_id)
    form = DecideForm(prefix="decide")
    if form.validate_on_submit():
        try:
            services.decide_sanction(found, actor=current_actor(), start_date=form.start_date.data,
                                     end_date=form.end_date.data, reason=form.reason.data or "")
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The sanction is decided and published."), "success")
            return redirect(url_for("sanctions.manage", case_id=case_id))
    return _manage_page(services.get_case(case_id), decide_form=form)


@bp.route("/regulator/sanctions/<int(max=2147483647):case_id>/withdraw", methods=["POST"])
@roles_required(*REGULATORS)
def withdraw(case_id: int):
    found = services.get_case(case_id)
    form = ReasonForm(prefix="withdraw")
    if form.validate_on_submit():
        try:
            services.withdraw_sanction(found, actor=current_actor(), reason=form.reason.data)
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The proposal is withdrawn."), "success")
            return redirect(url_for("sanctions.manage", case_id=case_id))
    return _manage_page(services.get_case(case_id), withdraw_form=form)


@bp.route("/regulator/sanctions/<int(max=2147483647):case_id>/appeal", methods=["POST"])
@roles_required(*REGULATORS)
def decide_appeal(case_id: int):
    found = services.get_case(case_id)
    form = AppealDecisionForm(prefix="appeal")
    if form.validate_on_submit():
        try:
            services.decide_appeal(found, actor=current_actor(), outcome=form.outcome.data,
                                   reason=form.reason.data, new_end_date=form.new_end_date.data)
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The appeal is decided."), "success")
            return redirect(url_for("sanctions.manage", case_id=case_id))
    return _manage_page(services.get_case(case_id), appeal_form=form)


@bp.route("/regulator/repairs/<int(max=2147483647):request_id>", methods=["POST"])
@roles_required(*REGULATORS)
def decide_repair(request_id: int):
    req = services.get_repair_request(request_id)
    case_id = req.case_id
    form = RepairDecisionForm(prefix="repair")
    if form.validate_on_submit():
        try:
            services.decide_repair(req, actor=current_actor(), approve=form.decision.data == "approve",
                                   reason=form.reason.data or "")
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The credit-repair request is decided."), "success")
            return redirect(url_for("sanctions.manage", case_id=case_id))
    return _manage_page(services.get_case(case_id), repair_form=form)


@bp.route("/regulator/agencies/<int(max=2147483647):org_id>")
@roles_required(*REGULATORS)
def timeline(org_id: int):
    org = credit.get_agency(org_id)
    return render_template(
        "sanctions/timeline.html", org=org, items=services.timeline(org.id),
        cases=services.cases_for_agency(org.id), summary=credit.credit_for([org.id]).get(org.id),
        today=services.china_day(utcnow()),
    )


# --- the agency's own cases ------------------------------------------------------------------


@bp.route("/agency/sanctions")
@roles_required(Role.AGENCY_STAFF)
def my_sanctions():
    org = current_user.organisation
    return render_template("sanctions/my_sanctions.html", cases=services.cases_for_agency(org.id),
                           today=services.china_day(utcnow()), summary=credit.credit_for([org.id]).get(org.id))


def _my_case_page(found, status: int = 200, **forms):
    now = utcnow()
    context = {"respond_form": TextForm(prefix="respond"), "appeal_form": TextForm(prefix="appeal"),
               "repair_form": TextForm(prefix="repair")}
    context.update(forms)
    return render_template(
        "sanctions/my_case.html", case=found, now=now, today=services.china_day(now),
        response_open=services.response_open(found, now), can_appeal=services.can_appeal(found, now),
        appeal_deadline=services.appeal_deadline(found),
        can_repair=services.can_request_repair(found, now),
        pending_repair=next((r for r in found.repair_requests if r.status.value == "pending"), None),
        **context,
    ), status


@bp.route("/agency/sanctions/<int(max=2147483647):case_id>")
@roles_required(Role.AGENCY_STAFF)
def my_case(case_id: int):
    return _my_case_page(services.get_own_case(case_id, current_user.organisation_id))


def _agency_action(case_id: int, prefix: str, action, done_message: str):
    found = services.get_own_case(case_id, current_user.organisation_id)
    form = TextForm(prefix=prefix)
    if form.validate_on_submit():
        try:
            action(found, text=form.text.data, actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(done_message, "success")
            return redirect(url_for("sanctions.my_case", case_id=case_id))
    return _my_case_page(services.get_own_case(case_id, current_user.organisation_id),
                         **{f"{prefix}_form": form})


@bp.route("/agency/sanctions/<int(max=2147483647):case_id>/respond", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def respond(case_id: int):
    return _agency_action(case_id, "respond", services.respond_to_proposal,
                          _("Your response is on record. The regulators will read it before deciding."))


@bp.route("/agency/sanctions/<int(max=2147483647):case_id>/appeal", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def appeal(case_id: int):
    return _agency_action(case_id, "appeal", services.appeal_sanction,
                          _("Your appeal is on record. A regulator who took no part in the decision will decide it."))


@bp.route("/agency/sanctions/<int(max=2147483647):case_id>/repair", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def repair(case_id: int):
    return _agency_action(case_id, "repair", services.request_repair,
                          _("Your credit-repair request is on record."))

