"""Search jobs."""

from __future__ import annotations

from marketplace.jobs.registry import job
from marketplace.search.indexing import check_index, process_queue, rebuild_index


@job("search.process_queue", order=140,
     description="index queued search changes; rebuild a damaged index")
def process_search_queue(now) -> int:
    """Rebuild a missing or damaged index, then index every change still queued."""
    if not check_index():
        rebuild_index()
    return process_queue(limit=500).processed
