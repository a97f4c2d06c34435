"""Parties' contract pages (review, changes, signing); public notices, verification, certificate."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.catalog import services as catalog
from marketplace.contracts import bp, services, templates_service, termination
from marketplace.contracts.forms import (
    ChangesForm,
    ContractTemplateForm,
    SignForm,
    TerminationAnswerForm,
    TerminationDeclarationForm,
    TerminationProposalForm,
    VerifyForm,
)
from marketplace.contracts.models import Contract, ContractStatus
from marketplace.core.errors import DomainError, NotFound
from marketplace.core.web import fail, flash_form_errors, page_arg
from marketplace.extensions import db

PARTY_ROLES = (Role.ENTERPRISE_STAFF, Role.AGENCY_STAFF)
VIEW_ROLES = (*PARTY_ROLES, Role.REGULATOR, Role.ADMIN)


def _load(contract_id) -> Contract:
    try:
        return services.get_contract_for(current_user, contract_id)
    except NotFound:
        abort(404)


# --- public -----------------------------------------------------------------------------------


@bp.get("/contracts")
def notices():
    """Contract notices (合同公告): parties, service, price, due date; no clauses."""
    return render_template("contracts/notices.html", pagination=services.public_notices(page=page_arg()))


@bp.route("/contracts/verify", methods=["GET", "POST"])
def verify():
    """Anyone uploads a PDF and/or enters a contract number to check it."""
    form = VerifyForm()
    outcome = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            data = services.read_upload(upload.stream) if upload and upload.filename else None
        except DomainError as exc:
            fail(form, exc)
        else:
            if data is None and not form.contract_no.data:
                flash(_("Upload a PDF or enter a contract number."), "warning")
            else:
                outcome = services.verify_contract(data, form.contract_no.data)
    elif request.method == "POST":
        flash_form_errors(form)
    return render_template("contracts/verify.html", form=form, outcome=outcome)


@bp.get("/contracts/certificate/<contract_no>")
def certificate(contract_no: str):
    """The certificate of completion: the signing timeline as a page, or (``?download=1``) as a
    PDF file."""
    contract = services.find_by_number(contract_no)
    if contract is None or contract.in_force_at is None:
        abort(404)
    html = render_template("contracts/certificate.html", contract=contract,
                           version=services.current_version(contract),
                           events=services.certificate_events(contract))
    if not request.args.get("download"):
        return html
    # A missing CJK font (RenderError) is shown by the DomainError handler's error page.
    return Response(services.certificate_pdf(contract, html), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{contract.contract_no}-certificate.pdf"'})


# --- parties ----------------------------------------------------------------------------------


@bp.get("/contracts/mine")
@roles_required(*PARTY_ROLES)
def mine():
    """The contracts of the user's organisation."""
    return render_template("contracts/mine.html", contracts=services.contracts_of(current_user.organisation_id))


@bp.get("/contracts/<int:contract_id>")
@roles_required(*VIEW_ROLES)
def detail(contract_id: int):
    """Review the contract, its versions and signatures; sign it or agree changes."""
    contract = _load(contract_id)
    version = services.current_version(contract)
    sign_form = SignForm(version=str(version.version), signer_name=current_user.name)
    changes_form = ChangesForm(special_terms=contract.special_terms)
    return render_template(
        "contracts/detail.html", contract=contract, version=version, party=contract.party_of(current_user),
        signatures=services.signatures_of(contract), sign_form=sign_form, changes_form=changes_form,
        Status=ContractStatus, **_termination_context(contract),
    )


def _termination_context(contract: Contract) -> dict:
    if contract.in_force_at is None:
        return {"terminations": [], "open_termination": None, "ground_checks": []}
    return {
        "terminations": termination.terminations_of(contract),
        "open_termination": termination.open_proposal(contract),
        "ground_checks": termination.unilateral_checks(contract),
        "proposal_form": TerminationProposalForm(),
        "answer_form": TerminationAnswerForm(),
        "declaration_form": TerminationDeclarationForm(),
    }


def _after_termination_step(contract_id: int, form, action, message: str):
    """Validate ``form``, run ``action`` (a service call), commit and say so; or flash why not."""
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("contracts.detail", contract_id=contract_id, _anchor="termination"))
    try:
        action(form)
    except DomainError as exc:
        fail(None, exc)
    else:
        db.session.commit()
        flash(message, "success")
    return redirect(url_for("contracts.detail", contract_id=contract_id, _anchor="termination"))


@bp.post("/contracts/<int:contract_id>/termination/propose")
@roles_required(*PARTY_ROLES)
def propose_termination(contract_id: int):
    """A party proposes to end the contract by agreement."""
    contract = _load(contract_id)
    actor = current_user._get_current_object()
    return _after_termination_step(
        contract_id, TerminationProposalForm(),
        lambda form: termination.propose_termination(contract, reason=form.reason.data, actor=actor),
        _("Your proposal to terminate the contract was sent to the other party."))


@bp.post("/contracts/<int:contract_id>/termination/<int:termination_id>/<any(agree, decline):answer>")
@roles_required(*PARTY_ROLES)
def answer_termination(contract_id: int, termination_id: int, answer: str):
    """The other party agrees or declines; the proposer withdraws (decline on its own proposal)."""
    contract = _load(contract_id)
    try:
        term = termination.get_termination(contract, termination_id)
    except NotFound:
        abort(404)
    actor = current_user._get_current_object()
    agree = answer == "agree"
    own = actor.organisation_id == term.proposed_by_org_id
    message = (_("The contract is terminated by agreement.") if agree
               else _("Your proposal was withdrawn.") if own else _("You declined the proposal; the contract stays in force."))
    return _after_termination_step(
        contract_id, TerminationAnswerForm(),
        lambda form: termination.answer_termination(term, agree=agree, note=form.note.data or "", actor=actor),
        message)


@bp.post("/contracts/<int:contract_id>/termination/declare")
@roles_required(Role.ENTERPRISE_STAFF)
def declare_termination(contract_id: int):
    """The enterprise ends the contract on its own, on a ground that holds now."""
    contract = _load(contract_id)
    actor = current_user._get_current_object()
    return _after_termination_step(
        contract_id, TerminationDeclarationForm(),
        lambda form: termination.declare_termination(contract, ground=form.ground.data,
                                                     reason=form.reason.data, actor=actor),
        _("The contract is terminated. The agency has been told."))


@bp.get("/contracts/<int:contract_id>/v<int:number>.pdf")
@roles_required(*VIEW_ROLES)
def download(contract_id: int, number: int):
    """A version's PDF (the sealed file once in force) for the parties."""
    contract = _load(contract_id)
    version = next((v for v in contract.versions if v.version == number), None)
    if version is None:
        abort(404)
    data = version.sealed_pdf or version.pdf
    suffix = "-sealed" if version.sealed_pdf else ""
    return Response(data, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{contract.contract_no}-v{number}{suffix}.pdf"'})


@bp.post("/contracts/<int:contract_id>/sign")
@roles_required(*PARTY_ROLES)
def sign(contract_id: int):
    """Sign the reviewed version (re-authentication by password)."""
    contract = _load(contract_id)
    form = SignForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("contracts.detail", contract_id=contract.id))
    try:
        version = int(form.version.data or 0)
    except ValueError:
        version = 0
    data = services.SignatureInput(
        password=form.password.data, signer_name=form.signer_name.data,
        signer_position=form.signer_position.data or "", version=version,
        ip=request.remote_addr or "", user_agent=request.user_agent.string or "",
    )
    try:
        services.sign_contract(contract, data, actor=current_user._get_current_object())
    except DomainError as exc:
        fail(None, exc)
    else:
        db.session.commit()
        flash(_("Your signature was recorded."), "success")
    return redirect(url_for("contracts.detail", contract_id=contract_id))


@bp.post("/contracts/<int:contract_id>/changes")
@roles_required(*PARTY_ROLES)
def changes(contract_id: int):
    """Agree changed special terms before signing: a new version."""
    contract = _load(contract_id)
    form = ChangesForm()
    if not form.validate_on_submit():
        flash_form_errors(form)
        return redirect(url_for("contracts.detail", contract_id=contract.id))
    try:
        version = services.propose_changes(contract, form.special_terms.data or "",
                                           actor=current_user._get_current_object())
    except DomainError as exc:
        fail(None, exc)
    else:
        db.session.commit()
        flash(_("Version %(n)d was created; both parties sign it anew.", n=version.version), "success")
    return redirect(url_for("contracts.detail", contract_id=contract_id))


# --- administration: contract templates per service item -------------------------------------


def _service_item(item_id: int):
    try:
        return catalog.get_service_item(item_id, public=False)
    except NotFound:
        abort(404)


@bp.get("/admin/contract-templates")
@roles_required(Role.ADMIN)
def admin_contract_templates():
    """The service items and whether their contracts use a template of their own."""
    q = request.args.get("q", "")[:100]
    pagination = catalog.search_service_items(q=q, page=page_arg(), per_page=50, active_only=False)
    templates = templates_service.templates_by_item(item.id for item in pagination.items)
    return render_template("contracts/admin_templates.html", pagination=pagination, q=q,
                           templates=templates)


@bp.route("/admin/contract-templates/<int(max=2147483647):item_id>", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_edit_contract_template(item_id: int):
    """Edit the clauses of one service item's contracts (prefilled with the current text)."""
    item = _service_item(item_id)
    template = templates_service.get_template(item.id)
    form = ContractTemplateForm()
    if request.method == "GET":
        terms = templates_service.terms_for_item(item.id)
        form.version.data = str(template.version if template else 0)
        form.payment_terms.data = terms.payment_terms
        form.acceptance_terms.data = terms.acceptance_terms
        form.special_terms.data = terms.special_terms
    elif form.validate_on_submit():
        try:
            templates_service.save_template(
                item, payment_terms=form.payment_terms.data or "",
                acceptance_terms=form.acceptance_terms.data or "",
                special_terms=form.special_terms.data or "", actor=current_user._get_current_object(),
                expected_version=int(v) if (v := form.version.data or "").isascii() and v.isdigit() else None,
            )
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The contract template is saved; contracts drafted from now on use it."), "success")
            return redirect(url_for("contracts.admin_edit_contract_template", item_id=item.id))
    return render_template("contracts/admin_template_form.html", item=item, template=template,
                           form=form)


@bp.post("/admin/contract-templates/<int(max=2147483647):item_id>/remove")
@roles_required(Role.ADMIN)
def admin_remove_contract_template(item_id: int):
    """Back to the model contract for this service item's future contracts."""
    item = _service_item(item_id)
    try:
        templates_service.remove_template(item, actor=current_user._get_current_object())
    except DomainError as exc:
        fail(None, exc)
    else:
        db.session.commit()
        flash(_("Contracts for this service item now use the model contract."), "success")
    return redirect(url_for("contracts.admin_edit_contract_template", item_id=item.id))


@bp.get("/admin/contract-templates/<int(max=2147483647):item_id>/preview.pdf")
@roles_required(Role.ADMIN)
def admin_preview_contract_template(item_id: int):
    """A sample contract with the clauses this service item's contracts get now."""
    item = _service_item(item_id)
    try:
        rendered = templates_service.render_template_preview(item)
    except DomainError as exc:
        fail(None, exc)
        return redirect(url_for("contracts.admin_edit_contract_template", item_id=item.id))
    return Response(rendered.pdf, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="contract-template-{item.id}-preview.pdf"'})
