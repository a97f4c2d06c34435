"""The search page, the JSON endpoint and the header search box."""

from __future__ import annotations

import pytest

HOSTILE = ["", " ", "x" * 10_000, "安全评价" * 3000, "!!!???...", "AND", "*", '"', "OR NOT (",
           "安全 AND 评价 OR", 'title:"x', "😀🔥", "\x00", "安全\x00评价", "%", "_", "\\",
           "<script>alert(1)</script>", "' OR 1=1 --"]


@pytest.mark.parametrize("q", HOSTILE)
@pytest.mark.parametrize("url", ["/search", "/search.json"])
def test_hostile_queries_give_a_normal_page(corpus, client, url, q):
    response = client.get(url, query_string={"q": q})
    assert response.status_code == 200
    if url.endswith(".json"):
        assert isinstance(response.get_json()["hits"], list)


@pytest.mark.parametrize("raw", ["%ED%A0%80", "%FF%FE", "%00%00", "%E5%AE", "%%%", "a&q=b&q=c"])
def test_undecodable_query_strings_give_a_normal_page(corpus, client, raw):
    for url in ("/search", "/search.json"):
        assert client.get(f"{url}?q={raw}").status_code == 200


@pytest.mark.parametrize("args", [
    {"q": "评价", "type": "nonsense"}, {"q": "评价", "fee": "free"}, {"q": "评价", "grade": "Z"},
    {"q": "评价", "region": "\x00" * 50}, {"q": "评价", "category": "x" * 5000},
    {"q": "评价", "page": "-5"}, {"q": "评价", "page": "abc"}, {"q": "评价", "page": "99999999999"},
    {"q": "评价", "per_page": "1e9"}, {"type": "listing", "page": "3"},
])
def test_hostile_parameters_give_a_normal_page(corpus, client, args):
    for url in ("/search", "/search.json"):
        assert client.get(url, query_string=args).status_code == 200


def test_invalid_filter_is_ignored_not_refused(corpus, client):
    data = client.get("/search.json", query_string={"q": "评价", "type": "nonsense"}).get_json()
    assert data["total"] == 9 and data["filters"] == {}


def test_every_page_has_the_header_search_box(client):
    html = client.get("/").get_data(as_text=True)
    assert 'id="header-search"' in html and 'action="/search"' in html


def test_results_page_highlights_escapes_and_shows_facets(corpus, client):
    html = client.get("/search", query_string={"q": "人民共和国 script"}).get_data(as_text=True)
    assert "<mark>" in html
    assert "<script>alert(1)</script>" not in html
    assert "&lt;<mark>script</mark>&gt;" in html
    html = client.get("/search", query_string={"q": "评价"}).get_data(as_text=True)
    assert html.count('class="mb-4 search-hit"') == 9
    assert 'id="search-facets"' in html
    assert "qual=%E7%8E%AF%E5%A2%83%E5%BD%B1%E5%93%8D%E8%AF%84%E4%BB%B7%E4%B9%99%E7%BA%A7" in html
    assert "region=530102" in html


def test_facet_link_filters(corpus, client):
    html = client.get("/search", query_string={"q": "评价", "region": "530102"}).get_data(as_text=True)
    assert html.count('class="mb-4 search-hit"') == 2


def test_pagination(corpus, client):
    first = client.get("/search.json", query_string={"q": "评价", "per_page": 4}).get_json()
    third = client.get("/search.json", query_string={"q": "评价", "per_page": 4, "page": 3}).get_json()
    assert first["pages"] == 3 and first["total"] == 9
    assert len(first["hits"]) == 4 and len(third["hits"]) == 1
    html = client.get("/search", query_string={"type": "listing"}).get_data(as_text=True)
    assert html.count('class="mb-4 search-hit"') == 8


def test_no_results_offers_suggestions(corpus, client):
    data = client.get("/search.json", query_string={"q": "环评 火星"}).get_json()
    assert data["total"] == 0
    assert {s["query"] for s in data["suggestions"]} == {"环评"}
    assert data["suggestions"][0]["count"] == 2
    html = client.get("/search", query_string={"q": "环评 火星"}).get_data(as_text=True)
    assert 'id="search-no-results"' in html and 'id="search-suggestions"' in html
    data = client.get("/search.json", query_string={"q": "测绘", "region": "530102"}).get_json()
    assert data["total"] == 0
    assert data["suggestions"] == [
        {"query": "测绘", "count": 3, "filters": {}, "url": "/search?q=%E6%B5%8B%E7%BB%98"}
    ]


def test_json_hit_shape(corpus, client):
    data = client.get("/search.json", query_string={"q": "环评"}).get_json()
    hit = data["hits"][0]
    assert {"type", "id", "title", "url", "title_html", "snippet_html", "credit_grade",
            "fee_min_fen", "region_code"} <= set(hit)
    assert "<mark>环评</mark>" in hit["title_html"] + hit["snippet_html"]
    assert data["facets"]["doc_type"] == {"agency": 1, "listing": 1}


def test_empty_query_page_offers_browsing(search_app, client):
    html = client.get("/search").get_data(as_text=True)
    assert 'id="search-empty"' in html and "type=listing" in html
