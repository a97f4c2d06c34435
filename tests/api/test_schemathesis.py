"""Schemathesis fuzzes every operation in the OpenAPI spec, in process: no 500, no response off spec.

Its pytest plugin relies on pytest internals that pytest 9 removed, so each operation's Hypothesis
strategy is driven directly.
"""

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import positive_data_acceptance

# Business ranges that OpenAPI cannot express (e.g. dates from 1990 to 2190) legitimately answer
# 422 to values the spec's types allow; every other check (no 500, status codes, content types,
# bodies matching their schemas, headers) applies.
EXCLUDED = [positive_data_acceptance]


def test_every_api_operation_conforms_to_the_spec(app, db):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def run(case):
            case.call_and_validate(excluded_checks=EXCLUDED)

        run()
