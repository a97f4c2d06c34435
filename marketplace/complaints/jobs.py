"""The complaints job: unanswered objections escalate, lapsed ones close, overdue complaints are flagged."""

from __future__ import annotations

import logging

from marketplace.complaints import services
from marketplace.complaints.models import Objection
from marketplace.core.errors import DomainError
from marketplace.extensions import db
from marketplace.jobs.registry import job

log = logging.getLogger(__name__)


@job("complaints.deadlines", order=30,
     description="escalate unanswered objections, close lapsed ones, flag overdue complaints")
def run_complaint_deadlines(now) -> int:
    """Enforce every objection and complaint deadline due by ``now``.

    - a submitted objection past its answer deadline is escalated to the regulator;
    - an answered objection past its escalation period is resolved (the answer stands);
    - an open objection whose contested award no longer stands is closed;
    - an open complaint past its acceptance or decision deadline is reported to the responsible
      regulators (once per stage; it shows as overdue on their work list meanwhile).

    Idempotent: the state machine refuses a second move and notifications are de-duplicated.
    Each objection commits on its own. Returns how many objections moved plus reminders sent.
    """
    changed = 0
    for ids, action in ((services.moot_objection_ids(), "moot"),
                        (services.unanswered_objection_ids(now), "escalate"),
                        (services.lapsed_objection_ids(now), "resolve")):
        for objection_id in ids:
            obj = db.session.get(Objection, objection_id, populate_existing=True)
            try:
                if action == "moot":
                    services.close_moot_objection(obj, now=now)
                elif action == "escalate":
                    services.escalate_objection(obj, actor=services.JOB, now=now)
                else:
                    services.accept_answer(obj, actor=services.JOB, now=now)
                db.session.commit()
                changed += 1
            except DomainError as exc:
                db.session.rollback()
                log.info("complaints job skipped objection %s: %s", objection_id, exc)
    for complaint in services.overdue_complaints(now):
        if services.remind_overdue(complaint):
            changed += 1
    return changed
