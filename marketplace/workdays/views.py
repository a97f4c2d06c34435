"""The public calendar page (with a due-date calculator) and the administrator's import page."""

from __future__ import annotations

from datetime import date

from flask import flash, redirect, render_template, request, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.core.errors import DomainError
from marketplace.extensions import db
from marketplace.workdays import bp, services
from marketplace.workdays.forms import CalculatorForm, ScheduleImportForm


def _year_arg() -> int:
    try:
        year = int(request.args.get("year", date.today().year))
    except (TypeError, ValueError):
        year = date.today().year
    return min(max(year, 1990), 2200)


@bp.route("/calendar")
def public_calendar():
    year = _year_arg()
    days, provisional = services.year_days(year)
    calc = CalculatorForm(request.args)
    result = None
    if "start" in request.args and calc.validate():
        result = services.add_working_days_detail(calc.start.data, calc.days.data)
    language = get_locale().language
    names = {d.day: services.display_holiday_name(d.name, language) for d in days}
    return render_template(
        "workdays/calendar.html", year=year, days=days, names=names, provisional=provisional,
        calc=calc, result=result,
    )


@bp.route("/admin/calendar", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_calendar():
    form = ScheduleImportForm()
    if form.validate_on_submit():
        text = form.schedule.data or ""
        upload = form.file.data
        if upload and getattr(upload, "filename", ""):
            raw = upload.read(200_001)
            try:
                text = raw[:200_000].decode("utf-8-sig")
            except UnicodeDecodeError:
                text = ""
                flash(_("The file must be UTF-8 text."), "danger")
        if text:
            try:
                n = services.import_year_schedule(form.year.data, text, actor=current_user._get_current_object())
            except DomainError as exc:
                db.session.rollback()
                flash(str(exc.message), "danger")
            else:
                db.session.commit()
                flash(_("%(n)d days imported; %(year)d is now official.", n=n, year=form.year.data), "success")
                return redirect(url_for("workdays.admin_calendar"))
        elif not form.errors:
            flash(_("Paste the schedule or upload a file."), "warning")
    return render_template("workdays/admin.html", form=form, years=services.official_years())
