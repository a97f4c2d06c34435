"""Registration, sign-in, password and the administrator's account pages."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_limiter.util import get_remote_address
from flask_login import current_user, login_required, login_user, logout_user

from marketplace.accounts import bp, services, throttle
from marketplace.accounts.forms import (
    GovernmentOrgForm,
    GovernmentUserForm,
    LoginForm,
    PasswordChangeForm,
    RegistrationForm,
)
from marketplace.accounts.models import OrgKind, Role, User
from marketplace.accounts.permissions import roles_required
from marketplace.core.errors import DomainError
from marketplace.core.forms import apply_domain_error
from marketplace.core.web import page_arg, safe_next
from marketplace.extensions import db, limiter


def _login_limit() -> str:
    return current_app.config["LOGIN_RATE_LIMIT"]


@bp.route("/register", methods=["GET", "POST"])
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = RegistrationForm()
    if form.validate_on_submit():
        try:
            user = services.register_organisation(
                kind=OrgKind(form.kind.data),
                name=form.org_name.data,
                uscc=form.uscc.data,
                legal_representative=form.legal_representative.data,
                region_code=form.region_code.data,
                contact_phone=form.contact_phone.data,
                user_name=form.user_name.data,
                email=form.email.data,
                password=form.password.data,
            )
        except DomainError as exc:
            db.session.rollback()
            if not apply_domain_error(form, exc):
                flash(str(exc.message), "danger")
        else:
            db.session.commit()
            login_user(user)
            flash(_("Welcome! %(org)s is registered and can use the marketplace now.",
                    org=user.organisation.name), "success")
            return redirect(url_for("main.dashboard"))
    return render_template("accounts/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    if request.method == "POST" and not throttle.login_allowed(get_remote_address()):
        abort(429)  # the limit all workers share while Redis is not there
    form = LoginForm()
    if form.validate_on_submit():
        try:
            user = services.authenticate(form.email.data, form.password.data)
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc.message), "danger")
        else:
            db.session.commit()
            login_user(user)
            flash(_("Signed in as %(name)s.", name=user.name), "success")
            return redirect(safe_next(url_for("main.dashboard")))
    return render_template("accounts/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    services.end_sessions(current_user._get_current_object(), reason="logout")
    db.session.commit()
    logout_user()
    flash(_("You have signed out."), "info")
    return redirect(url_for("main.index"))


@bp.route("/account", methods=["GET", "POST"])
@roles_required()
def account():
    form = PasswordChangeForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()
        try:
            services.change_password(user, current=form.current_password.data, new=form.password.data)
        except DomainError as exc:
            db.session.rollback()
            if not apply_domain_error(form, exc):
                flash(str(exc.message), "danger")
        else:
            db.session.commit()
            login_user(user)  # this browser keeps its session under the new version
            flash(_("Your password has been changed. Other sessions have been signed out."), "success")
            return redirect(url_for("accounts.account"))
    return render_template("accounts/account.html", form=form)


@bp.route("/admin/users")
@roles_required(Role.ADMIN)
def admin_users():
    pagination = services.list_users(page=page_arg())
    return render_template("accounts/admin_users.html", pagination=pagination)


@bp.route("/admin/users/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_create_user():
    form = GovernmentUserForm()
    form.organisation_id.choices = [(o.id, o.name) for o in services.government_orgs()]
    if form.validate_on_submit():
        org = db.session.get(services.Organisation, form.organisation_id.data)
        try:
            if org is None:
                raise DomainError(_("Choose a department."), field="organisation_id")
            user = services.create_user(
                organisation=org, role=Role(form.role.data), name=form.name.data,
                email=form.email.data, password=form.password.data,
                actor=current_user._get_current_object(),
            )
        except DomainError as exc:
            db.session.rollback()
            if not apply_domain_error(form, exc):
                flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("Account %(email)s created.", email=user.email), "success")
            return redirect(url_for("accounts.admin_users"))
    return render_template("accounts/admin_user_form.html", form=form)


@bp.route("/admin/departments/new", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_create_department():
    form = GovernmentOrgForm()
    if form.validate_on_submit():
        try:
            org = services.create_government_org(
                name=form.name.data, uscc=form.uscc.data,
                legal_representative=form.legal_representative.data,
                region_code=form.region_code.data, actor=current_user._get_current_object(),
            )
        except DomainError as exc:
            db.session.rollback()
            if not apply_domain_error(form, exc):
                flash(str(exc.message), "danger")
        else:
            db.session.commit()
            flash(_("Department %(name)s created.", name=org.name), "success")
            return redirect(url_for("accounts.admin_create_user"))
    return render_template("accounts/admin_department_form.html", form=form)


@bp.route("/admin/users/<int(max=2147483647):user_id>/enabled", methods=["POST"])
@roles_required(Role.ADMIN)
def admin_toggle_user(user_id: int):
    user = db.get_or_404(User, user_id)
    try:
        services.set_user_enabled(user, enabled=not user.is_enabled, actor=current_user._get_current_object())
    except DomainError as exc:
        db.session.rollback()
        flash(str(exc.message), "danger")
    else:
        db.session.commit()
        flash(_("Account enabled.") if user.is_enabled else _("Account disabled."), "success")
    return redirect(url_for("accounts.admin_users"))
