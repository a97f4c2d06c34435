"""``flask agencies ...``: look at qualifications about to lapse."""

from __future__ import annotations

import click
from flask.cli import AppGroup

agencies_cli = AppGroup("agencies", help="Agency profiles and listings.")


@agencies_cli.command("expiring")
@click.option("--days", default=30, show_default=True, type=click.IntRange(0, 3650),
              help="Look this many days ahead.")
def expiring(days: int) -> None:
    """List valid qualification certificates whose validity ends within DAYS days."""
    from marketplace.agencies.services import expiring_qualifications, get_agency

    rows = expiring_qualifications(within_days=days)
    for q in rows:
        org = get_agency(q.organisation_id)
        click.echo(f"{q.valid_to.isoformat()}  {org.name}  {q.qualification_type.name}  {q.certificate_no}")
    click.echo(f"{len(rows)} certificate(s) end within {days} day(s)")
