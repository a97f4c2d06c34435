"""The sanctions job: automatic triggers read the credit domain and open proposals."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from marketplace.core.errors import DomainError
from marketplace.credit import services as credit
from marketplace.credit.models import CreditInputKind
from marketplace.extensions import db
from marketplace.jobs.registry import job
from marketplace.sanctions import services
from marketplace.sanctions.eligibility import sanctioned_ids
from marketplace.sanctions.models import MAX_EVIDENCE, OPEN_STATUSES, SanctionCase
from marketplace.sanctions.triggers import TRIGGERS

log = logging.getLogger(__name__)

# What lowers a grade and arose in a concrete contract and approval case.
GRADE_INPUT_KINDS = (CreditInputKind.RATING_ENTERPRISE, CreditInputKind.RATING_APPROVAL_OFFICE,
                     CreditInputKind.OVERRUN_DAYS)


def _open_triggered() -> set[tuple[int, str]]:
    rows = db.session.execute(
        sa.select(SanctionCase.organisation_id, SanctionCase.trigger_code)
        .where(SanctionCase.status.in_(OPEN_STATUSES), SanctionCase.trigger_code.is_not(None))
    ).all()
    return {(r[0], r[1]) for r in rows}


def _used_keys(keys: list[str]) -> set[str]:
    """The proposal keys that exist already, whatever became of their proposals (a withdrawn or
    refused automatic proposal is not reopened for the same facts)."""
    rows = db.session.execute(
        sa.select(SanctionCase.trigger_key).where(SanctionCase.trigger_key.in_([k[:120] for k in keys]))
    ).scalars()
    return set(rows)


def _grade_evidence(org_id: int, since) -> list[tuple[str, str, str]]:
    """The contracts and approval cases of the newest ratings and overruns behind a low grade."""
    evidence: list[tuple[str, str, str]] = []
    for ref in credit.live_input_refs(org_id, GRADE_INPUT_KINDS, since, limit=3 * MAX_EVIDENCE):
        if ref[0] in ("contract", "approval_case") and all(ref[:2] != e[:2] for e in evidence):
            evidence.append(ref)
    return evidence[:MAX_EVIDENCE]


@job("sanctions.triggers", order=100,
     description="open sanction proposals for agencies past a trigger threshold")
def run_sanction_triggers(now) -> int:
    """Open a proposal (never a sanction) for each agency past a configured threshold.

    Idempotent: an agency with an open automatic proposal of the same rule is skipped, and the
    proposal key (rule, agency, the newest fact) is unique, so a rerun or a second runner opens
    nothing new. Agencies already suspended or blacklisted are left to the regulators.
    Returns how many proposals were opened.
    """
    cfg = current_app.config
    today = services.china_day(now)
    window = int(cfg.get("SANCTION_TRIGGER_WINDOW_DAYS", 365))
    since = now - timedelta(days=window)
    # (rule, agency, key, params, evidence); a grade's evidence is read only for a proposal to open
    candidates: list[tuple[str, int, str, dict, list | None]] = []

    grade = (cfg.get("SANCTION_TRIGGER_GRADE") or "").strip().upper()
    if grade:
        for org_id in credit.agencies_with_grade(grade):
            streak = credit.grade_streak_start(org_id, grade)
            if streak is None:
                continue
            score = credit.credit_score_for(org_id)
            candidates.append(("credit_grade", org_id, f"credit_grade:{org_id}:{streak}",
                               {"grade": grade, "score": f"{score:.2f}"}, None))
    for code, kind, setting in (("complaints", CreditInputKind.COMPLAINT_UPHELD, "SANCTION_TRIGGER_COMPLAINTS"),
                                ("refusals", CreditInputKind.SIGNING_REFUSAL, "SANCTION_TRIGGER_REFUSALS")):
        threshold = int(cfg.get(setting, 0) or 0)
        if threshold <= 0:
            continue
        for org_id, count, newest in credit.live_counts_since(kind, since):
            if count >= threshold:
                evidence = [(t, i, label) for t, i, label in credit.live_input_refs(org_id, kind, since)
                            if t in ("complaint", "contract", "approval_case")]
                candidates.append((code, org_id, f"{code}:{org_id}:{newest}",
                                   {"count": count, "days": window, "threshold": threshold}, evidence))
    if not candidates:
        return 0
    busy = _open_triggered()
    used = _used_keys([c[2] for c in candidates])
    excluded = sanctioned_ids({c[1] for c in candidates}, today)
    opened = 0
    for code, org_id, key, params, evidence in candidates:
        if (org_id, code) in busy or key[:120] in used or org_id in excluded:
            continue
        if evidence is None:
            evidence = _grade_evidence(org_id, since)
        trigger = TRIGGERS[code]
        case = services.open_system_proposal(
            org_id, trigger_code=code, trigger_key=key, kind=trigger.kind, ground_code=trigger.ground_code,
            params=params, evidence=evidence, period_days=trigger.period_days, now=now,
        )
        if case is not None:
            busy.add((org_id, code))
            opened += 1
            log.info("sanction trigger %s opened %s for agency %s", code, case.reference, org_id)
    return opened


@job("sanctions.exits", order=110,
     description="carry out the exit of blacklistings on their start day: listings, open bids, contracts")
def run_blacklist_exits(now) -> int:
    """Carry out the exit (清退) of blacklistings that came into force after their decision.

    Idempotent: each case's exit is done once (``services.start_exit``); each case commits on
    its own. Returns how many exits were carried out.
    """
    done = 0
    for case_id in services.exits_due(now):
        case = db.session.get(SanctionCase, case_id)
        try:
            if services.start_exit(case, now=now):
                done += 1
            db.session.commit()
        except DomainError:
            db.session.rollback()
            log.exception("exit of sanction case %s failed; the next run retries it", case_id)
    return done
