"""``flask audit ...``: verify the chain, sign a checkpoint."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

audit_cli = AppGroup("audit", help="The tamper-evident audit chain.")


@audit_cli.command("verify")
@click.option(
    "--checkpoints", "checkpoints_file", type=click.Path(exists=True, dir_okay=False),
    help="A saved copy of /audit/checkpoints.json to check against (default: the database's).",
)
def verify(checkpoints_file: str | None) -> None:
    """Recompute every hash and check the signed checkpoints; name the first bad event."""
    from marketplace.audit.services import verify_chain

    published = None
    if checkpoints_file:
        with open(checkpoints_file, encoding="utf-8") as fh:
            published = json.load(fh)["checkpoints"]
    result = verify_chain(published)
    if result.ok:
        click.echo(
            f"OK: {result.events_checked} events, {result.checkpoints_checked} checkpoints verified."
        )
        if result.uncovered:
            click.echo(
                f"WARNING: the last {result.uncovered} events are covered by no signed checkpoint; "
                "removing or rewriting them would be detected only through the chain head row. "
                "Run `flask audit checkpoint`."
            )
        else:
            click.echo("Every event is covered by a signed checkpoint.")
        return
    click.echo(f"BROKEN at event {result.first_bad_seq}: {result.problem}", err=True)
    sys.exit(1)


@audit_cli.command("checkpoint")
def checkpoint() -> None:
    """Sign the current head now."""
    from marketplace.audit.services import create_checkpoint
    from marketplace.extensions import db

    cp = create_checkpoint()
    db.session.commit()
    click.echo(f"checkpoint at {cp.seq}: {cp.head_hash}" if cp else "nothing new to checkpoint")
