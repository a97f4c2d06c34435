"""The SQL back-ends read at most SEARCH_MATCH_CAP matches: broad words say "more than N", and
below the cap the hits, the total and the facets are exactly what a full ranking gives."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from marketplace.extensions import db as _db
from marketplace.search.analysis import parse_query
from marketplace.search.backends import SearchFilters, get_backend
from marketplace.search.backends.database_backend import FACET_COLUMNS, NO_FEE, T, expand_quals
from marketplace.search.models import IndexedDocument
from marketplace.search.services import search
from tests.search.test_backends import EXPECTED


@pytest.fixture(params=["database", "postgres"])
def sql_backend(request, search_app, db, monkeypatch):
    """Each SQL back-end the test database offers (PostgreSQL's only on PostgreSQL)."""
    if request.param == "postgres" and db.engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL back-end needs TEST_DATABASE_URL=postgresql://…")
    monkeypatch.setitem(search_app.config, "SEARCH_BACKEND", request.param)
    return get_backend(request.param)


def full_ranking(backend, text: str, filters=SearchFilters()):
    """The order, total and facets of every match, as the back-ends computed them before the cap."""
    parsed = parse_query(text)
    conds = backend.where(parsed, filters)
    score = backend.score(parsed) if not parsed.is_empty else sa.literal(0.0)
    order = _db.session.execute(
        sa.select(T.doc_type, T.doc_id).where(*conds)
        .order_by(sa.desc(score), T.credit_rank, sa.func.coalesce(T.fee_min_fen, NO_FEE),
                  T.doc_type, T.doc_id)
    ).all()
    facets = {}
    for name, column in FACET_COLUMNS.items():
        rows = _db.session.execute(
            sa.select(column, sa.func.count()).where(*conds, column.is_not(None)).group_by(column)
        ).all()
        facets[name] = dict(rows)
    facets["qualification"] = expand_quals(_db.session.execute(
        sa.select(T.qualification_types, sa.func.count())
        .where(*conds, T.qualification_types != "").group_by(T.qualification_types)
    ).all())
    return [tuple(r) for r in order], facets


@pytest.mark.parametrize("text", [q for q, expected in EXPECTED.items() if expected])
def test_below_the_cap_hits_total_and_facets_are_those_of_a_full_ranking(corpus, sql_backend, text):
    order, facets = full_ranking(sql_backend, text)
    result = sql_backend.search(parse_query(text), SearchFilters(), offset=0, limit=50)
    assert [h.key for h in result.hits] == order
    assert result.total == len(order) and not result.total_capped
    assert result.facets == facets


def test_a_cap_equal_to_the_matches_changes_nothing(corpus, sql_backend, search_app, monkeypatch):
    order, facets = full_ranking(sql_backend, "评价")
    monkeypatch.setitem(search_app.config, "SEARCH_MATCH_CAP", len(order))
    outcome = search("评价", per_page=50)
    assert [h.key for h in outcome.hits] == order
    assert outcome.total == len(order) and not outcome.total_capped
    assert outcome.facets == facets
    # Pages still partition the same ranking.
    pages = [h.key for page in (1, 2, 3) for h in search("评价", page=page, per_page=4).hits]
    assert pages == order


def test_a_broad_word_says_more_than_the_cap(corpus, sql_backend, search_app, monkeypatch, client):
    monkeypatch.setitem(search_app.config, "SEARCH_MATCH_CAP", 3)
    outcome = search("评价", per_page=50)  # 9 matches
    assert outcome.total == 3 and outcome.total_capped
    assert len(outcome.hits) == 3
    # The facets count the matches read, and say so.
    assert sum(outcome.facets["doc_type"].values()) == 3
    order, _ = full_ranking(sql_backend, "评价")
    assert {h.key for h in outcome.hits} <= set(order)

    html = client.get("/search", query_string={"q": "评价"}).get_data(as_text=True)
    assert "超过 3 条结果" in html
    assert 'id="search-facets-capped"' in html and "按前 3 条结果统计" in html
    data = client.get("/search.json", query_string={"q": "评价"}).get_json()
    assert data["total"] == 3 and data["total_capped"] is True


def test_english_page_says_more_than(corpus, sql_backend, search_app, monkeypatch, client, english):
    monkeypatch.setitem(search_app.config, "SEARCH_MATCH_CAP", 3)
    html = client.get("/search", query_string={"q": "评价"}).get_data(as_text=True)
    assert "More than 3 results" in html


def test_a_specific_query_is_not_capped(corpus, sql_backend, search_app, monkeypatch, client):
    monkeypatch.setitem(search_app.config, "SEARCH_MATCH_CAP", 3)
    outcome = search("环评")  # 2 matches
    assert outcome.total == 2 and not outcome.total_capped
    html = client.get("/search", query_string={"q": "环评"}).get_data(as_text=True)
    assert "共 2 条结果" in html and "超过" not in html
    assert client.get("/search.json", query_string={"q": "环评"}).get_json()["total_capped"] is False


def test_suggestion_counts_beyond_the_cap_show_a_plus(corpus, sql_backend, search_app, monkeypatch,
                                                      client):
    monkeypatch.setitem(search_app.config, "SEARCH_MATCH_CAP", 3)
    outcome = search("评价 火星")  # nothing; 评价 alone finds 9
    suggestion = next(s for s in outcome.suggestions if s.query == "评价")
    assert suggestion.count == 3 and suggestion.count_capped
    html = client.get("/search", query_string={"q": "评价 火星"}).get_data(as_text=True)
    assert "(3+)" in html


def test_browsing_without_words_keeps_the_exact_order_beyond_the_cap(
        corpus, sql_backend, search_app, monkeypatch):
    listings = SearchFilters(doc_type="listing")
    order, _ = full_ranking(sql_backend, "", listings)
    monkeypatch.setitem(search_app.config, "SEARCH_MATCH_CAP", 2)
    outcome = search("", listings, per_page=4)
    assert outcome.total_capped
    assert [h.key for h in outcome.hits] == order[:4]
    assert _db.session.execute(sa.select(sa.func.count()).select_from(IndexedDocument)).scalar() > 2
