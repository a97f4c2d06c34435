"""The state-machine helper every lifecycle uses."""

from __future__ import annotations

import enum
from collections.abc import Mapping

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from marketplace.core.errors import ConcurrentUpdate, InvalidTransition


class StateMachine:
    """A transition table for one ``StrEnum`` of statuses.

    ``transition`` is the only code that assigns a status. It performs a conditional
    ``UPDATE ... WHERE id = :id AND status = :expected`` and checks the row count, so two
    concurrent moves from the same state give exactly one winner on SQLite and PostgreSQL.
    """

    def __init__(self, status_enum: type[enum.Enum], transitions: Mapping, *, audit_type: str):
        self.status_enum = status_enum
        self.transitions = {k: frozenset(v) for k, v in transitions.items()}
        self.audit_type = audit_type
        missing = set(status_enum) - set(self.transitions)
        if missing:
            raise ValueError(f"statuses without a transition entry: {missing}")

    def can(self, current, target) -> bool:
        """Whether the table allows moving from ``current`` to ``target``."""
        return target in self.transitions.get(current, frozenset())

    def transition(self, obj, target, *, actor, reason: str | None = None, payload=None):
        """Move ``obj`` to ``target``, guarded against races, and write the audit event.

        Raises:
            InvalidTransition: the table does not allow the move.
            ConcurrentUpdate: another transaction moved the object first.
        """
        from marketplace.audit.services import record_event
        from marketplace.extensions import db

        current = obj.status
        if not self.can(current, target):
            raise InvalidTransition(
                _l(
                    "This action is not possible while the status is “%(status)s”.",
                    status=getattr(current, "label", current),
                )
            )
        model = type(obj)
        db.session.flush()
        result = db.session.execute(
            sa.update(model)
            .where(model.id == obj.id, model.status == current)
            .values(status=target)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:
            db.session.rollback()
            raise ConcurrentUpdate(_l("Someone else changed this record first. Please reload."))
        # Keep the in-memory object in step without reloading it.
        obj.__dict__["status"] = target
        data = {"from": str(current), "to": str(target)}
        if reason:
            data["reason"] = reason
        if payload:
            data.update(payload)
        record_event(f"{self.audit_type}.{target}", obj, actor=actor, payload=data)
        return obj
