"""The public names of ``jiguang_growth.bulk`` and ``jiguang_growth.cli``, pinned.

Adding or removing a public name is a decision: this test makes it a visible one.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from jiguang_growth import bulk, cli

PUBLIC = {
    bulk: [
        "BULK_MAX_RETRIES",
        "CONNECTION_FAILURE_BUDGET",
        "DEFAULT_CONCURRENCY",
        "JOURNAL_NAME",
        "LOCK_NAME",
        "MAX_BATCH_BYTES",
        "MESSAGE_LIMIT",
        "NO_ANSWER_BUDGET",
        "SUMMARY_NAME",
        "Accepted",
        "BadLine",
        "BlankLine",
        "BulkSummary",
        "Failure",
        "Job",
        "JournalError",
        "Limits",
        "Outcome",
        "OutputError",
        "Record",
        "RecordOutcome",
        "RunLockedError",
        "RunOptions",
        "check_out_dir",
        "get_cuids",
        "get_cuids_async",
        "read_lines",
        "report_events",
        "report_events_async",
        "run_job",
        "run_job_async",
        "set_user_attributes",
        "set_user_attributes_async",
        "set_user_channels",
        "set_user_channels_async",
    ],
    cli: ["COMMANDS", "PROG", "USAGE_ERROR", "Command", "CommandError", "main"],
}


@pytest.mark.parametrize("module", list(PUBLIC), ids=lambda module: module.__name__)
def test_all_is_exactly_the_public_names(module: ModuleType) -> None:
    assert module.__all__ == PUBLIC[module]


@pytest.mark.parametrize("module", list(PUBLIC), ids=lambda module: module.__name__)
def test_every_name_in_all_exists(module: ModuleType) -> None:
    missing = [name for name in module.__all__ if not hasattr(module, name)]
    assert missing == []
