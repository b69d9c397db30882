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
        "DEFAULT_CONCURRENCY",
        "JOURNAL_NAME",
        "SUMMARY_NAME",
        "Accepted",
        "BadLine",
        "BulkSummary",
        "Failure",
        "Job",
        "Outcome",
        "Record",
        "RecordOutcome",
        "RunOptions",
        "get_cuids",
        "read_lines",
        "report_events",
        "run_job",
        "set_user_attributes",
        "set_user_channels",
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
