"""The delivery lifecycle: in_progress → submitted → (revision_requested → submitted …) → accepted;
and an extension proposal: proposed → agreed | declined | withdrawn."""

from __future__ import annotations

from marketplace.core.states import StateMachine
from marketplace.delivery.models import DeliveryStatus, ExtensionStatus

D = DeliveryStatus
E = ExtensionStatus

DELIVERY_TRANSITIONS = {
    D.IN_PROGRESS: {D.SUBMITTED},
    D.SUBMITTED: {D.REVISION_REQUESTED, D.ACCEPTED},
    D.REVISION_REQUESTED: {D.SUBMITTED},
    D.ACCEPTED: set(),
}

EXTENSION_TRANSITIONS = {
    E.PROPOSED: {E.AGREED, E.DECLINED, E.WITHDRAWN},
    E.AGREED: set(),
    E.DECLINED: set(),
    E.WITHDRAWN: set(),
}

DELIVERY_MACHINE = StateMachine(DeliveryStatus, DELIVERY_TRANSITIONS, audit_type="delivery")
EXTENSION_MACHINE = StateMachine(ExtensionStatus, EXTENSION_TRANSITIONS, audit_type="delivery_extension")
