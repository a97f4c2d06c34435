"""The lifecycles of an inspection plan and of each inspection.

Plan: draft → drawn (the seeds are revealed and the samples fixed) → published (every result is
recorded; the results are public and the plan is closed); a draft may be cancelled. A drawn plan
cannot be cancelled: drawing again until the sample suits someone is what the draw prevents.

Inspection: pending → passed | problems | referred (final once recorded).
"""

from __future__ import annotations

from marketplace.core.states import StateMachine
from marketplace.inspections.models import InspectionStatus, PlanStatus

P, S = PlanStatus, InspectionStatus

PLAN_TRANSITIONS = {
    P.DRAFT: {P.DRAWN, P.CANCELLED},
    P.DRAWN: {P.PUBLISHED},
    P.PUBLISHED: set(),
    P.CANCELLED: set(),
}

INSPECTION_TRANSITIONS = {
    S.PENDING: {S.PASSED, S.PROBLEMS, S.REFERRED},
    S.PASSED: set(),
    S.PROBLEMS: set(),
    S.REFERRED: set(),
}

PLAN_MACHINE = StateMachine(PlanStatus, PLAN_TRANSITIONS, audit_type="inspection_plan")
INSPECTION_MACHINE = StateMachine(InspectionStatus, INSPECTION_TRANSITIONS, audit_type="inspection")
