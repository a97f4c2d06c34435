"""The credit ledger, incremental scores, their recomputation and the public views of them.

This module is the package's public façade: callers (other domains, views, API, CLI, jobs,
tests) import ``marketplace.credit.services``; the rules live in concept modules re-exported here:

- ``dates``: today in China and calendar-month arithmetic (``china_today``, ``add_months``);
- ``scoring``: the running aggregates and their optimistic, retried update with history rows;
- ``ledger``: recording inputs (``record_credit_input``) and cancelling them (expiry, reversal);
- ``scores``: reading scores and grades, the red list, agencies near a grade threshold;
- ``explanation``: the "why this score" page (``explain``), entry subjects, rating tallies;
- ``triggers``: what the sanctions triggers read (grades, streaks, live counts, evidence);
- ``recompute``: decay, a new formula version, folding the ledger again to check and repair.

Other domains record facts with :func:`record_credit_input` inside their own transaction (it
flushes, never commits). Each input updates the agency's running aggregates in the same
transaction, guarded by a conditional UPDATE on the row's ``version``, and writes one history
row and one audit event. ``recompute`` folds the whole ledger again and compares.
"""

from __future__ import annotations

from marketplace.credit.dates import (  # noqa: F401
    SHANGHAI,
    add_months,
    china_today,
)
from marketplace.credit.explanation import (  # noqa: F401
    _SUBJECT_REFS,
    EntryView,
    Explanation,
    RatingTally,
    Subject,
    entry_subject,
    explain,
    history_for,
    inputs_for,
    rating_tallies,
)
from marketplace.credit.ledger import (  # noqa: F401
    FUTURE_TOLERANCE,
    Ref,
    _agency_id,
    _centi,
    _checked_value,
    _clean_refs,
    _not_cancelled,
    cancel_credit_input,
    record_credit_input,
    reverse_inputs_for,
)
from marketplace.credit.recompute import (  # noqa: F401
    Difference,
    _describe,
    check_scores,
    expire_inputs,
    ledger_aggregates,
    recompute_scores,
    refresh_formula,
)
from marketplace.credit.scores import (  # noqa: F401
    CreditSummary,
    credit_for,
    credit_grade_for,
    credit_grades_for,
    credit_score_for,
    credit_scores_for,
    get_agency,
    near_threshold,
    observed_market_mean,
    published_formulas,
    red_list,
    score_row,
)
from marketplace.credit.scoring import (  # noqa: F401
    UPDATE_ATTEMPTS,
    _apply_entry,
    _ensure_row,
    _entry_delta,
    _history,
    _load_row,
    _write_row,
)
from marketplace.credit.triggers import (  # noqa: F401
    agencies_with_grade,
    grade_streak_start,
    live_counts_since,
    live_input_refs,
)
