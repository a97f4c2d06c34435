"""``flask accounts ...``: create government users and administrators."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup

accounts_cli = AppGroup("accounts", help="Organisations and user accounts.")


@accounts_cli.command("create-user")
@click.option("--email", required=True)
@click.option("--name", required=True)
@click.option(
    "--role", required=True,
    type=click.Choice(["approval_officer", "regulator", "admin"]),
)
@click.option("--department", required=True, help="Name of the government department.")
@click.option("--uscc", help="Department's USCC, needed when the department is new.")
@click.option("--region", default="530100", show_default=True, help="Department's region code.")
@click.password_option()
def create_user(email, name, role, department, uscc, region, password) -> None:
    """Create a government account (the department is created if it does not exist)."""
    from marketplace.accounts import services
    from marketplace.accounts.models import Organisation, OrgKind, Role
    from marketplace.audit.services import record_event
    from marketplace.core.errors import DomainError
    from marketplace.core.uscc import USCCError, validate_uscc
    from marketplace.extensions import db

    org = db.session.execute(
        sa.select(Organisation).where(
            Organisation.kind == OrgKind.GOVERNMENT, Organisation.name == department
        )
    ).scalar_one_or_none()
    try:
        if org is None:
            if not uscc:
                raise click.UsageError("the department is new: give its --uscc")
            try:
                code = validate_uscc(uscc)
            except USCCError as exc:
                raise click.UsageError(str(exc)) from exc
            org = Organisation(
                kind=OrgKind.GOVERNMENT, name=department, uscc=code,
                legal_representative=name, region_code=region,
            )
            db.session.add(org)
            db.session.flush()
            record_event("organisation.created", org, actor="cli", payload={"name": department})
        user = services.create_user(
            organisation=org, role=Role(role), name=name, email=email, password=password, actor=None
        )
    except DomainError as exc:
        db.session.rollback()
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    db.session.commit()
    click.echo(f"created {user.email} ({user.role}) in {org.name}")
