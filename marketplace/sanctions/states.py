"""The lifecycles of sanction cases and credit-repair requests.

Sanction case: proposed → notified (response period) → decided | withdrawn; a warning may be
decided straight from proposed. decided → appealed (once) → upheld | shortened | revoked.
Whether a decided sanction is *in force* is not a status: ``eligibility`` computes it from the
start and end dates and the repair date, so a suspension ends by itself.

Repair request: pending → approved | rejected.
"""

from __future__ import annotations

from marketplace.core.states import StateMachine
from marketplace.sanctions.models import RepairStatus, SanctionStatus

S = SanctionStatus

TRANSITIONS = {
    S.PROPOSED: {S.NOTIFIED, S.DECIDED, S.WITHDRAWN},
    S.NOTIFIED: {S.DECIDED, S.WITHDRAWN},
    S.DECIDED: {S.APPEALED},
    S.APPEALED: {S.UPHELD, S.SHORTENED, S.REVOKED},
    S.WITHDRAWN: set(),
    S.UPHELD: set(),
    S.SHORTENED: set(),
    S.REVOKED: set(),
}

REPAIR_TRANSITIONS = {
    RepairStatus.PENDING: {RepairStatus.APPROVED, RepairStatus.REJECTED},
    RepairStatus.APPROVED: set(),
    RepairStatus.REJECTED: set(),
}

SANCTION_MACHINE = StateMachine(SanctionStatus, TRANSITIONS, audit_type="sanction_case")
REPAIR_MACHINE = StateMachine(RepairStatus, REPAIR_TRANSITIONS, audit_type="sanction_repair")
