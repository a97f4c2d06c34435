"""The list of periodic jobs. Each is idempotent and catches up on anything overdue.

The registry knows no domain: each domain declares its own jobs in its ``jobs.py`` with
:func:`job` (or :func:`register`), and ``marketplace.setup.register_jobs`` imports those modules
when the app is built, so the list is explicit in one place. ``order`` fixes the running order
(complaints before procurement, so an objection escalated at its deadline stops the award
becoming final in the same run); :func:`all_jobs` sorts by it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Job:
    """A named, idempotent job function taking ``now`` (aware UTC) and returning a count."""

    name: str
    func: Callable
    description: str
    order: int = 1000


# Filled once per process, at start-up, by the imports in ``setup.register_jobs`` (like the
# notification kinds); never changed afterwards.
_jobs: dict[str, Job] = {}


def register(entry: Job) -> Job:
    """Add ``entry`` to the list (again under the same name replaces it: imports may repeat)."""
    _jobs[entry.name] = entry
    return entry


def job(name: str, *, order: int, description: str) -> Callable[[Callable], Callable]:
    """Decorator form of :func:`register` for a domain's job function."""

    def decorate(func: Callable) -> Callable:
        register(Job(name, func, description, order))
        return func

    return decorate


def all_jobs() -> list[Job]:
    """Every registered job, in the order they run."""
    return sorted(_jobs.values(), key=lambda entry: (entry.order, entry.name))
