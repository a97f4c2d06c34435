"""Sanction cases: proposal, notice and response, decision, appeal, credit repair; public lists.

This module is the façade: other domains, the views, the API, the jobs and the tests import
``marketplace.sanctions.services``; the rules live in the concept modules it re-exports:

- ``proposals``: a regulator's proposal or an automatic trigger's, the notice to the agency, its
  response, the withdrawal of a proposal;
- ``decisions``: the decision by a second regulator, the credit input, the public data and webhook;
- ``exits``: the exit from the market (清退) of a blacklisting in force;
- ``appeals``: the agency's appeal and its decision by a third regulator;
- ``repair``: credit repair (信用修复) requests and their decision;
- ``public_list``: the public list (黑名单), its CSV export, an agency's listed cases;
- ``reading``: loading cases and repair requests, the regulators' queue, an agency's timeline;
- ``evidence``: the evidence of a case, checked and resolved to its records;
- ``_common``: limits, notification kinds, permissions, links, the input checks.

Every status change goes through ``states.SANCTION_MACHINE`` / ``REPAIR_MACHINE`` (a conditional
UPDATE plus an audit event). Services flush and never commit; notifications, the webhook and
the credit input are written in the caller's transaction.
"""

from __future__ import annotations

from marketplace.core.errors import DomainError  # noqa: F401  (callers catch services.DomainError)
from marketplace.sanctions._common import (  # noqa: F401
    MAX_PERIOD_DAYS,
    MAX_START_AHEAD_DAYS,
    REGULATOR_ROLES,
    china_day,
    is_regulator,
    regulators,
)
from marketplace.sanctions.appeals import (  # noqa: F401
    APPEAL_OUTCOMES,
    appeal_deadline,
    appeal_problem,
    appeal_sanction,
    can_appeal,
    decide_appeal,
)
from marketplace.sanctions.decisions import (  # noqa: F401
    decide_sanction,
    decision_problem,
    public_data,
)
from marketplace.sanctions.evidence import (  # noqa: F401
    Evidence,
    evidence_number,
    resolve_evidence,
)
from marketplace.sanctions.exits import exit_case_for, exits_due, start_exit  # noqa: F401
from marketplace.sanctions.proposals import (  # noqa: F401
    notify_agency,
    open_system_proposal,
    propose_sanction,
    respond_to_proposal,
    response_open,
    withdraw_sanction,
)
from marketplace.sanctions.public_list import (  # noqa: F401
    LIST_KINDS,
    csv_table,
    listed_cases_for,
    public_list,
    public_list_query,
    public_rows,
)
from marketplace.sanctions.reading import (  # noqa: F401
    Queue,
    TimelineItem,
    cases_for_agency,
    get_case,
    get_own_case,
    get_public_case,
    get_repair_request,
    regulator_queue,
    search_agencies,
    timeline,
)
from marketplace.sanctions.repair import (  # noqa: F401
    can_request_repair,
    decide_repair,
    request_repair,
)
