"""Public agency pages and the agency's own profile and listing pages."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.datastructures import FileStorage

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.agencies import bp, eligibility, services
from marketplace.agencies.forms import (
    CommitmentForm,
    DeclarationForm,
    NewListingForm,
    NewQualificationForm,
    PractitionerForm,
    ProfileForm,
    QualificationForm,
    WithdrawForm,
)
from marketplace.agencies.models import FeeKind, Listing, Practitioner, Qualification
from marketplace.catalog import services as catalog_services
from marketplace.core.errors import DomainError
from marketplace.core.uploads import send_stored_file
from marketplace.core.web import current_actor, fail, page_arg
from marketplace.extensions import db

MAX_ID = 2**31 - 1


def _int_arg(name: str) -> int | None:
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if 0 < value <= MAX_ID else None


def _org():
    return current_user.organisation


# --- public pages ----------------------------------------------------------------------------


@bp.route("/agencies")
def directory():
    region = services.clean_region_arg(request.args.get("region"))
    category_id, item_id = _int_arg("category"), _int_arg("service_item")
    q = request.args.get("q", "")[:100]
    pagination, cards = services.agency_directory(
        q=q, region=region, category_id=category_id, service_item_id=item_id, page=page_arg()
    )
    return render_template(
        "agencies/directory.html", pagination=pagination, cards=cards, q=q, region=region,
        category_id=category_id, service_item_id=item_id,
        categories=catalog_services.list_categories(),
        items=catalog_services.service_item_choices(),
        region_choices=services.region_filter_choices(),
    )


@bp.route("/agencies/<int(max=2147483647):org_id>")
def agency(org_id: int):
    org = services.get_agency(org_id)
    on = eligibility.today()
    return render_template(
        "agencies/agency.html", org=org, today=on,
        profile=services.get_profile(org),
        regions=services.service_region_codes(org.id),
        declaration=services.current_declaration(org.id),
        qualifications=services.list_qualifications(org.id),
        practitioners=services.list_practitioners(org.id),
        listings=services.visible_listings(org.id, on=on),
    )


def _at_arg() -> date | None:
    try:
        return date.fromisoformat(request.args.get("at", ""))
    except ValueError:
        return None


@bp.route("/listings/<int(max=2147483647):listing_id>")
def listing(listing_id: int):
    item = services.get_listing(listing_id)
    visible = eligibility.is_listing_visible(item, eligibility.today())
    if not services.can_view_listing(current_user, item, visible=visible):
        abort(404)
    at = _at_arg()
    return render_template(
        "agencies/listing.html", listing=item, history=services.listing_history(item.id),
        visible=visible, at=at,
        at_version=services.commitment_at(item, at) if at else None,
    )


@bp.route("/qualifications/<int(max=2147483647):qualification_id>/scan")
@roles_required(Role.AGENCY_STAFF, Role.REGULATOR, Role.ADMIN)
def qualification_scan(qualification_id: int):
    qualification = db.get_or_404(Qualification, qualification_id)
    if not services.can_view_scan(current_user, qualification):
        abort(403)
    if qualification.scan is None:
        abort(404)
    return send_stored_file(qualification.scan, as_attachment=request.args.get("download") == "1")


# --- the agency's own profile ----------------------------------------------------------------


def _render_profile(profile_form=None, practitioner_form=None, status: int = 200):
    org = _org()
    profile = services.get_profile(org)
    regions = services.service_region_codes(org.id)
    if profile_form is None:
        profile_form = ProfileForm(
            data={"introduction": profile.introduction, "website": profile.website,
                  "serves_nationwide": profile.serves_nationwide, "region_codes": " ".join(regions)}
        )
    used, quota = services.storage_usage(org.id)
    return render_template(
        "agencies/profile.html", org=org, profile=profile, regions=regions,
        profile_form=profile_form, practitioner_form=practitioner_form or PractitionerForm(),
        declaration=services.current_declaration(org.id),
        qualifications=services.list_qualifications(org.id),
        practitioners=services.list_practitioners(org.id),
        today=eligibility.today(), used=used, quota=quota,
    ), status


@bp.route("/agency/profile", methods=["GET", "POST"])
@roles_required(Role.AGENCY_STAFF)
def profile():
    form = ProfileForm()
    if request.method == "GET":
        return _render_profile()
    if form.validate_on_submit():
        try:
            codes = services.parse_region_codes(form.region_codes.data or "")
            services.update_profile(
                _org(), introduction=form.introduction.data or "", website=form.website.data or "",
                serves_nationwide=form.serves_nationwide.data, region_codes=codes, actor=current_actor(),
            )
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("Your profile is saved."), "success")
            return redirect(url_for("agencies.profile"))
    return _render_profile(profile_form=form)


@bp.route("/agency/declaration", methods=["GET", "POST"])
@roles_required(Role.AGENCY_STAFF)
def declaration():
    org = _org()
    form = DeclarationForm()
    if form.validate_on_submit():
        try:
            services.sign_declaration(
                org, signer_name=form.signer_name.data, signer_position=form.signer_position.data,
                decoupling_note=form.decoupling_note.data or "", actor=current_actor(),
            )
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The independence declaration is signed and on record."), "success")
            return redirect(url_for("agencies.profile"))
    elif request.method == "GET":
        form.signer_name.data = org.legal_representative
    return render_template(
        "agencies/declaration.html", form=form, statement=services.declaration_statement(org),
        current=services.current_declaration(org.id),
    )


@bp.route("/agency/practitioners", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def add_practitioner():
    form = PractitionerForm()
    if form.validate_on_submit():
        try:
            services.add_practitioner(
                _org(), name=form.name.data, certificate_no=form.certificate_no.data,
                specialty=form.specialty.data or "", actor=current_actor(),
            )
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The practitioner is added."), "success")
            return redirect(url_for("agencies.profile") + "#practitioners")
    return _render_profile(practitioner_form=form)


@bp.route("/agency/practitioners/<int(max=2147483647):practitioner_id>/delete", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def delete_practitioner(practitioner_id: int):
    person = services.get_own(Practitioner, practitioner_id, current_user.organisation_id)
    services.remove_practitioner(person, actor=current_actor())
    db.session.commit()
    flash(_("The practitioner is removed."), "success")
    return redirect(url_for("agencies.profile") + "#practitioners")


def _qualification_choices(form) -> None:
    form.qualification_type_id.choices = [
        (t.id, t.name) for t in catalog_services.list_qualification_types(active_only=True)
    ]


@bp.route("/agency/qualifications/new", methods=["GET", "POST"])
@bp.route("/agency/qualifications/<int(max=2147483647):qualification_id>/edit", methods=["GET", "POST"])
@roles_required(Role.AGENCY_STAFF)
def edit_qualification(qualification_id: int | None = None):
    existing = (
        services.get_own(Qualification, qualification_id, current_user.organisation_id)
        if qualification_id else None
    )
    form = QualificationForm(obj=existing) if existing else NewQualificationForm()
    _qualification_choices(form)
    if existing and existing.qualification_type_id not in dict(form.qualification_type_id.choices):
        form.qualification_type_id.choices.append((existing.qualification_type_id, existing.qualification_type.name))
    if form.validate_on_submit():
        fields = dict(
            qualification_type_id=form.qualification_type_id.data,
            certificate_no=form.certificate_no.data, level=form.level.data or "",
            issuer=form.issuer.data, valid_from=form.valid_from.data, valid_to=form.valid_to.data,
            # ``obj=existing`` fills the field with the stored scan; only a new upload counts.
            scan=form.scan.data if isinstance(form.scan.data, FileStorage) else None, actor=current_actor(),
        )
        try:
            if existing:
                services.update_qualification(existing, **fields)
            else:
                services.add_qualification(_org(), **fields)
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The qualification is saved."), "success")
            return redirect(url_for("agencies.profile") + "#qualifications")
    return render_template("agencies/qualification_form.html", form=form, existing=existing)


@bp.route("/agency/qualifications/<int(max=2147483647):qualification_id>/delete", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def delete_qualification(qualification_id: int):
    qualification = services.get_own(Qualification, qualification_id, current_user.organisation_id)
    services.remove_qualification(qualification, actor=current_actor())
    db.session.commit()
    flash(_("The qualification is removed."), "success")
    return redirect(url_for("agencies.profile") + "#qualifications")


# --- the agency's listings -------------------------------------------------------------------


def _commitment(form) -> services.Commitment:
    kind = FeeKind(form.fee_kind.data)
    return services.Commitment(
        fee_kind=kind,
        fee_min_fen=form.fee_amount.data if kind is FeeKind.FIXED else form.fee_min.data,
        fee_max_fen=form.fee_amount.data if kind is FeeKind.FIXED else form.fee_max.data,
        discount_bp=form.discount_percent.data,
        fee_basis=form.fee_basis.data,
        time_limit_days=form.time_limit_days.data,
        service_standard=form.service_standard.data,
        change_note=form.change_note.data or "",
    )


@bp.route("/agency/listings")
@roles_required(Role.AGENCY_STAFF)
def my_listings():
    org = _org()
    return render_template(
        "agencies/my_listings.html", rows=services.own_listings(org.id),
        declaration=services.current_declaration(org.id),
    )


@bp.route("/agency/listings/new", methods=["GET", "POST"])
@roles_required(Role.AGENCY_STAFF)
def new_listing():
    org = _org()
    form = NewListingForm()
    items = services.listable_items(org.id)
    form.service_item_id.choices = [(i.id, f"{i.name}（{i.code}）") for i in items]
    if request.method == "GET" and _int_arg("item") in dict(form.service_item_id.choices):
        form.service_item_id.data = _int_arg("item")
    if form.validate_on_submit():
        item = next(i for i in items if i.id == form.service_item_id.data)
        try:
            created = services.create_listing(org, item, _commitment(form), actor=current_actor())
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The listing is saved as a draft. Publish it when you are ready."), "success")
            return redirect(url_for("agencies.my_listing", listing_id=created.id))
    return render_template("agencies/listing_form.html", form=form, items=items, listing=None)


def _own_listing(listing_id: int) -> Listing:
    found = services.get_listing(listing_id)
    if found.organisation_id != current_user.organisation_id:
        abort(404)
    return found


@bp.route("/agency/listings/<int(max=2147483647):listing_id>", methods=["GET", "POST"])
@roles_required(Role.AGENCY_STAFF)
def my_listing(listing_id: int):
    found = _own_listing(listing_id)
    form = CommitmentForm()
    if request.method == "GET":
        _fill_commitment_form(form, found)
    elif form.validate_on_submit():
        try:
            expected = int(form.version.data or found.current_version)
            services.update_commitment(found, _commitment(form), actor=current_actor(), expected_version=expected)
        except (DomainError, ValueError) as exc:
            fail(form, exc if isinstance(exc, DomainError) else DomainError(_("Please reload the page.")))
        else:
            db.session.commit()
            flash(_("The new commitments are in force from now; the old ones stay on record."), "success")
            return redirect(url_for("agencies.my_listing", listing_id=found.id))
    return render_template(
        "agencies/listing_form.html", form=form, listing=found, items=None,
        history=services.listing_history(found.id),
        problems=services.publishing_problems(found), withdraw_form=WithdrawForm(),
        visible=eligibility.is_listing_visible(found),
    )


def _fill_commitment_form(form, found: Listing) -> None:
    current = found.current
    form.fee_kind.data = current.fee_kind.value
    if current.fee_kind is FeeKind.FIXED:
        form.fee_amount.data = current.fee_min_fen
    elif current.fee_kind is FeeKind.RANGE:
        form.fee_min.data, form.fee_max.data = current.fee_min_fen, current.fee_max_fen
    else:
        form.discount_percent.data = current.discount_bp
    form.fee_basis.data = current.fee_basis
    form.time_limit_days.data = current.time_limit_days
    form.service_standard.data = current.service_standard
    form.version.data = str(found.current_version)


@bp.route("/agency/listings/<int(max=2147483647):listing_id>/publish", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def publish_listing(listing_id: int):
    found = _own_listing(listing_id)
    try:
        services.publish_listing(found, actor=current_actor())
    except DomainError as exc:
        fail(None, exc)
    else:
        db.session.commit()
        flash(_("The listing is published."), "success")
    return redirect(url_for("agencies.my_listing", listing_id=listing_id))


@bp.route("/agency/listings/<int(max=2147483647):listing_id>/withdraw", methods=["POST"])
@roles_required(Role.AGENCY_STAFF)
def withdraw_listing(listing_id: int):
    found = _own_listing(listing_id)
    form = WithdrawForm()
    if not form.validate_on_submit():
        flash(_("The reason is too long."), "danger")
        return redirect(url_for("agencies.my_listing", listing_id=listing_id))
    try:
        services.withdraw_listing(found, actor=current_actor(), reason=form.reason.data or None)
    except DomainError as exc:
        fail(None, exc)
    else:
        db.session.commit()
        flash(_("The listing is withdrawn."), "success")
    return redirect(url_for("agencies.my_listing", listing_id=listing_id))
