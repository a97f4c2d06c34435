"""The webhooks' job: push the deliveries that are due."""

from __future__ import annotations

from marketplace.jobs.registry import Job, register
from marketplace.webhooks.services import deliver_due

register(Job("webhooks.deliver", deliver_due, "push due webhook deliveries, with back-off", order=130))
