"""``flask jobs ...``: run the periodic jobs once or in a loop."""

from __future__ import annotations

import time

import click
from flask.cli import AppGroup

jobs_cli = AppGroup("jobs", help="Run the time-driven jobs (deadlines, reminders, checkpoints).")


@jobs_cli.command("run")
@click.option("--loop", is_flag=True, help="Keep running, once every --interval seconds.")
@click.option("--interval", default=60, show_default=True, help="Seconds between runs.")
@click.option("--only", default=None, help="Run just this job.")
def run(loop: bool, interval: int, only: str | None) -> None:
    """Run every job once (catching up on anything overdue), or forever with --loop."""
    from marketplace.jobs.runner import run_once

    while True:
        for name, outcome in run_once(only=only).items():
            click.echo(f"{name}: {outcome}")
        if not loop:
            break
        time.sleep(interval)


@jobs_cli.command("list")
def list_jobs() -> None:
    """List the jobs."""
    from marketplace.jobs.registry import all_jobs

    for job in all_jobs():
        click.echo(f"{job.name:30} {job.description}")
