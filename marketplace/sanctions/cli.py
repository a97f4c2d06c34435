"""``flask sanctions ...``: the published grounds, the automatic triggers, who is excluded."""

from __future__ import annotations

import click
from flask.cli import AppGroup

sanctions_cli = AppGroup("sanctions", help="Sanctions: grounds, automatic triggers, exclusions.")


@sanctions_cli.command("grounds")
def grounds() -> None:
    """List the published grounds with their legal basis."""
    from marketplace.sanctions.grounds import GROUNDS

    for ground in GROUNDS:
        kinds = ",".join(sorted(k.value for k in ground.kinds))
        state = "" if ground.is_active else " (retired)"
        click.echo(f"{ground.code:22} [{kinds}]{state} {ground.title} — {ground.legal_basis}")


@sanctions_cli.command("triggers")
def triggers() -> None:
    """Run the automatic triggers now (the job does this periodically)."""
    from marketplace.core.db import utcnow
    from marketplace.extensions import db
    from marketplace.sanctions.jobs import run_sanction_triggers

    opened = run_sanction_triggers(utcnow())
    db.session.commit()
    click.echo(f"{opened} proposal(s) opened")


@sanctions_cli.command("excluded")
@click.option("--on", "day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to check (default: today in China).")
def excluded(day) -> None:
    """List the agencies suspended or blacklisted on a day."""
    import sqlalchemy as sa

    from marketplace.accounts.models import Organisation
    from marketplace.extensions import db
    from marketplace.sanctions.eligibility import sanctioned_org_ids_sql, today

    on = day.date() if day else today()
    rows = db.session.execute(
        sa.select(Organisation).where(Organisation.id.in_(sanctioned_org_ids_sql(on))).order_by(Organisation.id)
    ).scalars().all()
    for org in rows:
        click.echo(f"{org.id:8} {org.uscc} {org.name}")
    click.echo(f"{len(rows)} agency(ies) excluded on {on.isoformat()}")
