"""A damaged or missing Whoosh index: search answers from the database and the index is rebuilt."""

from __future__ import annotations

import os
import shutil

import pytest

from marketplace.search.backends import get_backend
from marketplace.search.documents import SearchDocument
from marketplace.search.indexing import process_queue, queue_length
from marketplace.search.services import enqueue, search
from tests.search.conftest import keys


def _corrupt(index_dir: str) -> None:
    for name in os.listdir(index_dir):
        path = os.path.join(index_dir, name)
        with open(path, "r+b") as fh:
            size = max(os.path.getsize(path), 64)
            fh.write(b"\xde\xad\xbe\xef garbage " * (size // 16 + 1))


def _healthy_search(query: str):
    outcome = search(query)
    assert outcome.backend == "whoosh" and not outcome.degraded
    return outcome


@pytest.mark.parametrize("damage", ["corrupt", "missing", "emptied"])
def test_damaged_index_falls_back_then_is_rebuilt(corpus, search_app, damage):
    backend = get_backend()
    expected = keys(_healthy_search("评价"))
    if damage == "corrupt":
        _corrupt(backend.index_dir)
    elif damage == "missing":
        shutil.rmtree(backend.index_dir)
    else:
        for name in os.listdir(backend.index_dir):
            os.remove(os.path.join(backend.index_dir, name))
    outcome = search("评价")
    assert outcome.degraded and outcome.backend == "database"
    assert keys(outcome) == expected  # the LIKE scan finds the same documents here
    # The corpus is small, so the request that noticed also rebuilt the index.
    assert not backend.needs_rebuild()
    assert keys(_healthy_search("评价")) == expected


def test_big_index_is_rebuilt_by_the_job_not_the_request(corpus, search_app, monkeypatch):
    from marketplace.jobs.runner import run_once

    monkeypatch.setitem(search_app.config, "SEARCH_INLINE_REBUILD_MAX", 0)
    backend = get_backend()
    _corrupt(backend.index_dir)
    for _ in range(2):
        outcome = search("环评")
        assert outcome.degraded and keys(outcome) == {("agency", 2), ("listing", 17)}
    assert backend.needs_rebuild()
    assert run_once(only="search.process_queue")["search.process_queue"] == 0
    assert not backend.needs_rebuild()
    assert keys(_healthy_search("环评")) == {("agency", 2), ("listing", 17)}


def test_corruption_found_by_the_job_alone(corpus, search_app):
    from marketplace.jobs.runner import run_once

    backend = get_backend()
    _corrupt(backend.index_dir)
    backend._forget()  # a fresh worker process: nothing cached
    run_once(only="search.process_queue")
    assert keys(_healthy_search("测绘")) == {("agency", 4), ("service_item", 9), ("announcement", 20)}


def test_changes_made_while_the_index_is_damaged_are_not_lost(corpus, fakes, search_app, db, monkeypatch):
    monkeypatch.setitem(search_app.config, "SEARCH_INLINE_REBUILD_MAX", 0)
    backend = get_backend()
    _corrupt(backend.index_dir)
    backend.mark_rebuild("test")
    fakes["listing"].put(SearchDocument(doc_type="listing", doc_id=200, title="尾矿库安全评价"))
    enqueue("listing", 200)
    db.session.commit()
    result = process_queue()
    assert result.deferred == 1 and queue_length() == 1
    # Meanwhile the fallback already finds it (the document store is current).
    assert keys(search("尾矿库")) == {("listing", 200)}
    from marketplace.search.jobs import process_search_queue

    process_search_queue(None)
    assert queue_length() == 0
    assert keys(_healthy_search("尾矿库")) == {("listing", 200)}


def test_search_page_answers_while_the_index_is_damaged(corpus, client, search_app):
    _corrupt(get_backend().index_dir)
    response = client.get("/search", query_string={"q": "环评"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'data-key="agency:2"' in html and 'data-key="listing:17"' in html
    assert 'id="search-degraded"' in html
    data = client.get("/search.json", query_string={"q": "环评"}).get_json()
    assert data["backend"] == "whoosh" and not data["degraded"]  # rebuilt by the page request
