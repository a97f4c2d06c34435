"""The agencies' job: rebuild the public lists' stored visibility for the new day."""

from __future__ import annotations

from marketplace.agencies.visibility import refresh_for_today
from marketplace.jobs.registry import Job, register

register(Job("agencies.visibility", refresh_for_today,
             "rebuild the public lists' visibility for the new day (after midnight in China)", order=10))
