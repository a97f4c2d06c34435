"""Public credit pages: the formula, an agency's "why this score", the red list; template helpers."""

from __future__ import annotations

from flask import g, render_template, request

from marketplace.accounts.models import Organisation
from marketplace.core.text import clean_query
from marketplace.credit import bp, references, services
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
from marketplace.credit.models import CreditInputKind, SanctionLevel
from marketplace.extensions import db


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
    """What the credit panel on an agency page shows (its sanction cases come from the sanctions
    domain's ``listed_sanctions``: credit sits below sanctions)."""
    org_id = getattr(org, "id", org)
    summary = services.credit_for([org_id]).get(org_id)
    return {"summary": summary}


@bp.app_template_global("credit_ref")
def credit_ref(object_type, object_id, label: str = ""):
    """A reference as the public pages show it: kind, number, and its public page if it has one."""
    return references.describe(object_type, object_id, label)


@bp.app_template_global("credit_ref_url")
def credit_ref_url(object_type, object_id) -> str | None:
    """The public page of a referenced object, when it has one."""
    return references.describe(object_type, object_id).url


@bp.app_template_global("credit_ref_text")
def credit_ref_text(object_type, object_id, label: str = "") -> str:
    """How a reference reads on the public pages: the kind, then the object's number or label."""
    return references.describe(object_type, object_id, label).text


@bp.app_template_global("credit_entry_subject")
def credit_entry_subject(entry):
    """What a ledger entry records, in words (see ``services.entry_subject``)."""
    return services.entry_subject(entry)
