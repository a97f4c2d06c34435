"""``flask delivery ...``: inspect a contract's delivery and its countdown."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from marketplace.contracts import services as contracts
from marketplace.delivery import services

delivery_cli = AppGroup("delivery", help="Deliveries of contracts in force.")


@delivery_cli.command("show")
@click.argument("contract_no")
def show(contract_no: str) -> None:
    """Print the delivery of CONTRACT_NO: status, due dates, countdown, versions."""
    contract = contracts.find_by_number(contract_no)
    if contract is None:
        raise click.ClickException("no contract has this number")
    delivery = services.delivery_of(contract)
    if delivery is None:
        click.echo(f"{contract.contract_no}: {contract.status.value}, no delivery opened yet "
                   f"(due {contract.due_date})")
        return
    cd = services.countdown(delivery)
    click.echo(f"{contract.contract_no}: {delivery.status.value}; due {delivery.due_date} "
               f"(contract: {delivery.original_due_date}); {cd.state} {cd.days}")
    if delivery.overdue_since:
        click.echo(f"overdue since {delivery.overdue_since}")
    for s in delivery.submissions:
        mark = " accepted" if s.is_accepted else ""
        click.echo(f"  v{s.version} {s.submitted_on} files={len(s.files)}{mark}")
