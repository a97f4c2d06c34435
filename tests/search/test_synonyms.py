"""Trade abbreviations (环评, 水保 …): applied to queries on every back-end, kept by administrators."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import sqlalchemy as sa

from marketplace.accounts.models import Role
from marketplace.audit.models import AuditEvent
from marketplace.core.errors import DomainError, PermissionDenied
from marketplace.search import synonyms
from marketplace.search.analysis import SynonymTable, parse_query
from marketplace.search.backends import SearchFilters, get_backend
from marketplace.search.models import SearchSynonym
from marketplace.search.services import search
from tests.conftest import Browser
from tests.factories import AgencyFactory, GovernmentFactory, UserFactory
from tests.search.conftest import CORPUS, _doc

# Documents that use only the full names, never the abbreviations.
FULL_NAMES = [
    _doc(
        "listing",
        30,
        "建设项目环境影响评价报告书编制",
        "按导则编制环境影响评价文件。",
        category="环境评价",
    ),
    _doc(
        "listing", 31, "地质灾害危险性评估", "建设用地地质灾害危险性评估报告。", category="地质灾害"
    ),
    _doc("listing", 32, "固定资产投资项目节能评估", "节能报告编制（节能评估）。", category="节能"),
]


@pytest.fixture
def trade_corpus(search_app, fakes, db):
    from marketplace.search.indexing import reindex_all

    for doc in [*CORPUS, *FULL_NAMES]:
        fakes[doc.doc_type].put(doc)
    reindex_all()


@pytest.fixture
def defaults(db):
    synonyms.install_default_synonyms(actor="test")
    db.session.commit()


@pytest.fixture
def admin(db):
    return UserFactory(organisation=GovernmentFactory(), role=Role.ADMIN)


def signed_in(app, user) -> Browser:
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
    return Browser(client)


def found(client, q: str) -> set[tuple[str, int]]:
    data = client.get("/search.json", query_string={"q": q}).get_json()
    return {(h["type"], h["id"]) for h in data["hits"]}


def synonym_events(db) -> list[str]:
    return list(
        db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.like("search_synonym.%"))
            .order_by(AuditEvent.seq)
        )
    )


# --- searching ---------------------------------------------------------------------------------


def test_abbreviation_finds_nothing_more_without_the_table(backend_name, trade_corpus, client):
    assert ("listing", 30) not in found(client, "环评")


def test_abbreviation_finds_its_expansion_on_both_pages(
    backend_name, trade_corpus, defaults, client
):
    hits = found(client, "环评")
    # The listing that says 环境影响评价, and the one that says 环评.
    assert {("listing", 30), ("listing", 17), ("service_item", 7)} <= hits
    html = client.get("/search", query_string={"q": "环评"}).get_data(as_text=True)
    assert "按导则编制<mark>环境影响评价</mark>文件" in html
    assert 'data-key="listing:30"' in html and 'data-key="listing:17"' in html


def test_full_name_finds_the_abbreviation(backend_name, trade_corpus, defaults, client):
    assert {("listing", 30), ("listing", 17)} <= found(client, "环境影响评价")


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("地灾", ("listing", 31)),
        ("能评", ("listing", 32)),
        ("安评", ("listing", 11)),
        ("水保", ("service_item", 10)),
        ("北京 可研", ("agency", 3)),
    ],
)
def test_other_trade_abbreviations(backend_name, trade_corpus, defaults, client, q, expected):
    assert expected in found(client, q)


def test_abbreviation_across_two_words_is_not_expanded(db, defaults):
    # 功能评价 holds the characters 能评 across its words 功能 and 评价: not the abbreviation.
    parsed = parse_query("功能评价", synonyms.current_table())
    assert parsed.synonyms == ()
    assert parsed.groups == parse_query("功能评价").groups


def test_the_like_fallback_uses_synonyms_too(trade_corpus, defaults):
    result = get_backend("database").search(
        parse_query("环评", synonyms.current_table()), SearchFilters(), offset=0, limit=50
    )
    assert ("listing", 30) in {h.key for h in result.hits}


def test_expansions_match_the_abbreviation_not_each_other():
    table = SynonymTable.build([("地灾", ["地质灾害", "地质灾害危险性评估"])])
    assert table.variants["地灾"] == ("地质灾害", "地质灾害危险性评估")
    assert table.variants["地质灾害"] == ("地灾",)
    (group,) = parse_query("地灾", table).groups
    assert ("地灾",) in group and ("地质灾害",) in group


# --- the cache -----------------------------------------------------------------------------------


def test_cache_follows_edits_made_by_another_process(app, db, defaults):
    table = synonyms.current_table()
    assert synonyms.current_table() is table  # cached: same revision
    with db.engine.begin() as conn:  # another app server's transaction
        conn.execute(
            sa.insert(SearchSynonym.__table__).values(
                term="消检",
                expansions="消防设施检测",
                created_at=sa.func.now(),
                updated_at=sa.func.now(),
            )
        )
        conn.execute(sa.text("UPDATE search_synonym_revisions SET revision = 'other-server'"))
    db.session.rollback()  # a new request, a new transaction
    assert "消检" in synonyms.current_table().variants


# --- administration ------------------------------------------------------------------------------


def test_admin_adds_a_synonym_and_the_next_search_uses_it(
    backend_name, app, db, trade_corpus, defaults, admin, client
):
    assert found(client, "消检") == set()
    browser = signed_in(app, admin)
    page = browser.get("/admin/search/synonyms").get_data(as_text=True)
    assert "环境影响评价" in page
    resp = browser.post("/admin/search/synonyms", {"term": "消检", "expansions": "消防设施检测"})
    assert resp.status_code == 302
    assert {("listing", 13), ("listing", 14), ("listing", 15), ("listing", 16)} <= found(
        client, "消检"
    )
    assert synonym_events(db).count("search_synonym.created") == len(synonyms.DEFAULT_SYNONYMS) + 1


def test_admin_edits_and_deletes_with_audit_events(app, db, admin, english):
    entry = synonyms.save_synonym(None, term="环评", expansions="环境影响评价", actor=admin)
    db.session.commit()
    browser = signed_in(app, admin)
    page = browser.get(f"/admin/search/synonyms/{entry.id}/edit").get_data(as_text=True)
    assert "Edit synonym" in page and "环境影响评价</textarea>" in page
    resp = browser.post(
        f"/admin/search/synonyms/{entry.id}/edit",
        {"term": "环评", "expansions": "环境影响评价\n环境影响报告"},
    )
    assert resp.status_code == 302
    db.session.expire_all()
    assert db.session.get(SearchSynonym, entry.id).expansion_list == [
        "环境影响评价",
        "环境影响报告",
    ]
    assert db.session.get(SearchSynonym, entry.id).updated_by_id == admin.id
    resp = browser.post(
        f"/admin/search/synonyms/{entry.id}/delete", {}, form_url="/admin/search/synonyms"
    )
    assert resp.status_code == 302
    assert "deleted" in browser.get("/admin/search/synonyms").get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchSynonym)) == 0
    assert synonym_events(db) == [
        "search_synonym.created",
        "search_synonym.updated",
        "search_synonym.deleted",
    ]


@pytest.mark.parametrize("role", [Role.AGENCY_STAFF, Role.REGULATOR, Role.APPROVAL_OFFICER])
def test_non_admins_get_403(app, db, role):
    org = AgencyFactory() if role is Role.AGENCY_STAFF else GovernmentFactory()
    user = UserFactory(organisation=org, role=role)
    entry = synonyms.save_synonym(None, term="环评", expansions="环境影响评价", actor="test")
    db.session.commit()
    browser = signed_in(app, user)
    assert browser.get("/admin/search/synonyms").status_code == 403
    token = browser.csrf("/")
    for url in (
        "/admin/search/synonyms",
        f"/admin/search/synonyms/{entry.id}/edit",
        f"/admin/search/synonyms/{entry.id}/delete",
    ):
        data = {"csrf_token": token, "term": "x", "expansions": "y"}
        assert browser.client.post(url, data=data).status_code == 403
    with pytest.raises(PermissionDenied):
        synonyms.save_synonym(None, term="水保", expansions="水土保持", actor=user)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchSynonym)) == 1


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get("/admin/search/synonyms").status_code == 302


@pytest.mark.parametrize(
    ("term", "expansions", "message"),
    [
        ("", "环境影响评价", "必填"),
        ("   ", "环境影响评价", None),
        ("环" * 41, "环境影响评价", "40 个字符"),
        ("环评", "", None),
        ("环评", "环" * 41, "最多 40 个字符"),
        ("环评", "环评", "不能是缩写本身"),
        ("环评", "环境影响评价\n环境影响评价", "重复"),
        ("环 评", "环境影响评价", None),
        ("环评!", "环境影响评价", "无法搜索"),
        ("水保", "水土保持", "已有"),  # the default entry exists
        ("新词", "、".join(f"词{i}" for i in range(11)), "最多 10 个"),
    ],
)
def test_bad_input_shows_an_error_and_changes_nothing(
    app, db, defaults, admin, term, expansions, message
):
    before = db.session.scalar(sa.select(sa.func.count()).select_from(SearchSynonym))
    events = len(synonym_events(db))
    browser = signed_in(app, admin)
    resp = browser.post("/admin/search/synonyms", {"term": term, "expansions": expansions})
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "invalid-feedback" in html
    if message:
        assert message in html
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SearchSynonym)) == before
    assert len(synonym_events(db)) == events


def test_renaming_onto_another_entry_is_refused(db, defaults, admin):
    entry = db.session.scalar(sa.select(SearchSynonym).where(SearchSynonym.term == "环评"))
    with pytest.raises(DomainError) as exc:
        synonyms.save_synonym(entry, term="水保", expansions="x", actor=admin)
    assert exc.value.field == "term"
    # Full-width and upper-case forms are the same term.
    synonyms.save_synonym(None, term="ＥＩＡ", expansions="环境影响评价", actor=admin)
    with pytest.raises(DomainError):
        synonyms.save_synonym(None, term="eia", expansions="环评", actor=admin)


def test_install_defaults_is_idempotent_and_matches_the_migration(db):
    assert synonyms.install_default_synonyms(actor="test") == len(synonyms.DEFAULT_SYNONYMS)
    assert synonyms.install_default_synonyms(actor="test") == 0
    path = next(Path("migrations/versions").glob("0017_search_synonyms*.py"))
    spec = importlib.util.spec_from_file_location("m0017", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert [(t, "|".join(e)) for t, e in synonyms.DEFAULT_SYNONYMS] == module.DEFAULTS


def test_search_reads_only_the_revision_when_the_table_is_cached(db, trade_corpus, defaults):
    search("环评")
    statements = []

    def count(conn, cursor, statement, *args):
        if "search_synonym" in statement:
            statements.append(statement)

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        search("环评")
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 1 and "search_synonym_revisions" in statements[0]


def test_cli_installs_the_missing_defaults(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["search", "install-synonyms"])
    assert (
        result.exit_code == 0
        and f"{len(synonyms.DEFAULT_SYNONYMS)} synonyms added" in result.output
    )
    assert "0 synonyms added" in runner.invoke(args=["search", "install-synonyms"]).output


def test_delete_without_a_valid_form_changes_nothing(app, db, defaults, admin):
    entry = db.session.scalar(sa.select(SearchSynonym).where(SearchSynonym.term == "环评"))
    browser = signed_in(app, admin)
    resp = browser.client.post(f"/admin/search/synonyms/{entry.id}/delete", data={})
    assert resp.status_code in (302, 400)
    assert db.session.get(SearchSynonym, entry.id) is not None
    assert "search_synonym.deleted" not in synonym_events(db)
    assert browser.get("/admin/search/synonyms/999999/edit").status_code == 404


DEFAULT_TABLE = SynonymTable.build(
    (term, expansions) for term, expansions in synonyms.DEFAULT_SYNONYMS
)


@pytest.mark.parametrize(
    "text",
    [
        "环评" * 100,
        "环评 水保 安评 地灾 能评 稳评 职评 洪评 震评 交评 文评 水评 雷评 可研 测绘",
        "规划环评环评规划",
        "ＥＩＡ环评\x00水保",
        "环境影响评价环境影响报告地质灾害危险性评估",
    ],
)
def test_queries_full_of_abbreviations_stay_small(text):
    parsed = parse_query(text, DEFAULT_TABLE)
    assert 0 < len(parsed.groups) <= 12
    assert all(len(group) <= 24 for group in parsed.groups)
    assert len(parsed.synonyms) in (0, len(parsed.words))
    assert all(t.isalnum() for t in parsed.terms)
