"""The oversight dashboard and the CSV export of each of its charts (regulators, administrators)."""

from __future__ import annotations

from flask import Response, abort, render_template, request
from flask_babel import gettext as _

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.core.regions import PLACES, region_name
from marketplace.oversight import bp, services
from marketplace.oversight.forms import FilterForm

OVERSEERS = (Role.REGULATOR, Role.ADMIN)


def _filters() -> tuple[FilterForm, services.Filters | None]:
    """The filter form read from the query string, and the filters when it is valid."""
    form = FilterForm(request.args)
    form.set_choices(services.department_choices(), services.service_item_choices())
    if not form.validate():
        return form, None
    start, end = services.default_period(services.china_today())
    end = form.end.data or end
    if form.start.data:
        start = form.start.data
    elif start > end:
        start = services.default_period(end)[0]
    if end < start:
        form.end.errors = [*form.end.errors, _("The end of the period must not be before its start.")]
        return form, None
    if (end - start).days > services.MAX_PERIOD_DAYS:
        form.start.errors = [*form.start.errors, _("The period may cover at most ten years.")]
        return form, None
    return form, services.Filters(start=start, end=end, region=form.region.data or "",
                                  department_id=form.department.data, service_item_id=form.item.data)


@bp.route("/regulator/oversight")
@roles_required(*OVERSEERS)
def dashboard():
    form, filters = _filters()
    charts = services.build_dashboard(filters) if filters else []
    return render_template(
        "oversight/dashboard.html", form=form, filters=filters, charts=charts,
        places=sorted(PLACES.items()), region_label=region_name(filters.region) if filters else "",
        today=services.china_today(),
    ), (200 if filters else 400)


@bp.route("/regulator/oversight/<chart>.csv")
@roles_required(*OVERSEERS)
def chart_csv(chart: str):
    if chart not in services.CHART_KEYS:
        abort(404)
    form, filters = _filters()
    if filters is None:
        errors = "; ".join(str(e) for f in form for e in f.errors)
        return Response(_("The filters are not valid: %(errors)s", errors=errors), status=400,
                        mimetype="text/plain")
    built = services.build_chart(chart, filters)
    name = f"oversight-{chart}-{filters.start.isoformat()}-{filters.end.isoformat()}.csv"
    return Response(services.chart_csv(built), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
