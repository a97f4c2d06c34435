"""The embedded back-end: a Whoosh-Reloaded index under ``instance/search_index``.

Searching reads Whoosh's postings into numpy arrays and scores them in bulk
(:mod:`whoosh_scoring`): Whoosh's own matchers, one posting at a time in Python, took 140 ms for
a common word in 100,000 listings.

Writes (queue batches and rebuilds) take an exclusive ``flock`` on ``search_index.lock``, so a
rebuild never loses a change applied while it ran. A rebuild builds a fresh directory and swaps
it in. Any failure to open or read the index marks it for rebuilding (``search_index.rebuild``)
and raises :class:`BackendUnavailable`, so the caller falls back to the database.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import io
import logging
import os
import secrets
import shutil
import threading
import time
import traceback
import warnings
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

from whoosh import fields, index
from whoosh.filedb.structfile import StructFile

from marketplace.search.analysis import ParsedQuery, jieba_analyzer
from marketplace.search.backends import BackendResult, BackendUnavailable, Hit, SearchFilters
from marketplace.search.backends.whoosh_scoring import SEP, VectorScorer
from marketplace.search.documents import SearchDocument

log = logging.getLogger(__name__)

NO_FEE = 2**47 - 1
FILTER_FIELDS = {
    "doc_type": "doc_type", "category": "category", "region_code": "region_code",
    "qualification": "quals", "credit_grade": "credit_grade", "fee": "fee_bucket",
    "time": "time_bucket",
}


def make_schema() -> fields.Schema:
    """The index schema. Changing it makes old indexes unreadable: they are then rebuilt."""
    analyzer = jieba_analyzer()
    return fields.Schema(
        key=fields.ID(unique=True, stored=True),
        title=fields.TEXT(analyzer=analyzer, stored=True, phrase=False, field_boost=2.0),
        body=fields.TEXT(analyzer=analyzer, stored=True, phrase=False),
        doc_type=fields.ID,
        category=fields.ID,
        region_code=fields.ID,
        quals=fields.KEYWORD(commas=True, lowercase=False, scorable=False),
        credit_grade=fields.ID,
        fee_bucket=fields.ID,
        time_bucket=fields.ID,
        # All facet values of a document in one column: one lookup per hit for every facet.
        facets=fields.ID(sortable=True),
        # Tie-break after relevance: credit rank, then fee (fen), packed into one integer.
        tiebreak=fields.NUMERIC(bits=64, signed=False, sortable=True),
        data=fields.STORED,
    )


def _fields(doc: SearchDocument) -> dict:
    fee = NO_FEE if doc.fee_min_fen is None else min(max(doc.fee_min_fen, 0), NO_FEE)
    packed = SEP.join(
        [doc.doc_type, doc.category or "", doc.region_code or "", doc.credit_grade or "",
         doc.fee_bucket or "", doc.time_bucket or "", "|".join(doc.qualification_types)]
    )
    values = {
        # The body field also indexes the keywords, but stores the body alone.
        "key": doc.key, "title": doc.title, "body": f"{doc.body}\n{doc.keywords}",
        "_stored_body": doc.body, "doc_type": doc.doc_type,
        "facets": packed, "tiebreak": (doc.credit_rank << 47) | fee,
        "data": {
            "url": doc.url, "category": doc.category, "region_code": doc.region_code,
            "quals": doc.qualification_types, "credit_grade": doc.credit_grade,
            "fee_min_fen": doc.fee_min_fen, "fee_max_fen": doc.fee_max_fen,
            "time_limit_days": doc.time_limit_days,
        },
    }
    for name, field in (("category", "category"), ("region_code", "region_code"),
                        ("credit_grade", "credit_grade"), ("fee_bucket", "fee_bucket"),
                        ("time_bucket", "time_bucket")):
        value = getattr(doc, name)
        if value:
            values[field] = value
    if doc.qualification_types:
        values["quals"] = ",".join(doc.qualification_types)
    return values


def release_damaged(exc: BaseException) -> None:
    """Close the files a failed Whoosh call left open (it does not close a damaged TOC file
    itself), quietly: the failure is already being reported."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        tb = exc.__traceback__
        while tb is not None:
            for value in list(tb.tb_frame.f_locals.values()):
                if isinstance(value, StructFile | io.IOBase):
                    with contextlib.suppress(Exception):
                        value.close()
            tb = tb.tb_next
        traceback.clear_frames(exc.__traceback__)
        gc.collect()


class _Writer:
    def __init__(self, backend: WhooshBackend):
        self.backend = backend

    def apply(self, upserts: list[SearchDocument], deletes: list[tuple[str, int]]) -> None:
        if not upserts and not deletes:
            return
        backend = self.backend
        try:
            ix = index.open_dir(backend.index_dir)
            writer = ix.writer(timeout=5.0)
        except Exception as exc:
            release_damaged(exc)
            backend.mark_rebuild(f"cannot open the index for writing: {exc!r}")
            raise BackendUnavailable("index cannot be written") from exc
        try:
            for doc_type, doc_id in deletes:
                writer.delete_by_term("key", f"{doc_type}:{doc_id}")
            for doc in upserts:
                writer.update_document(**_fields(doc))
            writer.commit()
        except Exception as exc:
            writer.cancel()
            release_damaged(exc)
            backend.mark_rebuild(f"write failed: {exc!r}")
            raise BackendUnavailable("index write failed") from exc


class WhooshBackend:
    """Whoosh-Reloaded with the rjieba analyzer; BM25F relevance."""

    name = "whoosh"
    keeps_own_index = True

    def __init__(self, index_dir: str):
        self.index_dir = index_dir
        self.lock_path = index_dir + ".lock"
        self.marker_path = index_dir + ".rebuild"
        self._local = threading.local()
        self._scorer = VectorScorer()

    # -- state of the index
    def needs_rebuild(self) -> bool:
        return os.path.exists(self.marker_path) or not self._has_toc()

    def _has_toc(self) -> bool:
        # Not whoosh.index.exists_in: it opens the index and raises on a damaged one.
        try:
            return any(n.startswith("_MAIN_") and n.endswith(".toc") for n in os.listdir(self.index_dir))
        except OSError:
            return False

    def mark_rebuild(self, reason: str) -> None:
        """Record that the index must be rebuilt (seen by every process on this machine)."""
        log.error("search index %s needs rebuilding: %s", self.index_dir, reason)
        self._forget()
        try:
            with open(self.marker_path, "w", encoding="utf-8") as fh:
                fh.write(reason[:500])
        except OSError:
            log.exception("cannot write %s", self.marker_path)

    def doc_count(self) -> int:
        """Documents in the index.

        Raises:
            BackendUnavailable: the index is missing or cannot be read.
        """
        return self._read(lambda: self._searcher().doc_count())

    def _read(self, operation):
        """Run a read; on failure retry once (a concurrent commit or swap can make a reader
        trip over a file just removed) before calling the index damaged.

        Raises:
            BackendUnavailable: it failed twice.
        """
        problem = ""
        for attempt in range(2):
            try:
                return operation()
            except Exception as exc:  # noqa: BLE001 - any failure to read is judged the same way
                self._forget()
                release_damaged(exc)
                problem = f"{exc!r}"
                if attempt == 0:
                    time.sleep(0.05)
        raise BackendUnavailable(f"index cannot be read: {problem}")

    def _forget(self) -> None:
        searcher = getattr(self._local, "searcher", None)
        if searcher is not None:
            try:
                searcher.close()
            except Exception:  # noqa: BLE001 - a damaged index may fail to close too
                log.debug("closing a damaged searcher failed", exc_info=True)
        self._local.searcher = None
        self._local.signature = None

    def _signature(self) -> tuple:
        """Names, sizes and times of the index files. Whoosh never rewrites a file in place, so
        any difference means a new generation, a swapped-in rebuild or outside damage."""
        files = []
        try:
            with os.scandir(self.index_dir) as entries:
                for entry in entries:
                    if entry.name.endswith("LOCK"):
                        continue  # writers touch their lock file: not a change of the index
                    try:
                        st = entry.stat()
                    except FileNotFoundError:
                        continue  # removed by a commit that is cleaning up old segments
                    files.append((entry.name, entry.inode(), st.st_size, st.st_mtime_ns))
        except OSError as exc:
            self._forget()
            raise BackendUnavailable("index directory is missing") from exc
        return tuple(sorted(files))

    def _searcher(self):
        """This thread's searcher, reopened whenever the index files changed."""
        signature = self._signature()
        searcher = getattr(self._local, "searcher", None)
        if searcher is None or self._local.signature != signature:
            self._forget()
            searcher = index.open_dir(self.index_dir).searcher()
        self._local.searcher = searcher
        self._local.signature = signature
        return searcher

    # -- reading
    def search(self, query: ParsedQuery, filters: SearchFilters, *, offset: int, limit: int,
               facets: bool = True) -> BackendResult:
        if os.path.exists(self.marker_path):
            raise BackendUnavailable("index is waiting to be rebuilt")
        try:
            return self._read(
                lambda: self._search(query, filters, offset=offset, limit=limit, facets=facets)
            )
        except BackendUnavailable as exc:
            self.mark_rebuild(str(exc))
            raise

    def _search(self, query, filters, *, offset, limit, facets) -> BackendResult:
        searcher = self._searcher()
        evaluation = self._scorer.evaluate(
            searcher, query, self._filters(filters), k=offset + limit, facets=facets
        )
        hits = []
        for docnum, score in evaluation.ranked[offset:]:
            stored = searcher.stored_fields(docnum)
            data = stored["data"]
            doc_type, doc_id = stored["key"].split(":", 1)
            hits.append(Hit(
                doc_type=doc_type, doc_id=int(doc_id), title=stored.get("title", ""),
                body=stored.get("body", ""), url=data["url"], score=score,
                category=data["category"], region_code=data["region_code"],
                qualification_types=list(data["quals"]), credit_grade=data["credit_grade"],
                fee_min_fen=data["fee_min_fen"], fee_max_fen=data["fee_max_fen"],
                time_limit_days=data["time_limit_days"],
            ))
        facet_counts = evaluation.facets if facets and evaluation.total else {}
        return BackendResult(hits, evaluation.total, facet_counts)

    @staticmethod
    def _filters(filters: SearchFilters) -> dict[str, str]:
        return {FILTER_FIELDS[name]: value for name, value in filters.active().items()}

    def count(self, query: ParsedQuery, filters: SearchFilters) -> int:
        return self._read(lambda: self._scorer.evaluate(
            self._searcher(), query, self._filters(filters), k=0, facets=False
        ).total)

    # -- writing
    @contextmanager
    def _locked(self, timeout: float) -> Iterator[None]:
        deadline = time.monotonic() + timeout
        with open(self.lock_path, "a+b") as fh:
            while True:
                try:
                    fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError as exc:
                    if time.monotonic() >= deadline:
                        raise BackendUnavailable("the index is locked by another writer") from exc
                    time.sleep(0.05)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    @contextmanager
    def writing(self, lock_timeout: float) -> Iterator[_Writer]:
        with self._locked(lock_timeout):
            if self.needs_rebuild():
                raise BackendUnavailable("index is waiting to be rebuilt")
            yield _Writer(self)

    def rebuild(self, documents: Iterable[SearchDocument], *, lock_timeout: float = 0,
                limitmb: int = 256) -> int:
        """Build a new index from ``documents`` beside the old one, then swap it in."""
        parent = os.path.dirname(os.path.abspath(self.index_dir)) or "."
        os.makedirs(parent, exist_ok=True)
        with self._locked(lock_timeout):
            fresh = f"{self.index_dir}.new-{secrets.token_hex(4)}"
            os.makedirs(fresh)
            try:
                ix = index.create_in(fresh, make_schema())
                writer = ix.writer(procs=1, limitmb=limitmb)
                count = 0
                try:
                    for doc in documents:
                        writer.add_document(**_fields(doc))
                        count += 1
                except BaseException:
                    writer.cancel()
                    raise
                writer.commit()
                ix.close()
                old = None
                if os.path.lexists(self.index_dir):
                    old = f"{self.index_dir}.old-{secrets.token_hex(4)}"
                    os.rename(self.index_dir, old)
                os.rename(fresh, self.index_dir)
            except BaseException:
                shutil.rmtree(fresh, ignore_errors=True)
                raise
            if old:
                shutil.rmtree(old, ignore_errors=True)
            if os.path.exists(self.marker_path):
                os.remove(self.marker_path)
            self._forget()
        log.info("search index %s rebuilt with %d documents", self.index_dir, count)
        return count
