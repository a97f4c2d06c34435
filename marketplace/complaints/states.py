"""The lifecycles of objections and complaints, and who may make each move.

Objection (质疑): draft → submitted (objector) → answered (enterprise) → resolved (objector
accepts, or the job when the escalation period ends) | escalated (objector). A submitted
objection whose answer deadline passed is escalated by the objector or, at the latest, by the job
(submitted → escalated). An open objection whose contested award no longer stands (it passed on,
or the request was cancelled) is closed by the job (submitted | answered → resolved).

Complaint (投诉): submitted → accepted | rejected (regulator, with a reason) | withdrawn
(complainant); accepted → upheld | dismissed (regulator) | withdrawn (complainant).
"""

from __future__ import annotations

from marketplace.complaints.models import ComplaintStatus, ObjectionStatus
from marketplace.core.states import StateMachine

O = ObjectionStatus  # noqa: E741
C = ComplaintStatus

OBJECTION_TRANSITIONS = {
    O.DRAFT: {O.SUBMITTED},
    O.SUBMITTED: {O.ANSWERED, O.ESCALATED, O.RESOLVED},
    O.ANSWERED: {O.RESOLVED, O.ESCALATED},
    O.RESOLVED: set(),
    O.ESCALATED: set(),
}

COMPLAINT_TRANSITIONS = {
    C.SUBMITTED: {C.ACCEPTED, C.REJECTED, C.WITHDRAWN},
    C.ACCEPTED: {C.UPHELD, C.DISMISSED, C.WITHDRAWN},
    C.REJECTED: set(),
    C.UPHELD: set(),
    C.DISMISSED: set(),
    C.WITHDRAWN: set(),
}

# Who makes each move: "objector", "enterprise", "complainant", "regulator" or "job".
OBJECTION_ACTORS = {
    (O.DRAFT, O.SUBMITTED): {"objector"},
    (O.SUBMITTED, O.ANSWERED): {"enterprise"},
    (O.SUBMITTED, O.ESCALATED): {"objector", "job"},
    (O.SUBMITTED, O.RESOLVED): {"job"},
    (O.ANSWERED, O.RESOLVED): {"objector", "job"},
    (O.ANSWERED, O.ESCALATED): {"objector"},
}
COMPLAINT_ACTORS = {
    (C.SUBMITTED, C.ACCEPTED): {"regulator"},
    (C.SUBMITTED, C.REJECTED): {"regulator"},
    (C.SUBMITTED, C.WITHDRAWN): {"complainant"},
    (C.ACCEPTED, C.UPHELD): {"regulator"},
    (C.ACCEPTED, C.DISMISSED): {"regulator"},
    (C.ACCEPTED, C.WITHDRAWN): {"complainant"},
}

OBJECTION_MACHINE = StateMachine(ObjectionStatus, OBJECTION_TRANSITIONS, audit_type="objection")
COMPLAINT_MACHINE = StateMachine(ComplaintStatus, COMPLAINT_TRANSITIONS, audit_type="complaint")
