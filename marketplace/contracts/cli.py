"""``flask contracts ...``: verify a contract PDF offline, run the signing deadlines now."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup

contracts_cli = AppGroup("contracts", help="Contracts: verification and signing deadlines.")


@contracts_cli.command("verify")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--number", "contract_no", default=None, help="The contract number it should be.")
def verify(file: Path, contract_no: str | None) -> None:
    """Check FILE against the recorded hashes and the platform seal (exit 0 if it is the signed,
    sealed, unchanged contract; 1 otherwise)."""
    from marketplace.contracts.services import verify_contract

    outcome = verify_contract(file.read_bytes(), contract_no)
    result = outcome.result
    click.echo(f"sha256: {result.sha256}")
    if outcome.contract is not None:
        click.echo(f"contract: {outcome.contract.contract_no} ({outcome.contract.status.value})")
    if outcome.version is not None:
        click.echo(f"version: {outcome.version.version}")
    for sig in outcome.signatures:
        click.echo(f"signed: {sig.party.name} · {sig.signer_name} {sig.signer_position} · "
                   f"{sig.signed_at.isoformat()}")
    click.echo(f"seal: {'intact' if result.seal.ok else 'NOT intact'}")
    for message in [*outcome.messages, *result.messages]:
        click.echo(f"- {message}")
    click.echo("OK" if outcome.ok else "NOT VERIFIED")
    sys.exit(0 if outcome.ok else 1)


@contracts_cli.command("deadlines")
def deadlines() -> None:
    """Refuse overdue unsigned contracts now (what `flask jobs run` does)."""
    from marketplace.contracts.jobs import run_contract_deadlines
    from marketplace.core.db import utcnow

    click.echo(f"refused: {run_contract_deadlines(utcnow())}")
