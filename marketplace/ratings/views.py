"""Rating pages: rate a finished contract, reply, the public ratings of an organisation,
the regulators' moderation."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.models import Organisation, OrgKind, Role
from marketplace.accounts.permissions import roles_required
from marketplace.core.db import utcnow
from marketplace.core.errors import DomainError
from marketplace.core.web import current_actor, fail
from marketplace.extensions import db
from marketplace.ratings import bp, services
from marketplace.ratings.forms import HideForm, ReplyForm, rating_form_for
from marketplace.ratings.models import RatingRole, dimension_label

RATERS = (Role.ENTERPRISE_STAFF, Role.AGENCY_STAFF, Role.APPROVAL_OFFICER)
READERS = (*RATERS, Role.REGULATOR, Role.ADMIN)
ID = "int(max=2147483647)"


def _load_contract(contract_id: int):
    try:
        return services.get_contract_for(current_actor(), contract_id)
    except DomainError:
        abort(404)


def _contract_page(contract, *, form=None, reply_forms=None, status: int = 200):
    user = current_actor()
    panel = services.panel_for(user, contract)
    if form is None and panel.can_rate:
        form = rating_form_for(panel.role)
    ratings = services.visible_ratings(user, contract)
    reply_forms = reply_forms or {}
    for r in ratings:
        if services.can_reply(user, r):
            reply_forms.setdefault(r.id, ReplyForm(prefix=f"reply{r.id}"))
    return render_template("ratings/contract.html", contract=contract, panel=panel, form=form,
                           ratings=ratings, reply_forms=reply_forms, Role=Role), status


@bp.app_template_global("rating_dimension_label")
def rating_dimension_label(name: str):
    return dimension_label(name)


@bp.app_template_global("rating_panel")
def rating_panel(contract):
    """The rating box of the contract page for the signed-in user (None: nothing to show)."""
    if not getattr(current_user, "is_authenticated", False):
        return None
    return services.panel_for(current_user, contract)


@bp.app_template_global("case_rating_contracts")
def case_rating_contracts(case):
    """The case's finished contracts the signed-in approval officer may rate or has rated."""
    if getattr(current_user, "role", None) is not Role.APPROVAL_OFFICER:
        return []
    return [services.panel_for(current_user, c) for c in services.case_contracts(case)
            if services.role_of(current_user, c) is RatingRole.APPROVAL_OFFICE]


@bp.app_template_global("public_ratings_of")
def public_ratings_of(org_id: int, limit: int = 20):
    """The public ratings an organisation received and their summary, for its public pages."""
    return {"ratings": services.public_ratings_about(org_id, limit=limit),
            "summary": services.public_summary(org_id)}


@bp.get(f"/contracts/<{ID}:contract_id>/ratings")
@roles_required(*READERS)
def contract_ratings(contract_id: int):
    """The ratings of a finished contract: the form for one's own side, then the public ones."""
    return _contract_page(_load_contract(contract_id))


@bp.post(f"/contracts/<{ID}:contract_id>/ratings")
@roles_required(*RATERS)
def rate(contract_id: int):
    contract = _load_contract(contract_id)
    role = services.role_of(current_actor(), contract)
    if role is None:
        abort(404)
    form = rating_form_for(role, formdata=request.form)
    if form.validate_on_submit():
        scores = {d: int(getattr(form, d).data) for d in role.dimensions}
        try:
            rating = services.submit_rating(contract, scores=scores, comment=form.comment.data or "",
                                            actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            if rating.is_revealed:
                flash(_("Thank you. Your rating is on record and public."), "success")
            else:
                flash(_("Thank you. Your rating is on record; it stays sealed until both sides have "
                        "rated or the rating period ends."), "success")
            return redirect(url_for("ratings.contract_ratings", contract_id=contract.id))
    return _contract_page(_load_contract(contract_id), form=form, status=400)


@bp.post(f"/ratings/<{ID}:rating_id>/reply")
@roles_required(Role.ENTERPRISE_STAFF, Role.AGENCY_STAFF)
def reply(rating_id: int):
    try:
        rating = services.get_rating(rating_id)
    except DomainError:
        abort(404)
    contract = _load_contract(rating.contract_id)
    form = ReplyForm(prefix=f"reply{rating.id}")
    if form.validate_on_submit():
        try:
            services.reply_to_rating(rating, text=form.text.data, actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("Your reply is published."), "success")
            return redirect(url_for("ratings.contract_ratings", contract_id=contract.id))
    return _contract_page(_load_contract(rating.contract_id), reply_forms={rating.id: form}, status=400)


@bp.get(f"/ratings/organisations/<{ID}:org_id>")
def organisation(org_id: int):
    """The public ratings an agency or an enterprise received."""
    org = db.session.get(Organisation, org_id)
    if org is None or org.kind not in (OrgKind.AGENCY, OrgKind.ENTERPRISE):
        abort(404)
    return render_template("ratings/organisation.html", org=org, data=public_ratings_of(org.id, limit=100))


@bp.get("/ratings/moderation")
@roles_required(Role.REGULATOR)
def moderation():
    """Public ratings with comments or replies, newest first, each with its moderation actions."""
    return render_template("ratings/moderation.html", ratings=services.moderation_queue())


def _moderate(rating_id: int, *, part: str):
    """Hide the comment or the reply of a public rating, with a reason on the record."""
    try:
        rating = services.get_rating(rating_id)
    except DomainError:
        abort(404)
    if not rating.is_revealed or (part == "reply" and rating.reply is None):
        abort(404)
    hide = services.hide_reply if part == "reply" else services.hide_comment
    form = HideForm()
    status = 200
    if request.method == "POST":
        status = 400
        if form.validate_on_submit():
            try:
                hide(rating, reason=form.reason.data, actor=current_actor(), now=utcnow())
            except DomainError as exc:
                fail(form, exc)
            else:
                db.session.commit()
                if part == "reply":
                    flash(_("The reply is hidden; the reason is shown in its place."), "success")
                else:
                    flash(_("The comment is hidden; the reason is shown in its place."), "success")
                return redirect(url_for("ratings.moderation"))
            rating = services.get_rating(rating_id)
    return render_template("ratings/hide.html", rating=rating, form=form, part=part), status


@bp.route(f"/ratings/<{ID}:rating_id>/hide", methods=["GET", "POST"])
@roles_required(Role.REGULATOR)
def hide(rating_id: int):
    """Hide an abusive comment with a reason on the record (the scores stay)."""
    return _moderate(rating_id, part="comment")


@bp.route(f"/ratings/<{ID}:rating_id>/hide-reply", methods=["GET", "POST"])
@roles_required(Role.REGULATOR)
def hide_reply(rating_id: int):
    """Hide an abusive reply of the rated party with a reason on the record."""
    return _moderate(rating_id, part="reply")
