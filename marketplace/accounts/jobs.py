"""The accounts' job: forget the sign-in counts of ended windows."""

from __future__ import annotations

from marketplace.accounts.throttle import prune_login_attempts
from marketplace.jobs.registry import Job, register

register(Job("accounts.login_attempts", prune_login_attempts,
             "delete the sign-in counts of ended windows (the limit kept in the database without Redis)",
             order=150))
