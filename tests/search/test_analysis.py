"""The analyzer and the query parser: the same terms for index and query, never an error."""

from __future__ import annotations

import pytest

from marketplace.search.analysis import MAX_QUERY_CHARS, highlight, index_terms, parse_query

HOSTILE = ["", " ", "x" * 10_000, "！！！…。、", "AND", "*", '"', "OR NOT (", "😀🔥", "\x00",
           "安全\x00评价", "title:安全 AND body:*", "%_\\", "'; DROP TABLE search_documents; --"]


@pytest.mark.parametrize("text", HOSTILE)
def test_parse_query_never_raises_and_stays_small(text):
    parsed = parse_query(text)
    assert len(parsed.text) <= MAX_QUERY_CHARS
    assert "\x00" not in parsed.text
    assert all(t.isalnum() for t in parsed.terms)


def test_punctuation_emoji_and_operators_give_no_terms():
    for text in ["", "！！！…。、", "*", '"', "😀🔥", "\x00", "AND", "and or"]:
        assert parse_query(text).is_empty, text


def test_chinese_query_is_split_into_words():
    assert parse_query("安全评价").groups == ((("安全",),), (("评价",),))
    # A long word also matches through its dictionary sub-words.
    (group,) = parse_query("人民共和国").groups
    assert group[0] == ("人民共和国",)
    assert set(group[1]) >= {"人民", "共和国"}


def test_latin_terms_are_lower_cased_and_stemmed_fullwidth_folded():
    assert index_terms("Beijing TECH Consulting ＡＢＣ") == ["beij", "tech", "consult", "abc"]
    assert parse_query("consulting").groups == parse_query("CONSULTS").groups


def test_index_terms_include_sub_words_for_partial_matches():
    terms = index_terms("建设项目环境影响评价报告书")
    assert {"环境影响", "环境", "影响", "评价", "报告书", "报告"} <= set(terms)


def test_highlight_escapes_html_and_marks_hits():
    html = str(highlight("<b>安全评价</b> & Consulting", parse_query("评价 consult")))
    assert "<b>" not in html and "&lt;b&gt;" in html and "&amp;" in html
    assert "<mark>评价</mark>" in html and "<mark>Consulting</mark>" in html


def test_snippet_is_cut_around_the_hit():
    text = "前言" * 200 + "环评报告" + "结尾" * 200
    html = str(highlight(text, parse_query("环评"), width=60))
    assert "<mark>环评</mark>" in html
    assert html.startswith("…") and html.endswith("…")
    assert len(html) < 120
