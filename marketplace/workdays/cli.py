"""``flask calendar ...``: seed, import and inspect the working-day calendar."""

from __future__ import annotations

import sys
from datetime import date

import click
from flask.cli import AppGroup

calendar_cli = AppGroup("calendar", help="The working-day calendar.")


@calendar_cli.command("seed")
def seed() -> None:
    """Load the years the chinesecalendar package knows (idempotent)."""
    from marketplace.extensions import db
    from marketplace.workdays.services import seed_from_chinesecalendar

    n = seed_from_chinesecalendar()
    db.session.commit()
    click.echo(f"{n} year(s) loaded")


@calendar_cli.command("import")
@click.argument("year", type=int)
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
def import_year(year: int, csv_file) -> None:
    """Enter YEAR's State Council schedule from CSV_FILE (date,kind,name)."""
    from marketplace.core.errors import DomainError
    from marketplace.extensions import db
    from marketplace.workdays.services import import_year_schedule

    try:
        n = import_year_schedule(year, csv_file.read(), actor="cli")
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"{n} days imported; {year} is official")


@calendar_cli.command("add")
@click.argument("start", type=click.DateTime(formats=["%Y-%m-%d"]))
@click.argument("days", type=int)
def add(start, days: int) -> None:
    """Print the DAYS-th working day after START (the start day does not count)."""
    from marketplace.workdays.services import add_working_days_detail

    result = add_working_days_detail(date(start.year, start.month, start.day), days)
    click.echo(result.day.isoformat() + (" (provisional)" if result.provisional else ""))
