"""Search jobs."""

from __future__ import annotations

from marketplace.search.indexing import check_index, process_queue, rebuild_index


def process_search_queue(now) -> int:
    """Rebuild a missing or damaged index, then index every change still queued."""
    if not check_index():
        rebuild_index()
    return process_queue(limit=500).processed
