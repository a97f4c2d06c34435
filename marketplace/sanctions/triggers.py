"""The automatic triggers: rules that open a proposal for regulators, never a sanction.

Thresholds come from the configuration (``SANCTION_TRIGGER_*``); a threshold of 0 (or an empty
grade) switches a rule off. Each proposal carries a key naming the facts that fired it, so the
job opens it once: the same facts never open a second proposal, newer facts may.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from marketplace.sanctions.models import SanctionCase, SanctionKind


@dataclass(frozen=True)
class Trigger:
    """One automatic rule: the sanction it proposes, on which ground, for how long."""

    code: str
    kind: SanctionKind
    ground_code: str
    period_days: int | None
    title: object
    description: object  # filled with the case's trigger parameters


TRIGGERS: dict[str, Trigger] = {
    t.code: t for t in (
        Trigger("credit_grade", SanctionKind.WARNING, "low_credit_grade", 180,
                _l("Credit grade at the threshold"),
                _l("The credit grade fell to %(grade)s (score %(score)s).")),
        Trigger("complaints", SanctionKind.SUSPENSION, "upheld_complaints", 90,
                _l("Repeated upheld complaints"),
                _l("%(count)s complaints were upheld within %(days)s days (threshold %(threshold)s).")),
        Trigger("refusals", SanctionKind.SUSPENSION, "refusing_to_sign", 90,
                _l("Repeated refusals to sign"),
                _l("%(count)s refusals to sign within %(days)s days (threshold %(threshold)s).")),
    )
}


def describe(case: SanctionCase) -> str:
    """What fired an automatic proposal, in the reader's language ("" for a regulator's own)."""
    trigger = TRIGGERS.get(case.trigger_code or "")
    if trigger is None:
        return ""
    text = str(trigger.description)
    try:
        return text % case.params
    except (KeyError, TypeError, ValueError):
        return str(trigger.title)
