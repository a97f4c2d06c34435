"""The contract lifecycle: drafting → awaiting_signatures → in_force → completed | terminated;
refused when the agency does not sign by the deadline."""

from __future__ import annotations

from marketplace.contracts.models import ContractStatus, TerminationStatus
from marketplace.core.states import StateMachine

C = ContractStatus

CONTRACT_TRANSITIONS = {
    C.DRAFTING: {C.AWAITING_SIGNATURES},
    C.AWAITING_SIGNATURES: {C.IN_FORCE, C.REFUSED, C.TERMINATED},
    C.IN_FORCE: {C.COMPLETED, C.TERMINATED},
    C.REFUSED: set(),
    C.TERMINATED: set(),
    C.COMPLETED: set(),
}

CONTRACT_MACHINE = StateMachine(ContractStatus, CONTRACT_TRANSITIONS, audit_type="contract")

T = TerminationStatus

TERMINATION_TRANSITIONS = {
    T.PROPOSED: {T.AGREED, T.DECLINED, T.WITHDRAWN},
    T.AGREED: set(),
    T.DECLINED: set(),
    T.WITHDRAWN: set(),
    T.DECLARED: set(),
}

TERMINATION_MACHINE = StateMachine(TerminationStatus, TERMINATION_TRANSITIONS,
                                   audit_type="contract_termination")
