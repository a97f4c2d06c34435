"""Objections (质疑), complaints (投诉) and service complaints: the package's public services.

This module is the façade: other domains, the views, the API, the job and the tests import
``marketplace.complaints.services``; the rules live in the concept modules it re-exports:

- ``objections``: filing, submitting, answering, accepting and escalating an objection to an
  award, and closing one whose award no longer stands;
- ``handling``: a complaint before the regulator: filed, accepted or rejected, decided (the
  remedy for the award, the credit input), withdrawn;
- ``service_complaints``: complaints about the conduct of the agency selected on a request;
- ``routing``: which regulator department handles a complaint, and the administrator's routes;
- ``deadlines``: working-day periods ending at 24:00 Beijing time, and the job's queries;
- ``award_hold``: the ``objection_check`` hook that keeps an award from becoming final;
- ``reading``: who may see what, the request's and the organisation's lists, the work list;
- ``events``: the webhook events; ``_common``: notification kinds, links, evidence files.

Services flush and never commit; every status change goes through ``states`` (a conditional
UPDATE plus the audit event).
"""

from __future__ import annotations

from marketplace.complaints._common import (  # noqa: F401
    EVIDENCE_PURPOSE,
    JOB,
    OFFICIAL_ROLES,
    is_official,
)
from marketplace.complaints.award_hold import has_open_case  # noqa: F401
from marketplace.complaints.deadlines import (  # noqa: F401
    SHANGHAI,
    china_date,
    china_text,
    deadline_after,
    lapsed_objection_ids,
    moot_objection_ids,
    overdue_complaints,
    remind_overdue,
    unanswered_objection_ids,
)
from marketplace.complaints.handling import (  # noqa: F401
    accept_complaint,
    decide_complaint,
    may_handle,
    reject_complaint,
    withdraw_complaint,
)
from marketplace.complaints.objections import (  # noqa: F401
    accept_answer,
    answer_objection,
    can_answer,
    can_escalate,
    close_moot_objection,
    escalate_objection,
    file_objection,
    live_objection,
    objection_period_open,
    objection_problems,
    submit_objection,
)
from marketplace.complaints.reading import (  # noqa: F401
    Task,
    WorkItem,
    can_view_complaint,
    can_view_objection,
    complaints_of_request,
    get_complaint_for,
    get_evidence_for,
    get_objection_for,
    mine,
    objections_of_request,
    public_outcomes,
    recent_decisions,
    tasks_for,
    worklist,
)
from marketplace.complaints.routing import (  # noqa: F401
    regulator_departments,
    responsible_regulators,
    route_for,
    routes,
    set_route,
)
from marketplace.complaints.service_complaints import (  # noqa: F401
    file_service_complaint,
    service_complaint_problems,
)
