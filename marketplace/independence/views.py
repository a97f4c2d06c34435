"""Independence-flag pages: the regulators' list and desk, the agency's own flags."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.text import clean_query, is_db_id
from marketplace.core.uploads import send_stored_file
from marketplace.core.web import current_actor, fail
from marketplace.extensions import db
from marketplace.independence import bp, services
from marketplace.independence.forms import FlagForm, LiftForm, ResponseForm, SanctionFromFlagForm

REGULATORS = (Role.REGULATOR, Role.ADMIN)
ID = "int(max=2147483647)"


def _agency_arg():
    try:
        value = int(request.args.get("agency", ""))
    except ValueError:
        return None
    return value if is_db_id(value) else None


@bp.app_template_global("independence_active_flags")
def independence_active_flags(org_id: int):
    """The agency's active flags (its declaration page warns about them)."""
    return [f for f in services.flags_for_agency(org_id) if f.is_active]


# --- regulators ------------------------------------------------------------------------------


@bp.route("/regulator/independence")
@roles_required(*REGULATORS)
def flags():
    status = "all" if request.args.get("status") == "all" else "active"
    return render_template("independence/flags.html", flags=services.regulator_list(status=status),
                           status=status)


@bp.route("/regulator/independence/new", methods=["GET", "POST"])
@roles_required(*REGULATORS)
def new_flag():
    form = FlagForm(departments=services.department_choices())
    agency_id = form.agency_id.data if request.method == "POST" else _agency_arg()
    agency = None
    if agency_id:
        try:
            agency = services.get_agency(agency_id)
        except NotFound:
            agency = None
    if request.method == "GET" and agency is not None:
        form.agency_id.data = agency.id
    elif request.method == "POST" and agency is None:
        flash(_("Choose the agency first."), "danger")
    elif request.method == "POST" and form.validate_on_submit():
        try:
            flag = services.raise_flag(agency, department=form.department_id.data,
                                       link_kind=form.link_kind.data, evidence_text=form.evidence_text.data,
                                       files=form.files.data or [], actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The flag is on record. The agency can no longer bid on this department's approval cases."),
                  "success")
            return redirect(url_for("independence.manage", flag_id=flag.id))
    q = clean_query(request.args.get("q", ""))
    return render_template("independence/new.html", form=form, agency=agency, q=q,
                           agencies=services.search_agencies(q) if q and agency is None else [])


def _manage_page(flag, status: int = 200, **forms):
    context = {"lift_form": LiftForm(prefix="lift"), "sanction_form": SanctionFromFlagForm(prefix="sanction")}
    context.update(forms)
    if request.method == "GET":
        context["sanction_form"].facts.data = flag.evidence_text
    return render_template("independence/manage.html", flag=flag, **context), status


@bp.route(f"/regulator/independence/<{ID}:flag_id>")
@roles_required(*REGULATORS)
def manage(flag_id: int):
    return _manage_page(services.get_flag(flag_id))


@bp.route(f"/regulator/independence/<{ID}:flag_id>/lift", methods=["POST"])
@roles_required(*REGULATORS)
def lift(flag_id: int):
    flag = services.get_flag(flag_id)
    form = LiftForm(prefix="lift")
    if form.validate_on_submit():
        try:
            services.lift_flag(flag, reason=form.reason.data, actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The flag is lifted; the agency may again bid on this department's approval cases."),
                  "success")
            return redirect(url_for("independence.manage", flag_id=flag_id))
    return _manage_page(services.get_flag(flag_id), lift_form=form)


@bp.route(f"/regulator/independence/<{ID}:flag_id>/sanction", methods=["POST"])
@roles_required(*REGULATORS)
def propose_sanction(flag_id: int):
    flag = services.get_flag(flag_id)
    form = SanctionFromFlagForm(prefix="sanction")
    if form.validate_on_submit():
        try:
            case = services.propose_sanction_from_flag(flag, kind=form.kind.data, facts=form.facts.data,
                                                       end_date=form.end_date.data, actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The proposal is on record. Another regulator must decide it."), "success")
            return redirect(url_for("sanctions.manage", case_id=case.id))
    return _manage_page(services.get_flag(flag_id), sanction_form=form)


@bp.route(f"/regulator/independence/<{ID}:flag_id>/files/<{ID}:file_id>")
@roles_required(*REGULATORS)
def regulator_file(flag_id: int, file_id: int):
    try:
        stored = services.flag_file(services.get_flag(flag_id), file_id)
    except NotFound:
        abort(404)
    return send_stored_file(stored)


# --- the agency's own flags ------------------------------------------------------------------


@bp.route("/agency/independence")
@roles_required(Role.AGENCY_STAFF)
def my_flags():
    return render_template("independence/my_flags.html",
                           flags=services.flags_for_agency(current_user.organisation_id))


def _my_flag_page(flag, status: int = 200, form=None):
    return render_template("independence/my_flag.html", flag=flag,
                           form=form or ResponseForm(text=flag.response_text)), status


@bp.route(f"/agency/independence/<{ID}:flag_id>")
@roles_required(Role.AGENCY_STAFF)
def my_flag(flag_id: int):
    return _my_flag_page(services.get_own_flag(flag_id, current_user.organisation_id))


@bp.route(f"/agency/independence/<{ID}:flag_id>/respond", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def respond(flag_id: int):
    flag = services.get_own_flag(flag_id, current_user.organisation_id)
    form = ResponseForm()
    if form.validate_on_submit():
        try:
            services.respond_to_flag(flag, text=form.text.data, actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("Your response is on record. The regulators will read it."), "success")
            return redirect(url_for("independence.my_flag", flag_id=flag_id))
    return _my_flag_page(services.get_own_flag(flag_id, current_user.organisation_id), 200, form)


@bp.route(f"/agency/independence/<{ID}:flag_id>/files/<{ID}:file_id>")
@roles_required(Role.AGENCY_STAFF)
def my_file(flag_id: int, file_id: int):
    try:
        stored = services.flag_file(services.get_own_flag(flag_id, current_user.organisation_id), file_id)
    except NotFound:
        abort(404)
    return send_stored_file(stored)
