"""The notifications' job: send the queued e-mails."""

from __future__ import annotations

from marketplace.jobs.registry import Job, register
from marketplace.notifications.services import send_pending_email

register(Job("notifications.email", send_pending_email, "send queued e-mails (when MAIL_ENABLED)", order=120))
