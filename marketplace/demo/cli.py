"""``flask seed demo``: demonstration data for development, built with the test factories."""

from __future__ import annotations

import sys

import click
from flask import current_app
from flask.cli import AppGroup

from marketplace.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, demo_is_loaded, load_demo

seed_cli = AppGroup("seed", help="Demonstration data (development only).")


@seed_cli.command("demo")
@click.option("--password", envvar="DEMO_PASSWORD", default=DEMO_PASSWORD, show_default=True,
              help="The password of every demo account (or set DEMO_PASSWORD).")
@click.option("--if-empty", is_flag=True, help="Do nothing when the demo data is already loaded.")
def demo(password: str, if_empty: bool) -> None:
    """Create demo organisations and one user per role, and print the accounts (never in
    production)."""
    from marketplace.extensions import db

    if current_app.config.get("ENV_NAME") == "production":
        click.echo("refusing to load demo data in production", err=True)
        sys.exit(1)
    if demo_is_loaded():
        if if_empty:
            return
        click.echo("demo data is already loaded", err=True)
        sys.exit(1)
    accounts = load_demo(password)
    db.session.commit()
    from marketplace.search.indexing import reindex_all

    counts = reindex_all()
    click.echo("Search index: " + ", ".join(f"{n} {doc_type}" for doc_type, n in sorted(counts.items())))
    click.echo("Demo accounts:")
    for role, email, _name, _org in DEMO_ACCOUNTS:
        click.echo(f"  {role:18} {email:36} {accounts[email]}")
