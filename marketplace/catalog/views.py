"""Public catalogue pages and the administrator's catalogue management."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.catalog import bp, services
from marketplace.catalog.forms import (
    ApprovalItemForm,
    CategoryForm,
    ImportForm,
    QualificationTypeForm,
    ServiceItemForm,
)
from marketplace.catalog.models import (
    ApprovalItem,
    FeeBasis,
    QualificationRule,
    QualificationType,
    ServiceCategory,
)
from marketplace.core.errors import DomainError
from marketplace.core.web import current_actor, fail, page_arg
from marketplace.extensions import db

MAX_ID = 2**31 - 1


def _int_arg(name: str) -> int | None:
    """A positive id from the query string, or None when absent or malformed."""
    try:
        value = int(request.args.get(name, ""))
    except ValueError:
        return None
    return value if 0 < value <= MAX_ID else None


def _agency_services():
    # Imported on use: agencies' models import the catalogue's, so a top-level import would cycle.
    from marketplace.agencies import services

    return services


# --- public pages ----------------------------------------------------------------------------


@bp.route("/services")
def service_items():
    category_id, approval_item_id = _int_arg("category"), _int_arg("approval_item")
    q = request.args.get("q", "")[:100]
    pagination = services.search_service_items(
        category_id=category_id, approval_item_id=approval_item_id, q=q, page=page_arg()
    )
    agency_services = _agency_services()
    stats = agency_services.offer_stats([i.id for i in pagination.items])
    approval_item = db.session.get(ApprovalItem, approval_item_id) if approval_item_id else None
    return render_template(
        "catalog/service_items.html", pagination=pagination, stats=stats,
        categories=services.list_categories(), category_id=category_id,
        approval_item=approval_item, q=q,
    )


@bp.route("/services/<int(max=2147483647):item_id>")
def service_item(item_id: int):
    item = services.get_service_item(item_id)
    agency_services = _agency_services()
    region = agency_services.clean_region_arg(request.args.get("region"))
    sort = request.args.get("sort", "fee")
    sort = sort if sort in agency_services.OFFER_SORTS else "fee"
    offers = agency_services.public_offers(item, region=region, sort=sort, page=page_arg())
    regions = agency_services.agency_cards([o.organisation for o in offers.items])
    return render_template(
        "catalog/service_item.html", item=item, offers=offers, sort=sort, region=region,
        cards={c.organisation.id: c for c in regions},
        region_choices=agency_services.region_filter_choices(),
    )


@bp.route("/approval-items")
def approval_items():
    q = request.args.get("q", "")[:100]
    pagination = services.list_approval_items(q=q, page=page_arg())
    return render_template("catalog/approval_items.html", pagination=pagination, q=q)


# --- administration --------------------------------------------------------------------------


@bp.route("/admin/catalog")
@roles_required(Role.ADMIN)
def admin_index():
    return render_template("catalog/admin_index.html", counts=services.catalogue_counts())


@bp.route("/admin/catalog/approval-items")
@roles_required(Role.ADMIN)
def admin_approval_items():
    q = request.args.get("q", "")[:100]
    pagination = services.list_approval_items(q=q, page=page_arg(), active_only=False)
    return render_template("catalog/admin_approval_items.html", pagination=pagination, q=q)


@bp.route("/admin/catalog/approval-items/new", methods=["GET", "POST"])
@bp.route("/admin/catalog/approval-items/<int(max=2147483647):item_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_edit_approval_item(item_id: int | None = None):
    item = db.get_or_404(ApprovalItem, item_id) if item_id else None
    form = ApprovalItemForm(obj=item)
    if form.validate_on_submit():
        try:
            services.save_approval_item(
                item, code=form.code.data, name=form.name.data, department=form.department.data,
                legal_basis=form.legal_basis.data or "", is_active=form.is_active.data, actor=current_actor(),
            )
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The approval item is saved."), "success")
            return redirect(url_for("catalog.admin_approval_items"))
    return render_template(
        "catalog/admin_form.html", form=form,
        title=_("Edit approval item") if item else _("New approval item"),
        back=url_for("catalog.admin_approval_items"),
    )


def _import_text(form) -> str | None:
    upload = form.file.data
    if upload and getattr(upload, "filename", ""):
        raw = upload.read(2_000_001)
        if len(raw) > 2_000_000:
            flash(_("The file is too large to import."), "danger")
            return None
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            flash(_("The file must be UTF-8 text."), "danger")
            return None
    if form.text.data:
        return form.text.data
    flash(_("Paste the lines or upload a file."), "warning")
    return None


@bp.route("/admin/catalog/approval-items/import", methods=["GET", "POST"])
@bp.route("/admin/catalog/service-items/import", methods=["GET", "POST"], endpoint="admin_import_service_items")
@roles_required(Role.ADMIN)
def admin_import_approval_items():
    is_service = request.endpoint == "catalog.admin_import_service_items"
    form = ImportForm()
    if form.validate_on_submit():
        text = _import_text(form)
        if text is not None:
            importer = services.import_service_items if is_service else services.import_approval_items
            try:
                result = importer(text, actor=current_actor())
            except DomainError as exc:
                db.session.rollback()
                flash(str(exc.message), "danger")
            else:
                db.session.commit()
                flash(_("Imported: %(c)d new, %(u)d changed, %(s)d unchanged.",
                        c=result.created, u=result.updated, s=result.unchanged), "success")
                return redirect(url_for(
                    "catalog.admin_service_items" if is_service else "catalog.admin_approval_items"
                ))
    return render_template("catalog/admin_import.html", form=form, is_service=is_service)


@bp.route("/admin/catalog/service-items")
@roles_required(Role.ADMIN)
def admin_service_items():
    q = request.args.get("q", "")[:100]
    pagination = services.search_service_items(q=q, page=page_arg(), per_page=50, active_only=False)
    return render_template("catalog/admin_service_items.html", pagination=pagination, q=q)


@bp.route("/admin/catalog/service-items/new", methods=["GET", "POST"])
@bp.route("/admin/catalog/service-items/<int(max=2147483647):item_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_edit_service_item(item_id: int | None = None):
    item = services.get_service_item(item_id, public=False) if item_id else None
    form = ServiceItemForm(obj=item)
    form.category_id.choices = [(c.id, c.name) for c in services.list_categories()]
    form.approval_item_ids.choices = [
        (a.id, f"{a.code} {a.name}") for a in services.approval_item_choices(active_only=False)
    ]
    form.qualification_type_ids.choices = [
        (t.id, t.name) for t in services.list_qualification_types()
    ]
    if item is not None and request.method == "GET":
        form.approval_item_ids.data = [a.id for a in item.approval_items]
        form.qualification_type_ids.data = [t.id for t in item.qualification_types]
        form.qualification_rule.data = item.qualification_rule.value
        form.fee_basis.data = item.fee_basis.value
    if form.validate_on_submit():
        try:
            services.save_service_item(
                item, code=form.code.data, name=form.name.data, category_id=form.category_id.data,
                approval_item_ids=form.approval_item_ids.data or [],
                qualification_rule=QualificationRule(form.qualification_rule.data),
                qualification_type_ids=form.qualification_type_ids.data or [],
                statutory_days=form.statutory_days.data, fee_basis=FeeBasis(form.fee_basis.data),
                fee_document=form.fee_document.data or "", deliverable=form.deliverable.data or "",
                description=form.description.data or "", is_active=form.is_active.data,
                actor=current_actor(),
            )
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The service item is saved."), "success")
            return redirect(url_for("catalog.admin_service_items"))
    return render_template(
        "catalog/admin_form.html", form=form,
        title=_("Edit service item") if item else _("New service item"),
        back=url_for("catalog.admin_service_items"),
    )


@bp.route("/admin/catalog/categories", methods=["GET", "POST"])
@bp.route("/admin/catalog/categories/<int(max=2147483647):category_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_categories(category_id: int | None = None):
    category = db.get_or_404(ServiceCategory, category_id) if category_id else None
    form = CategoryForm(obj=category)
    if form.validate_on_submit():
        try:
            services.save_category(
                category, code=form.code.data, name=form.name.data, sort_order=form.sort_order.data,
                actor=current_actor(),
            )
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The category is saved."), "success")
            return redirect(url_for("catalog.admin_categories"))
    return render_template(
        "catalog/admin_categories.html", form=form, category=category,
        categories=services.list_categories(),
    )


@bp.route("/admin/catalog/qualification-types", methods=["GET", "POST"])
@bp.route("/admin/catalog/qualification-types/<int(max=2147483647):type_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_qualification_types(type_id: int | None = None):
    qtype = db.get_or_404(QualificationType, type_id) if type_id else None
    form = QualificationTypeForm(obj=qtype)
    if form.validate_on_submit():
        try:
            services.save_qualification_type(
                qtype, code=form.code.data, name=form.name.data, issuer=form.issuer.data or "",
                levels=form.levels.data or "", is_active=form.is_active.data, actor=current_actor(),
            )
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The qualification type is saved."), "success")
            return redirect(url_for("catalog.admin_qualification_types"))
    return render_template(
        "catalog/admin_qualification_types.html", form=form, qtype=qtype,
        qtypes=services.list_qualification_types(),
    )

