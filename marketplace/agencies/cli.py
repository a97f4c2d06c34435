"""``flask agencies ...``: qualifications about to lapse; the public lists' visibility projection."""

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


@agencies_cli.command("check-visibility")
def check_visibility() -> None:
    """Compare the public lists' visibility projection with the live rule; exit 1 on a difference."""
    from marketplace.agencies.eligibility import today
    from marketplace.agencies.visibility import differences, projection_day

    problems = differences()
    for line in problems:
        click.echo(line)
    if problems:
        raise SystemExit(1)
    click.echo(f"the visibility projection agrees with the rule for {projection_day()}")
    if projection_day() != today():
        click.echo("it is not today's: the pages use the live rule until the agencies.visibility job runs")


@agencies_cli.command("rebuild-visibility")
def rebuild_visibility() -> None:
    """Rebuild the public lists' visibility projection for today (in China)."""
    from marketplace.agencies.visibility import rebuild
    from marketplace.extensions import db

    count = rebuild()
    db.session.commit()
    click.echo(f"{count} visible listing(s)")
