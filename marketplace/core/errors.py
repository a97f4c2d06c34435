"""Domain errors: raised by services, shown to users as translated messages."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the action. ``message`` is already translated (lazy)."""

    http_status = 400

    def __init__(self, message, *, field: str | None = None):
        super().__init__(str(message))
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class PermissionDenied(DomainError):
    """The actor may not do this."""

    http_status = 403


class NotFound(DomainError):
    """The object does not exist or is not visible to the actor."""

    http_status = 404


class InvalidTransition(DomainError):
    """A state machine refused a move."""

    http_status = 409


class ConcurrentUpdate(DomainError):
    """Someone else changed the object first."""

    http_status = 409
