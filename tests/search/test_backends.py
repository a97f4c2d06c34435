"""Both back-ends find the same documents in a fixed Chinese + English corpus."""

from __future__ import annotations

import pytest

from marketplace.search.backends import SearchFilters
from marketplace.search.services import search
from tests.search.conftest import keys

A, L, S, N = "agency", "listing", "service_item", "announcement"

EXPECTED = {
    # Chinese: a phrase, its parts, abbreviations, sub-words of long words.
    "安全评价": {(A, 1), (S, 6), (L, 11), (L, 12), (N, 21)},
    "评价": {(A, 1), (A, 2), (A, 5), (S, 6), (S, 7), (L, 11), (L, 12), (L, 17), (N, 21)},
    "环评": {(A, 2), (L, 17)},
    "环境影响评价": {(A, 2), (A, 5), (S, 7), (L, 17)},
    "人民共和国": {(N, 22)},
    "测绘": {(A, 4), (S, 9), (N, 20)},
    "消防设施检测": {(L, 13), (L, 14), (L, 15), (L, 16)},
    # Qualification types and region names are searchable too.
    "甲级": {(A, 1), (A, 3), (A, 4), (L, 11), (L, 18)},
    "甲级 测绘": {(A, 4)},
    "昆明 环评": {(A, 2), (L, 17)},
    # English: any case, stemmed.
    "Beijing Tech": {(A, 3), (L, 18)},
    "BEIJING tech": {(A, 3), (L, 18)},
    "consult": {(A, 3), (L, 18)},
    "CONSULTING": {(A, 3), (L, 18)},
    "feasibility studies": {(A, 3), (L, 18)},
    "EIA": {(A, 5)},
    "script": {(N, 22)},
    # Nothing, and the hidden listing never.
    "安全 火星": set(),
    "隐藏": set(),
    "下架": set(),
}


@pytest.mark.parametrize(("query", "expected"), list(EXPECTED.items()))
def test_fixed_corpus_hits(corpus, backend_name, query, expected):
    outcome = search(query, per_page=50)
    assert outcome.backend == backend_name
    assert not outcome.degraded
    assert keys(outcome) == expected
    assert outcome.total == len(expected)


def test_partial_words_find_the_longer_phrase(corpus, backend_name):
    assert keys(search("评价", per_page=50)) >= keys(search("安全评价", per_page=50))


def test_ties_are_ordered_by_credit_grade_then_fee(corpus, backend_name):
    # Four listings with the same text: A ¥2,000, A ¥3,000, B ¥1,000, no grade ¥500.
    assert [h.doc_id for h in search("消防设施检测").hits] == [15, 14, 13, 16]


def test_relevance_comes_before_credit_grade(corpus, backend_name):
    # Listing 12 (grade B) says 安全…评价 in its title; announcement 21 only in passing.
    hits = [h.key for h in search("安全现状评价", per_page=50).hits]
    assert hits[0] == (L, 12)


def test_filters_narrow_the_hits(corpus, backend_name):
    assert keys(search("评价", SearchFilters(region_code="530102"))) == {(A, 1), (L, 11)}
    assert keys(search("评价", SearchFilters(doc_type="listing"))) == {(L, 11), (L, 12), (L, 17)}
    assert keys(search("评价", SearchFilters(qualification="环境影响评价乙级"))) == {(A, 2), (A, 5), (L, 17)}
    assert keys(search("评价", SearchFilters(credit_grade="B"))) == {(A, 2), (L, 12), (L, 17)}
    assert keys(search("评价", SearchFilters(fee="10k-50k"))) == {(L, 11), (L, 12), (L, 17)}
    assert keys(search("评价", SearchFilters(time="6-15"))) == {(L, 12)}
    assert keys(search("评价", SearchFilters(category="安全评价", credit_grade="A"))) == {(L, 11)}


def test_facet_counts(corpus, backend_name):
    facets = search("评价").facets
    assert facets["doc_type"] == {A: 3, S: 2, L: 3, N: 1}
    assert facets["credit_grade"] == {"A": 2, "B": 3}
    assert facets["qualification"] == {"安全评价甲级": 2, "安全评价乙级": 1, "环境影响评价乙级": 3}
    assert facets["fee"] == {"10k-50k": 3}
    assert facets["time"] == {"16-30": 2, "6-15": 1}
    assert facets["region_code"] == {"530102": 2, "530103": 2, "530400": 2, "510100": 1}


def test_browse_a_type_without_words(corpus, backend_name):
    outcome = search("", SearchFilters(doc_type="listing"), per_page=50)
    assert keys(outcome) == {(L, i) for i in range(11, 19)}
    grades = [h.credit_grade for h in outcome.hits]
    assert grades == sorted(grades, key=lambda g: "ABCD".index(g) if g else 9)


def test_pages_partition_the_results(corpus, backend_name):
    pages = [search("评价", page=p, per_page=4) for p in (1, 2, 3)]
    assert [len(p.hits) for p in pages] == [4, 4, 1]
    assert all(p.total == 9 and p.pages == 3 for p in pages)
    seen = [h.key for p in pages for h in p.hits]
    assert len(set(seen)) == 9


def test_whoosh_and_postgres_agree(corpus, db, search_app, monkeypatch):
    """The same hits (and facet counts) from both back-ends for every query and some filters."""
    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs TEST_DATABASE_URL=postgresql://…")
    cases = [(q, SearchFilters()) for q in EXPECTED] + [
        ("评价", SearchFilters(region_code="530103")),
        ("安全", SearchFilters(doc_type="announcement")),
        ("", SearchFilters(credit_grade="A")),
        ("检测 服务", SearchFilters(fee="lt10k")),
    ]
    for query, filters in cases:
        results = {}
        for name in ("whoosh", "postgres"):
            monkeypatch.setitem(search_app.config, "SEARCH_BACKEND", name)
            outcome = search(query, filters, per_page=100)
            results[name] = (keys(outcome), outcome.total, outcome.facets)
        assert results["whoosh"] == results["postgres"], query
