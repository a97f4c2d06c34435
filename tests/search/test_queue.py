"""The index follows the data: after commit, never from inside the transaction, never lost."""

from __future__ import annotations

import sqlalchemy as sa
from click.testing import Result

from marketplace.search import store
from marketplace.search.backends import BackendUnavailable, get_backend
from marketplace.search.backends.whoosh_backend import _Writer
from marketplace.search.documents import SearchDocument
from marketplace.search.indexing import process_committed, process_queue, queue_length
from marketplace.search.models import SearchQueueEntry
from marketplace.search.services import enqueue, search
from tests.search.conftest import keys


def _listing(doc_id: int, title: str, **kw) -> SearchDocument:
    return SearchDocument(doc_type="listing", doc_id=doc_id, title=title, body=kw.pop("body", ""),
                          url=f"/l/{doc_id}", **kw)


def _change(fakes, doc: SearchDocument, db) -> None:
    """What a domain service does: change its data and enqueue, in one transaction."""
    fakes[doc.doc_type].put(doc)
    enqueue(doc.doc_type, doc.doc_id)
    db.session.commit()


def _entries(db):
    return db.session.execute(sa.select(SearchQueueEntry)).scalars().all()


def test_change_is_indexed_after_commit_by_the_post_request_hook(corpus, fakes, db, search_app):
    with search_app.test_request_context("/anything"):
        _change(fakes, _listing(100, "Tailings dam safety review 尾矿库安全评价"), db)
        # Committed, not yet indexed: the request has not ended.
        assert queue_length() == 1
    assert queue_length() == 0
    assert ("listing", 100) in keys(search("尾矿库"))
    assert ("listing", 100) in keys(search("tailings"))


def test_process_committed_runs_only_after_a_commit(corpus, fakes, db):
    fakes["listing"].put(_listing(101, "尾矿库安全评价"))
    enqueue("listing", 101)
    assert process_committed() is None  # nothing committed yet: nothing to do
    db.session.commit()
    result = process_committed()
    assert result.indexed == 1 and queue_length() == 0
    assert ("listing", 101) in keys(search("尾矿库"))


def test_rollback_enqueues_nothing(corpus, fakes, db):
    fakes["listing"].put(_listing(102, "尾矿库安全评价"))
    enqueue("listing", 102)
    db.session.rollback()
    db.session.commit()
    assert queue_length() == 0
    assert process_committed() is None
    assert keys(search("尾矿库")) == set()


def test_enqueue_twice_keeps_one_entry_with_a_higher_version(corpus, db):
    enqueue("listing", 11)
    enqueue("listing", 11)
    db.session.commit()
    (entry,) = _entries(db)
    assert entry.version == 2


def test_provider_failure_leaves_the_entry_queued_and_others_indexed(corpus, fakes, db):
    fakes["listing"].put(_listing(103, "尾矿库安全评价"))
    fakes["listing"].put(_listing(104, "尾矿库环评"))
    fakes["listing"].fail_ids.add(103)
    enqueue("listing", 103)
    enqueue("listing", 104)
    db.session.commit()
    result = process_queue()
    assert (result.indexed, result.failed) == (1, 1)
    (entry,) = _entries(db)
    assert (entry.doc_id, entry.attempts) == (103, 1)
    assert "provider broke" in entry.last_error
    # Fixed: the next run indexes it.
    fakes["listing"].fail_ids.clear()
    assert process_queue().indexed == 1
    assert queue_length() == 0
    assert keys(search("尾矿库")) == {("listing", 103), ("listing", 104)}


def test_index_write_failure_keeps_entries_but_updates_the_store(corpus, fakes, db, monkeypatch):
    def broken(self, upserts, deletes):
        raise BackendUnavailable("disk full")

    real = _Writer.apply
    monkeypatch.setattr(_Writer, "apply", broken)
    _change(fakes, _listing(105, "尾矿库安全评价"), db)
    result = process_queue()
    assert (result.indexed, result.deferred) == (0, 1)
    assert queue_length() == 1
    assert store.existing_keys([("listing", 105)]) == {("listing", 105)}
    monkeypatch.setattr(_Writer, "apply", real)
    assert process_queue().indexed == 1
    assert queue_length() == 0
    assert ("listing", 105) in keys(search("尾矿库"))


def test_a_change_enqueued_while_processing_is_not_lost(corpus, fakes, db):
    doc = _listing(106, "尾矿库安全评价")
    fakes["listing"].put(doc)
    enqueue("listing", 106)
    db.session.commit()
    provider = fakes["listing"]
    real = provider.document_for

    def racing(doc_id):
        # Another transaction re-enqueues the document after we read the entry.
        db.session.execute(
            sa.update(SearchQueueEntry).values(version=SearchQueueEntry.version + 1)
        )
        return real(doc_id)

    provider.document_for = racing
    process_queue()
    assert queue_length() == 1  # the newer version stays for the next run
    provider.document_for = real
    process_queue()
    assert queue_length() == 0


def test_withdrawn_listing_disappears_at_once(corpus, fakes, db, search_app):
    assert ("listing", 11) in keys(search("安全评价"))
    with search_app.test_request_context("/withdraw"):
        _change(fakes, _listing(11, "安全评价（云南安全评价有限公司）", visible=False), db)
    assert ("listing", 11) not in keys(search("安全评价"))
    assert not store.existing_keys([("listing", 11)])


def test_withdrawn_listing_is_hidden_even_before_the_queue_runs(corpus, fakes, db):
    fakes["listing"].docs.pop(11)
    enqueue("listing", 11)
    db.session.commit()  # the hook has not run: the index still has the listing
    assert ("listing", 11) not in keys(search("安全评价"))


def test_withdrawn_listing_is_hidden_when_the_index_write_failed(corpus, fakes, db, monkeypatch):
    monkeypatch.setattr(_Writer, "apply", lambda self, u, d: (_ for _ in ()).throw(BackendUnavailable("x")))
    fakes["listing"].docs.pop(11)
    enqueue("listing", 11)
    db.session.commit()
    process_queue()
    assert queue_length() == 1
    outcome = search("安全评价")
    assert outcome.backend == "whoosh"
    assert ("listing", 11) not in keys(outcome)


def test_time_hidden_listing_is_filtered_at_query_time(corpus, fakes):
    fakes["listing"].hidden_now.add(12)  # e.g. its qualification expired at midnight
    assert ("listing", 12) not in keys(search("安全评价"))


def test_entries_without_a_provider_stay_queued(corpus, fakes, db, search_app):
    from marketplace.search.documents import register_provider, unregister_provider

    unregister_provider("announcement", app=search_app)
    enqueue("announcement", 500)
    db.session.commit()
    result = process_queue()
    assert result.skipped == 1 and queue_length() == 1
    register_provider(fakes["announcement"], app=search_app)
    assert process_queue().removed == 1
    assert queue_length() == 0


def test_job_processes_leftovers(corpus, fakes, db):
    from marketplace.jobs.registry import all_jobs
    from marketplace.jobs.runner import run_once

    assert "search.process_queue" in {job.name for job in all_jobs()}
    fakes["listing"].put(_listing(107, "尾矿库安全评价"))
    enqueue("listing", 107)
    db.session.commit()
    db.session.info.clear()  # as if the post-request hook never ran (the worker died)
    assert run_once(only="search.process_queue") == {"search.process_queue": 1}
    assert ("listing", 107) in keys(search("尾矿库"))


def test_cli_reindex_status_and_process_queue(corpus, fakes, db, search_app):
    runner = search_app.test_cli_runner()
    fakes["agency"].put(SearchDocument(doc_type="agency", doc_id=108, title="尾矿库评价中心"))
    fakes["listing"].docs.pop(11)
    result: Result = runner.invoke(args=["search", "reindex"])
    assert result.exit_code == 0, result.output
    assert "agency: 6 documents" in result.output
    assert ("agency", 108) in keys(search("尾矿库"))
    assert ("listing", 11) not in keys(search("安全评价"))
    assert store.count_documents() == len(corpus) - 1 - 1 + 1  # one hidden, one removed, one new
    result = runner.invoke(args=["search", "status"])
    assert result.exit_code == 0 and "queued changes: 0" in result.output
    result = runner.invoke(args=["search", "process-queue"])
    assert result.exit_code == 0 and "indexed 0" in result.output


def test_queue_works_with_the_postgres_backend_too(corpus, fakes, db, backend_name, search_app):
    with search_app.test_request_context("/x"):
        _change(fakes, _listing(109, "尾矿库安全评价"), db)
    assert queue_length() == 0
    assert ("listing", 109) in keys(search("尾矿库"))
    with search_app.test_request_context("/x"):
        _change(fakes, _listing(109, "尾矿库安全评价", visible=False), db)
    assert keys(search("尾矿库")) == set()
    assert get_backend().name == backend_name
