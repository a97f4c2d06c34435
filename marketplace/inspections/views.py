"""Random-inspection pages: the public record (一公开) and the regulators' desk."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.core.errors import DomainError
from marketplace.core.web import current_actor, fail, page_arg
from marketplace.extensions import db
from marketplace.inspections import bp, services
from marketplace.inspections.forms import ActionForm, CancelForm, PlanForm, ResultForm
from marketplace.procurement.selection import RandomDraw

PLANNERS = (Role.REGULATOR, Role.ADMIN)
ID = "int(max=2147483647)"


def _plan_input(form: PlanForm) -> services.PlanInput:
    return services.PlanInput(
        title=form.title.data, basis=form.basis.data or "", scope=form.scope.data,
        service_item_id=form.service_item_id.data or None, region_code=form.region_code.data or None,
        agency_sample_size=form.agency_sample_size.data, inspector_count=form.inspector_count.data,
        inspectors_per_check=form.inspectors_per_check.data,
    )


# --- public record ---------------------------------------------------------------------------


@bp.route("/inspections")
def public_list():
    return render_template("inspections/public_list.html", pagination=services.public_plans(page=page_arg()))


@bp.route(f"/inspections/<{ID}:plan_id>")
def public_plan(plan_id: int):
    plan = services.get_public_plan(plan_id)
    return render_template("inspections/public_plan.html", plan=plan, data=services.public_data(plan),
                           rule=RandomDraw.rule)


@bp.route(f"/inspections/<{ID}:plan_id>.json")
def public_plan_json(plan_id: int):
    return jsonify(services.public_data(services.get_public_plan(plan_id)))


# --- regulators ------------------------------------------------------------------------------


@bp.route("/regulator/inspections")
@roles_required(*PLANNERS)
def plans():
    return render_template("inspections/plans.html", plans=services.plans_for_regulators(),
                           mine=services.my_inspections(current_actor()))


@bp.route("/regulator/inspections/new", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def new_plan():
    form = PlanForm(service_items=services.service_item_choices())
    if form.validate_on_submit():
        try:
            plan = services.create_plan(_plan_input(form), actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The plan is saved as a draft; the seeds of its draw are committed."), "success")
            return redirect(url_for("inspections.manage", plan_id=plan.id))
    return render_template("inspections/plan_form.html", form=form, plan=None)


@bp.route(f"/regulator/inspections/<{ID}:plan_id>/edit", methods=["GET", "POST"])
@roles_required(*PLANNERS)
def edit_plan(plan_id: int):
    plan = services.get_plan(plan_id)
    form = PlanForm(obj=plan, service_items=services.service_item_choices())
    if request.method == "GET":
        form.scope.data = plan.scope.value
        form.service_item_id.data = plan.service_item_id or 0
    if form.validate_on_submit():
        try:
            services.update_plan(plan, _plan_input(form), actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The plan is saved."), "success")
            return redirect(url_for("inspections.manage", plan_id=plan.id))
    return render_template("inspections/plan_form.html", form=form, plan=plan)


def _manage_page(plan, status: int = 200, **forms):
    context = {"action_form": ActionForm(), "cancel_form": CancelForm(prefix="cancel")}
    context.update(forms)
    results = {i.id: forms.get(f"result_{i.id}") or ResultForm(prefix=f"r{i.id}") for i in plan.inspections}
    return render_template(
        "inspections/manage.html", plan=plan, results=results, me=current_actor(),
        pool_size=len(services.agency_pool_ids(plan)) if plan.status.value == "draft" else None,
        missing=services.missing_results(plan), **context,
    ), status


@bp.route(f"/regulator/inspections/<{ID}:plan_id>")
@roles_required(*PLANNERS)
def manage(plan_id: int):
    return _manage_page(services.get_plan(plan_id))


def _plan_action(plan_id: int, action, done: str):
    plan = services.get_plan(plan_id)
    if ActionForm().validate_on_submit():
        try:
            action(plan, actor=current_actor())
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            flash(done, "success")
    return redirect(url_for("inspections.manage", plan_id=plan_id))


@bp.route(f"/regulator/inspections/<{ID}:plan_id>/draw", methods=["POST"])
@roles_required(*PLANNERS)
def draw(plan_id: int):
    return _plan_action(plan_id, services.draw_plan,
                        _("The draw is made and published; the inspectors drawn are told."))


@bp.route(f"/regulator/inspections/<{ID}:plan_id>/publish", methods=["POST"])
@roles_required(*PLANNERS)
def publish(plan_id: int):
    return _plan_action(plan_id, services.publish_results, _("The results are published; the plan is closed."))


@bp.route(f"/regulator/inspections/<{ID}:plan_id>/cancel", methods=["POST"])
@roles_required(*PLANNERS)
def cancel(plan_id: int):
    plan = services.get_plan(plan_id)
    form = CancelForm(prefix="cancel")
    if form.validate_on_submit():
        try:
            services.cancel_plan(plan, reason=form.reason.data, actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The plan is cancelled."), "success")
            return redirect(url_for("inspections.manage", plan_id=plan_id))
    return _manage_page(services.get_plan(plan_id), cancel_form=form)


@bp.route(f"/regulator/inspections/<{ID}:plan_id>/inspections/<{ID}:inspection_id>/result", methods=["POST"])
@roles_required(Role.REGULATOR)
def record_result(plan_id: int, inspection_id: int):
    plan = services.get_plan(plan_id)
    inspection = services.get_inspection(plan, inspection_id)
    form = ResultForm(prefix=f"r{inspection.id}")
    if form.validate_on_submit():
        try:
            services.record_result(inspection, result=form.result.data, findings=form.findings.data or "",
                                   actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The result is on record."), "success")
            return redirect(url_for("inspections.manage", plan_id=plan_id))
    return _manage_page(services.get_plan(plan_id), **{f"result_{inspection_id}": form})
