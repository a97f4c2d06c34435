"""``flask catalog ...``: import the published catalogues from CSV files."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

catalog_cli = AppGroup("catalog", help="The approval-item and service-item catalogues.")


def _run_import(importer, csv_file) -> None:
    from marketplace.core.errors import DomainError
    from marketplace.extensions import db

    try:
        result = importer(csv_file.read(), actor="cli")
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged")


@catalog_cli.command("import-approval-items")
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
def import_approval_items(csv_file) -> None:
    """Create or update approval items from CSV_FILE (code,name,department,legal_basis)."""
    from marketplace.catalog.services import import_approval_items as importer

    _run_import(importer, csv_file)


@catalog_cli.command("import-service-items")
@click.argument("csv_file", type=click.File("r", encoding="utf-8-sig"))
def import_service_items(csv_file) -> None:
    """Create or update service items from CSV_FILE (see the import page for the columns)."""
    from marketplace.catalog.services import import_service_items as importer

    _run_import(importer, csv_file)
