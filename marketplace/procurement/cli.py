"""``flask procurement ...``: run the deadlines now, inspect a request's result."""

from __future__ import annotations

import json
import re
import sys
from datetime import UTC, datetime

import click
from flask.cli import AppGroup

procurement_cli = AppGroup("procurement", help="Purchase requests, bids and selection results.")


@procurement_cli.command("advance")
@click.option("--now", "now_text", default=None,
              help="Pretend it is this moment (ISO 8601, UTC if no zone), to catch up or test.")
@click.option("--request", "requests", multiple=True, metavar="ID_OR_NUMBER",
              help="Only this request: its id or announcement number (CG000012-1); repeatable.")
def advance(now_text: str | None, requests: tuple[str, ...]) -> None:
    """Close overdue bidding, award and finalise awards now (what `flask jobs run` does).

    Without --request, every request in the database whose deadline has passed by --now
    moves, the demo requests included.
    """
    from marketplace.core.db import utcnow
    from marketplace.procurement.jobs import run_procurement_deadlines

    now = utcnow()
    if now_text:
        try:
            now = datetime.fromisoformat(now_text)
        except ValueError:
            click.echo("--now must be an ISO 8601 date-time", err=True)
            sys.exit(2)
        if now.tzinfo is None:
            now = now.replace(tzinfo=UTC)
    only = None
    if requests:
        only = set()
        for text in requests:
            # An announcement number is CG<id, six digits>-<round>.
            match = re.fullmatch(r"(?:CG)?0*(\d{1,10})(?:-\d+)?", text.strip(), re.IGNORECASE)
            if match is None:
                click.echo(f"--request {text!r}: give a request id or a number like CG000012-1",
                           err=True)
                sys.exit(2)
            only.add(int(match.group(1)))
    click.echo(f"{run_procurement_deadlines(now, only=only)} request(s) changed")


@procurement_cli.command("result")
@click.argument("request_id", type=int)
def result(request_id: int) -> None:
    """Print the public result JSON of a request (what docs/verify_draw.py checks)."""
    from marketplace.core.errors import NotFound
    from marketplace.procurement.models import PurchaseRequest
    from marketplace.procurement.services import get_by_id, public_result

    try:
        data = public_result(get_by_id(PurchaseRequest, request_id))
    except NotFound as exc:
        click.echo(str(exc), err=True)
        sys.exit(1)
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))
