"""Public credit pages: the formula, an agency's "why this score", the red list; template helpers."""

from __future__ import annotations

from flask import g, render_template, request, url_for
from werkzeug.routing import BuildError

from marketplace.accounts.models import Organisation
from marketplace.core.text import clean_query
from marketplace.credit import bp, services
from marketplace.credit.formula import (
    EXAMPLE_COMPLAINTS,
    EXAMPLE_OVERRUN_DAYS,
    EXAMPLE_RATINGS_ENTERPRISE,
    EXAMPLE_RATINGS_OFFICE,
    current_formula,
    evaluate,
    example_aggregates,
    points,
)
from marketplace.credit.models import CreditInputKind, RefType, SanctionLevel
from marketplace.extensions import db

# References that have a public page of their own.
REF_ENDPOINTS = {
    RefType.SANCTION: ("sanctions.case", "case_id"),
    RefType.PURCHASE_REQUEST: ("procurement.announcement", "request_id"),
}


@bp.route("/credit/formula")
def formula():
    current = current_formula()
    return render_template(
        "credit/formula.html", formula=current, versions=list(reversed(services.published_formulas())),
        example=evaluate(current, example_aggregates()), observed_mean=services.observed_market_mean(),
        example_enterprise=EXAMPLE_RATINGS_ENTERPRISE, example_office=EXAMPLE_RATINGS_OFFICE,
        example_overrun=EXAMPLE_OVERRUN_DAYS, example_complaints=EXAMPLE_COMPLAINTS,
        points=points, levels=list(SanctionLevel), kinds=list(CreditInputKind),
    )


@bp.route("/credit/agencies/<int(max=2147483647):org_id>")
def agency(org_id: int):
    explanation = services.explain(org_id)
    return render_template("credit/agency.html", x=explanation, org=explanation.org,
                           formula=current_formula())


@bp.route("/credit/red-list")
def red_list():
    q = clean_query(request.args.get("q", ""))
    rows = services.red_list(q=q)
    return render_template("credit/red_list.html", rows=rows, q=q, formula=current_formula())


# --- template helpers ------------------------------------------------------------------------


@bp.app_template_global("credit_grade_of")
def credit_grade_of(org) -> str | None:
    """An agency's grade for list pages, fetched once per request for every organisation loaded.

    The first call reads the grades of all organisations already in the session (the page's
    rows), so a list of N agencies costs one query, not N.
    """
    org_id = getattr(org, "id", org)
    cache = g.setdefault("_credit_grades", {})
    if org_id not in cache:
        ids = {org_id}
        for key in list(db.session.identity_map.keys()):
            if key[0] is Organisation and key[1][0] not in cache:
                ids.add(key[1][0])
        found = services.credit_grades_for(ids)
        for i in ids:
            cache[i] = found.get(i)
    return cache.get(org_id)


@bp.app_template_global("credit_panel")
def credit_panel(org) -> dict:
    """What the credit panel on an agency page shows."""
    from marketplace.sanctions.services import listed_cases_for

    org_id = getattr(org, "id", org)
    summary = services.credit_for([org_id]).get(org_id)
    return {"summary": summary, "listed": listed_cases_for(org_id)}


@bp.app_template_global("credit_ref_url")
def credit_ref_url(object_type, object_id) -> str | None:
    """The public page of a referenced object, when it has one."""
    try:
        target = REF_ENDPOINTS.get(RefType(getattr(object_type, "value", object_type)))
    except ValueError:
        return None
    if target is None or not str(object_id).isdigit() or len(str(object_id)) > 10:
        return None
    endpoint, arg = target
    try:
        return url_for(endpoint, **{arg: int(object_id)})
    except BuildError:
        return None


@bp.app_template_global("credit_ref_text")
def credit_ref_text(object_type, object_id, label: str = "") -> str:
    """How a reference reads on the public pages: the kind, then the object's number or label.

    A rating is labelled by its role code (``approval_office``), which reads as the role's name.
    """
    from marketplace.ratings.models import RatingRole

    kind = getattr(object_type, "value", object_type)
    if kind == RefType.RATING.value and label in RatingRole.__members__.values():
        return str(RatingRole(label).label)
    try:
        kind_label = RefType(kind).label
    except ValueError:
        kind_label = kind
    return f"{kind_label} {label or '#' + str(object_id)}"
