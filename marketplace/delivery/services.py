"""Delivery rules: the result against the due date, revisions, extensions, acceptance.

Services flush and never commit; the caller (a view, the job, the CLI) commits once. Every status
change goes through ``DELIVERY_MACHINE`` / ``EXTENSION_MACHINE`` (a conditional UPDATE, so two
concurrent moves from the same state give one winner) and writes an audit event.

The clock (服务时限) counts working days on the official calendar:

- The due date starts as the contract's (effective date + committed working days).
- Only an *agreed* extension (延期) moves it by the parties' choice.
- While a submitted result is with the enterprise, the agency's clock stands still: when the
  enterprise asks for a revision, the working days from the submission to the request are added
  to the due date.
- ``DELIVERY_REVISION_PAUSES_CLOCK`` (default on): the working days from a revision request to
  the resubmission are added too. Off: the revision is done on the agency's own time.
- The result is late when it arrives after the due date; the working days from the due date to
  the accepted version's submission are recorded at acceptance as an overrun against the agency.

This module is the package's public façade: callers import from here; the rules live in

- ``_common``: the system actor, the delivery page's link, the actor's API token, the row lock;
- ``clock``: today in China, whether the clock runs, working days, the countdown;
- ``access``: who may see which contract, version and file, and who may act;
- ``opening``: work start (opening the delivery) and the purchase request's path;
- ``submissions``: the agency's numbered versions of the result;
- ``acceptance``: the enterprise's revision request or acceptance; the stop on termination;
- ``extension_proposals``: extensions of the due date, proposed and answered;
- ``reminders``: the job's reminders before the due date;
- ``overdue``: the job's overdue marking and the regulators' list of overdue deliveries;
- ``panels``: the dashboard's deliveries panel and a case's accepted results.
"""

from __future__ import annotations

from marketplace.delivery._common import SYSTEM, _link, _lock, _token_id  # noqa: F401
from marketplace.delivery.acceptance import (  # noqa: F401
    _check_version,
    _on_contract_terminated,
    _record_overrun,
    accept_delivery,
    overrun_of,
    request_revision,
)
from marketplace.delivery.access import (  # noqa: F401
    _check_party,
    can_view,
    get_contract_for,
    get_file_for,
    is_case_officer,
    party_of,
    visible_submissions,
)
from marketplace.delivery.clock import (  # noqa: F401
    Countdown,
    _days_after,
    _move_due,
    china_today,
    clock_running,
    countdown,
    revision_pauses_clock,
)
from marketplace.delivery.extension_proposals import (  # noqa: F401
    decide_extension,
    get_extension,
    open_extension,
    propose_extension,
)
from marketplace.delivery.opening import (  # noqa: F401
    OPEN_STATUSES,
    REQUEST_PATH,
    _bring_request_to,
    contracts_to_open,
    delivery_of,
    open_delivery,
)
from marketplace.delivery.overdue import (  # noqa: F401
    OverduePage,
    OverdueRow,
    _clock_stopped_on_sql,
    clock_stopped_on,
    mark_overdue,
    overdue_deliveries,
)
from marketplace.delivery.panels import PanelRow, accepted_results_for_case, panel_rows  # noqa: F401
from marketplace.delivery.reminders import REMINDER_DAYS, running_delivery_ids, send_reminders  # noqa: F401
from marketplace.delivery.submissions import RESULT_PURPOSE, _result_event, submit_result  # noqa: F401
