"""The search page and the JSON search endpoint (both public); the administrator's synonyms."""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _

from marketplace.accounts.models import Role
from marketplace.accounts.permissions import roles_required
from marketplace.core.errors import DomainError
from marketplace.core.web import current_actor, fail, page_arg
from marketplace.extensions import db
from marketplace.search import bp, services, synonyms
from marketplace.search.documents import FEE_BUCKETS, TIME_BUCKETS, DocType
from marketplace.search.forms import PARAMS, DeleteSynonymForm, SearchForm, SynonymForm
from marketplace.search.models import SearchSynonym

PER_PAGE = 20
FACET_ORDER = ("category", "region_code", "qualification", "credit_grade", "fee", "time")


def search_url(text: str, filters, endpoint: str = "search.results", **changes) -> str:
    """The URL of a search with some filters changed (None removes one)."""
    values = filters.active() | changes
    params = {PARAMS[name]: value for name, value in values.items() if value}
    return url_for(endpoint, q=text or None, **params)


def _per_page() -> int:
    try:
        return min(max(int(request.args.get("per_page", PER_PAGE)), 1), services.MAX_PER_PAGE)
    except (TypeError, ValueError):
        return PER_PAGE


@bp.route("/search")
def results():
    form = SearchForm(request.args)
    outcome = services.search(form.q.data, form.to_filters(), page=page_arg(), per_page=PER_PAGE)
    return render_template(
        "search/results.html", form=form, outcome=outcome, search_url=search_url,
        doc_types=list(DocType), doc_type_labels={t.value: t.label for t in DocType},
        facet_order=FACET_ORDER, params=PARAMS,
        buckets={"fee": {b.key: b.label for b in FEE_BUCKETS},
                 "time": {b.key: b.label for b in TIME_BUCKETS}},
    )


@bp.route("/search.json")
def results_json():
    form = SearchForm(request.args)
    outcome = services.search(form.q.data, form.to_filters(), page=page_arg(), per_page=_per_page())
    return jsonify(
        {
            "query": outcome.query.text,
            "filters": outcome.filters.active(),
            "total": outcome.total,
            "total_capped": outcome.total_capped,
            "page": outcome.page,
            "per_page": outcome.per_page,
            "pages": outcome.pages,
            "backend": outcome.backend,
            "degraded": outcome.degraded,
            "hits": [
                {
                    "type": hit.doc_type, "id": hit.doc_id, "title": hit.title, "url": hit.url,
                    "title_html": str(hit.title_html), "snippet_html": str(hit.snippet_html),
                    "score": round(hit.score, 6), "category": hit.category,
                    "region_code": hit.region_code, "qualification_types": hit.qualification_types,
                    "credit_grade": hit.credit_grade, "fee_min_fen": hit.fee_min_fen,
                    "fee_max_fen": hit.fee_max_fen, "time_limit_days": hit.time_limit_days,
                }
                for hit in outcome.hits
            ],
            "facets": outcome.facets,
            "suggestions": [
                {"query": s.query, "count": s.count, "filters": s.filters.active(),
                 "url": search_url(s.query, s.filters)}
                for s in outcome.suggestions
            ],
        }
    )


# --- administration --------------------------------------------------------------------------


@bp.route("/admin/search/synonyms", methods=["GET", "POST"])
@bp.route("/admin/search/synonyms/<int(max=2147483647):synonym_id>/edit", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def admin_synonyms(synonym_id: int | None = None):
    entry = db.get_or_404(SearchSynonym, synonym_id) if synonym_id else None
    form = SynonymForm(obj=entry)
    if entry is not None and request.method == "GET":
        form.expansions.data = "\n".join(entry.expansion_list)
    if form.validate_on_submit():
        try:
            synonyms.save_synonym(
                entry, term=form.term.data, expansions=form.expansions.data, actor=current_actor()
            )
        except DomainError as exc:
            fail(form, exc)
        else:
            db.session.commit()
            flash(_("The synonym is saved; searches use it from now on."), "success")
            return redirect(url_for("search.admin_synonyms"))
    return render_template(
        "search/admin_synonyms.html", form=form, entry=entry, entries=synonyms.list_synonyms(),
        delete_form=DeleteSynonymForm(),
    )


@bp.route("/admin/search/synonyms/<int(max=2147483647):synonym_id>/delete", methods=["POST"])
@roles_required(Role.ADMIN)
def admin_delete_synonym(synonym_id: int):
    entry = db.get_or_404(SearchSynonym, synonym_id)
    term = entry.term
    if DeleteSynonymForm().validate_on_submit():
        try:
            synonyms.delete_synonym(entry, actor=current_actor())
        except DomainError as exc:
            fail(None, exc)
        else:
            db.session.commit()
            flash(_("The synonym “%(term)s” is deleted.", term=term), "success")
    else:
        flash(_("The form expired; please try again."), "danger")
    return redirect(url_for("search.admin_synonyms"))
