"""The lifecycle of an independence flag: active → lifted (by a regulator, with a reason).

A flag is raised active; lifting it ends the bar. A lifted flag stays on record; a new finding
is a new flag.
"""

from __future__ import annotations

from marketplace.core.states import StateMachine
from marketplace.independence.models import FlagStatus

TRANSITIONS = {
    FlagStatus.ACTIVE: {FlagStatus.LIFTED},
    FlagStatus.LIFTED: set(),
}

FLAG_MACHINE = StateMachine(FlagStatus, TRANSITIONS, audit_type="independence_flag")
