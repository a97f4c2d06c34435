"""``flask credit ...``: check and repair the stored scores against the ledger."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

credit_cli = AppGroup("credit", help="Credit scores: recompute from the ledger.")


@credit_cli.command("recompute")
@click.option("--check", is_flag=True, help="Only report differences; exit with status 1 if any.")
def recompute(check: bool) -> None:
    """Fold every agency's ledger again and compare with (or fix) the stored scores."""
    from marketplace.credit.services import check_scores, recompute_scores
    from marketplace.extensions import db

    if check:
        differences = check_scores()
        for diff in differences:
            click.echo(diff.describe())
        if differences:
            click.echo(f"{len(differences)} stored score(s) differ from the ledger", err=True)
            sys.exit(1)
        click.echo("every stored score matches the ledger")
        return
    fixed = recompute_scores(actor="cli")
    db.session.commit()
    for diff in fixed:
        click.echo(f"fixed {diff.describe()}")
    click.echo(f"{len(fixed)} score(s) fixed")
