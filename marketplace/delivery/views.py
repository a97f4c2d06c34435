"""Delivery pages: the work against the due date, submissions, acceptance, extensions, timeline."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.contracts import termination
from marketplace.contracts.models import ContractStatus
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.uploads import send_stored_file
from marketplace.core.web import current_actor, fail, flash_form_errors, page_arg
from marketplace.delivery import bp, services
from marketplace.delivery.forms import (
    DecisionForm,
    ExtensionAnswerForm,
    ExtensionForm,
    RevisionForm,
    SubmitForm,
)
from marketplace.delivery.models import DeliveryStatus, ExtensionStatus
from marketplace.delivery.timeline import timeline_for
from marketplace.extensions import db

PARTY_ROLES = (Role.ENTERPRISE_STAFF, Role.AGENCY_STAFF)
VIEW_ROLES = (*PARTY_ROLES, Role.APPROVAL_OFFICER, Role.REGULATOR, Role.ADMIN)
ID = "int(max=2147483647)"


def _load(contract_id: int):
    """The contract and its delivery (opened on the first visit once the contract is in force)."""
    try:
        contract = services.get_contract_for(current_user, contract_id)
    except NotFound:
        abort(404)
    delivery = services.delivery_of(contract)
    if delivery is None:
        try:
            delivery = services.open_delivery(contract, actor=current_actor())
        except DomainError:
            db.session.rollback()
            abort(404)
        db.session.commit()
    return contract, delivery


def _version(form) -> int | None:
    value = (form.version.data or "").strip()
    return int(value) if value.isascii() and value.isdigit() and len(value) < 10 else -1


def _back(contract_id: int):
    return redirect(url_for("delivery.detail", contract_id=contract_id))


def _page(contract, delivery, *, submit_form=None, revision_form=None, extension_form=None, status=200):
    latest = delivery.latest
    return render_template(
        "delivery/detail.html", contract=contract, delivery=delivery,
        party=services.party_of(current_user, delivery),
        submissions=services.visible_submissions(current_user, delivery),
        countdown=services.countdown(delivery), pauses=services.revision_pauses_clock(),
        open_extension=services.open_extension(delivery),
        submit_form=submit_form or SubmitForm(), decision_form=DecisionForm(version=latest.version if latest else ""),
        revision_form=revision_form or RevisionForm(version=latest.version if latest else ""),
        extension_form=extension_form or ExtensionForm(), answer_form=ExtensionAnswerForm(),
        Status=DeliveryStatus, ExtensionStatus=ExtensionStatus,
        working=contract.status is ContractStatus.IN_FORCE,
        termination=termination.effective_termination(contract)
        if contract.status is ContractStatus.TERMINATED else None,
    ), status


@bp.get(f"/deliveries/<{ID}:contract_id>")
@roles_required(*VIEW_ROLES)
def detail(contract_id: int):
    """The delivery of one contract: due date, countdown, versions, decisions, extensions."""
    contract, delivery = _load(contract_id)
    return _page(contract, delivery)


@bp.post(f"/deliveries/<{ID}:contract_id>/submit")
@roles_required(Role.AGENCY_STAFF)
def submit(contract_id: int):
    """The agency submits a new version of the result."""
    contract, delivery = _load(contract_id)
    form = SubmitForm()
    if not form.validate_on_submit():
        return _page(contract, delivery, submit_form=form, status=400)
    try:
        submission = services.submit_result(delivery, summary=form.summary.data,
                                            files=request.files.getlist(form.files.name), actor=current_actor())
    except DomainError as exc:
        fail(form, exc)
        contract, delivery = _load(contract_id)
        return _page(contract, delivery, submit_form=form, status=400)
    db.session.commit()
    flash(_("Version %(n)d of the result was submitted.", n=submission.version), "success")
    return _back(contract_id)


@bp.post(f"/deliveries/<{ID}:contract_id>/accept")
@roles_required(Role.ENTERPRISE_STAFF)
def accept(contract_id: int):
    """The enterprise accepts the latest version."""
    contract, delivery = _load(contract_id)
    form = DecisionForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(contract_id)
    try:
        submission = services.accept_delivery(delivery, version=_version(form), actor=current_actor())
    except DomainError as exc:
        fail(None, exc)
    else:
        db.session.commit()
        flash(_("Version %(n)d was accepted and attached to the approval case.", n=submission.version),
              "success")
    return _back(contract_id)


@bp.post(f"/deliveries/<{ID}:contract_id>/revision")
@roles_required(Role.ENTERPRISE_STAFF)
def revision(contract_id: int):
    """The enterprise asks for a revision of the latest version."""
    contract, delivery = _load(contract_id)
    form = RevisionForm()
    if not form.validate_on_submit():
        return _page(contract, delivery, revision_form=form, status=400)
    try:
        services.request_revision(delivery, reason=form.reason.data, version=_version(form), actor=current_actor())
    except DomainError as exc:
        fail(form, exc)
        contract, delivery = _load(contract_id)
        return _page(contract, delivery, revision_form=form, status=400)
    db.session.commit()
    flash(_("The revision was requested."), "success")
    return _back(contract_id)


@bp.post(f"/deliveries/<{ID}:contract_id>/extensions")
@roles_required(*PARTY_ROLES)
def propose_extension(contract_id: int):
    """A party proposes a later due date."""
    contract, delivery = _load(contract_id)
    form = ExtensionForm()
    if not form.validate_on_submit():
        return _page(contract, delivery, extension_form=form, status=400)
    try:
        services.propose_extension(delivery, new_due_date=form.new_due_date.data, reason=form.reason.data,
                                   actor=current_actor())
    except DomainError as exc:
        fail(form, exc)
        contract, delivery = _load(contract_id)
        return _page(contract, delivery, extension_form=form, status=400)
    db.session.commit()
    flash(_("The proposal was sent to the other party."), "success")
    return _back(contract_id)


def _answer(contract_id: int, ext_id: int, *, agree: bool, message):
    contract, delivery = _load(contract_id)
    form = ExtensionAnswerForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return _back(contract_id)
    try:
        ext = services.get_extension(delivery, ext_id)
        services.decide_extension(ext, agree=agree, note=form.note.data or "", actor=current_actor())
    except NotFound:
        abort(404)
    except DomainError as exc:
        fail(None, exc)
    else:
        db.session.commit()
        flash(message, "success")
    return _back(contract_id)


@bp.post(f"/deliveries/<{ID}:contract_id>/extensions/<{ID}:ext_id>/agree")
@roles_required(*PARTY_ROLES)
def agree_extension(contract_id: int, ext_id: int):
    """The other party agrees: the due date moves."""
    return _answer(contract_id, ext_id, agree=True, message=_("The new due date was agreed."))


@bp.post(f"/deliveries/<{ID}:contract_id>/extensions/<{ID}:ext_id>/decline")
@roles_required(*PARTY_ROLES)
def decline_extension(contract_id: int, ext_id: int):
    """The other party declines (or the proposer withdraws): the due date stays."""
    return _answer(contract_id, ext_id, agree=False, message=_("The proposal was closed; the due date stays."))


@bp.get(f"/deliveries/<{ID}:contract_id>/timeline")
@roles_required(*VIEW_ROLES)
def timeline(contract_id: int):
    """Signing, entry into force, submissions, revisions, extensions, acceptance (and payments)."""
    contract, delivery = _load(contract_id)
    return render_template("delivery/timeline.html", contract=contract, delivery=delivery,
                           entries=timeline_for(contract, viewer=current_user))


@bp.get(f"/deliveries/<{ID}:contract_id>/files/<{ID}:file_id>")
@roles_required(*VIEW_ROLES)
def download(contract_id: int, file_id: int):
    """One file of a version the user may see (the case officer: the accepted version only)."""
    contract, delivery = _load(contract_id)
    try:
        item = services.get_file_for(current_user, delivery, file_id)
    except NotFound:
        abort(404)
    return send_stored_file(item.stored, as_attachment=request.args.get("download") == "1")


@bp.get("/regulator/deliveries/overdue")
@roles_required(Role.REGULATOR, Role.ADMIN)
def overdue():
    """Every delivery overdue today, longest first: contract, agency, enterprise, case, overrun."""
    return render_template("delivery/overdue.html", overdue=services.overdue_deliveries(page=page_arg()))


# --- panels for other pages -------------------------------------------------------------------


@bp.app_template_global("delivery_panel_rows")
def delivery_panel_rows():
    """The signed-in party's deliveries with their countdown (the workbench panel)."""
    if not getattr(current_user, "is_authenticated", False) or current_user.role not in PARTY_ROLES:
        return []
    return services.panel_rows(current_user.organisation_id)


@bp.app_template_global("delivery_case_results")
def delivery_case_results(case):
    """The accepted results attached to ``case`` that the user may see (the case page)."""
    if not getattr(current_user, "is_authenticated", False):
        return []
    return services.accepted_results_for_case(current_user, case)
