"""Running the jobs: each in its own transaction, one failure does not stop the others."""

from __future__ import annotations

import logging

from marketplace.core.db import utcnow
from marketplace.extensions import db
from marketplace.jobs.registry import all_jobs

log = logging.getLogger(__name__)


def run_once(now=None, only: str | None = None) -> dict[str, int | str]:
    """Run every job once (or only one); returns what each did."""
    now = now or utcnow()
    results: dict[str, int | str] = {}
    for job in all_jobs():
        if only and job.name != only:
            continue
        try:
            results[job.name] = job.func(now) or 0
            db.session.commit()
        except Exception as exc:  # noqa: BLE001 - a failing job must not stop the others
            db.session.rollback()
            log.exception("job %s failed", job.name)
            results[job.name] = f"error: {exc}"
    return results
