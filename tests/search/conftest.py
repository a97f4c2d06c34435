"""Search fixtures: fake providers, a fixed Chinese + English corpus, one index per test."""

from __future__ import annotations

import pytest

from marketplace.search.documents import (
    DocType,
    SearchDocument,
    register_provider,
    unregister_provider,
)


class FakeProvider:
    """A provider over an in-memory dict, standing in for a domain's real one."""

    def __init__(self, doc_type: str):
        self.doc_type = doc_type
        self.docs: dict[int, SearchDocument] = {}
        self.hidden_now: set[int] = set()  # hidden by time: only is_visible_now knows
        self.fail_ids: set[int] = set()

    def put(self, doc: SearchDocument) -> None:
        self.docs[doc.doc_id] = doc

    def document_for(self, doc_id: int) -> SearchDocument | None:
        if doc_id in self.fail_ids:
            raise RuntimeError(f"provider broke on {doc_id}")
        return self.docs.get(doc_id)

    def all_ids(self):
        return list(self.docs)

    def iter_documents(self):
        return iter(list(self.docs.values()))

    def is_visible_now(self, ids):
        return {i for i in ids if i not in self.hidden_now}


def _doc(doc_type, doc_id, title, body="", **kw) -> SearchDocument:
    return SearchDocument(doc_type=doc_type, doc_id=doc_id, title=title, body=body,
                          url=f"/{doc_type}/{doc_id}", **kw)


SAME_TEXT = dict(title="消防设施检测服务", body="建筑消防设施检测，出具检测报告。", category="消防检测",
                 region_code="530111", qualification_types=["消防设施检测"], time_limit_days=10)

CORPUS = [
    _doc("agency", 1, "云南安全评价有限公司", "从事安全评价、安全预评价、安全验收评价和职业病危害评价。",
         region_code="530102", qualification_types=["安全评价甲级"], credit_grade="A"),
    _doc("agency", 2, "昆明环科环境咨询有限公司", "环评报告书、环评报告表编制，环境监测。",
         region_code="530103", qualification_types=["环境影响评价乙级"], credit_grade="B"),
    _doc("agency", 3, "Beijing Tech Consulting Co., Ltd.", "Engineering consulting and feasibility "
         "studies. 北京科技咨询有限公司：工程咨询、可行性研究报告。", region_code="110000",
         qualification_types=["工程咨询甲级"], credit_grade="A"),
    _doc("agency", 4, "盘锦测绘院", "地形测绘、不动产测绘、房产测量。", region_code="211100",
         qualification_types=["测绘甲级"], credit_grade="C"),
    _doc("agency", 5, "Greenfield Environmental Services", "Environmental impact assessment (EIA) "
         "for construction projects. 建设项目环境影响评价。", region_code="510100",
         qualification_types=["环境影响评价乙级"]),
    _doc("service_item", 6, "安全评价", "对生产经营单位的安全生产条件进行评价。", category="安全评价"),
    _doc("service_item", 7, "建设项目环境影响评价", "编制环境影响报告书（表）。", category="环境评价"),
    _doc("service_item", 8, "工程造价咨询", "工程预算、结算审核。", category="造价咨询"),
    _doc("service_item", 9, "地形图测绘", "1:500 地形图测绘。", category="测绘"),
    _doc("service_item", 10, "水土保持方案编制", "生产建设项目水土保持方案。", category="水土保持"),
    _doc("listing", 11, "安全评价（云南安全评价有限公司）", "安全预评价、安全验收评价，按 AQ 8001 标准执行。",
         category="安全评价", region_code="530102", qualification_types=["安全评价甲级"],
         credit_grade="A", fee_min_fen=3_000_000, fee_max_fen=8_000_000, time_limit_days=20),
    _doc("listing", 12, "安全现状评价", "化工企业安全现状评价报告。", category="安全评价",
         region_code="530400", qualification_types=["安全评价乙级"], credit_grade="B",
         fee_min_fen=2_000_000, time_limit_days=15),
    _doc("listing", 13, **SAME_TEXT, credit_grade="B", fee_min_fen=100_000),
    _doc("listing", 14, **SAME_TEXT, credit_grade="A", fee_min_fen=300_000),
    _doc("listing", 15, **SAME_TEXT, credit_grade="A", fee_min_fen=200_000),
    _doc("listing", 16, **SAME_TEXT, fee_min_fen=50_000),
    _doc("listing", 17, "环评报告表编制", "建设项目环评，报告表编制与技术评估。", category="环境评价",
         region_code="530103", qualification_types=["环境影响评价乙级"], credit_grade="B",
         fee_min_fen=1_500_000, time_limit_days=30),
    _doc("listing", 18, "Feasibility study report", "Consulting services for feasibility study "
         "reports, by Beijing Tech Consulting.", category="工程咨询", region_code="110000",
         qualification_types=["工程咨询甲级"], credit_grade="A", fee_min_fen=5_000_000,
         time_limit_days=45),
    _doc("listing", 19, "隐藏的安全评价服务", "已下架的安全评价。", category="安全评价", visible=False),
    _doc("announcement", 20, "城市规划局采购地形图测绘服务公告", "采购地形图测绘，预算十万元。",
         category="测绘", region_code="530111"),
    _doc("announcement", 21, "关于采购安全评价服务的公告", "某县应急管理局采购安全评价服务。",
         category="安全评价", region_code="530400"),
    _doc("announcement", 22, "中华人民共和国政府采购法 <script>alert(1)</script>",
         "依据中华人民共和国政府采购法公开采购。", category="法规"),
]


@pytest.fixture
def search_app(app, db, tmp_path, monkeypatch):
    """The app with a fresh index directory, the Whoosh back-end and empty fake providers."""
    monkeypatch.setitem(app.config, "SEARCH_INDEX_DIR", str(tmp_path / "search_index"))
    monkeypatch.setitem(app.config, "SEARCH_BACKEND", "whoosh")
    saved = dict(app.extensions.get("search_providers", {}))  # the real ones come back after
    fakes = {t.value: FakeProvider(t.value) for t in DocType}
    for fake in fakes.values():
        register_provider(fake, app=app)
    app.extensions["fake_search_providers"] = fakes
    try:
        yield app
    finally:
        for t in DocType:
            unregister_provider(t.value, app=app)
        app.extensions["search_providers"].update(saved)
        app.extensions.pop("fake_search_providers", None)


@pytest.fixture
def fakes(search_app) -> dict[str, FakeProvider]:
    return search_app.extensions["fake_search_providers"]


@pytest.fixture
def corpus(search_app, fakes):
    """The fixed corpus, indexed (store and Whoosh) with ``flask search reindex``'s service."""
    from marketplace.search.indexing import reindex_all

    for doc in CORPUS:
        fakes[doc.doc_type].put(doc)
    reindex_all()
    return CORPUS


@pytest.fixture(params=["whoosh", "postgres"])
def backend_name(request, search_app, db, monkeypatch):
    """Run the test once per back-end; PostgreSQL only when the test database is PostgreSQL."""
    if request.param == "postgres" and db.engine.dialect.name != "postgresql":
        pytest.skip("the PostgreSQL back-end needs TEST_DATABASE_URL=postgresql://…")
    monkeypatch.setitem(search_app.config, "SEARCH_BACKEND", request.param)
    return request.param


def keys(outcome) -> set[tuple[str, int]]:
    return {(h.doc_type, h.doc_id) for h in outcome.hits}
