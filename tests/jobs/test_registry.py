"""The job list: each domain registers its own jobs; the order and the CLI are as before."""

from marketplace.jobs.registry import Job, all_jobs, register

EXPECTED_ORDER = [
    "agencies.visibility", "audit.checkpoint", "complaints.deadlines", "procurement.deadlines",
    "contracts.deadlines", "delivery.deadlines", "payments.settle", "ratings.reveal", "credit.decay",
    "sanctions.triggers", "sanctions.exits", "notifications.email", "webhooks.deliver",
    "search.process_queue", "accounts.login_attempts",
]


def test_every_job_is_registered_in_the_running_order(app):
    assert [job.name for job in all_jobs()] == EXPECTED_ORDER


def test_each_job_is_defined_by_its_own_domain(app):
    for job in all_jobs():
        domain = job.name.split(".")[0]
        assert job.func.__module__.startswith(f"marketplace.{domain}."), job


def test_registering_again_under_the_same_name_replaces(app):
    before = all_jobs()
    first = before[0]
    register(Job(first.name, first.func, first.description, first.order))
    assert all_jobs() == before


def test_flask_jobs_list_shows_every_job_in_order(app):
    result = app.test_cli_runner().invoke(args=["jobs", "list"])
    assert result.exit_code == 0, result.output
    names = [line.split()[0] for line in result.output.splitlines() if line.strip()]
    assert names == EXPECTED_ORDER
    assert "sign the audit chain head when due" in result.output
