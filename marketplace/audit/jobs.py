"""Audit jobs."""

from __future__ import annotations

from marketplace.audit.services import checkpoint_due, create_checkpoint
from marketplace.jobs.registry import job


@job("audit.checkpoint", order=20, description="sign the audit chain head when due")
def checkpoint_audit_chain(now) -> int:
    """Sign a checkpoint when enough events have accumulated since the last one."""
    if checkpoint_due():
        return 1 if create_checkpoint() else 0
    return 0
