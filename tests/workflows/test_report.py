"""The report workflow's own helpers (the end-to-end runs are in test_analyze_report.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from types import SimpleNamespace

import pandas as pd

from alstrial.report.build import data_quality_section
from alstrial.workflows.report import signature_summary


def _sig(kind: str, status: str, target: str) -> SimpleNamespace:
    return SimpleNamespace(
        kind=kind,
        status=status,
        target=target,
        meaning="approval",
        printed_name="Dr <b>Lee</b>",
        role="investigator",
        signed_at=datetime(2026, 3, 1, 9, 30, tzinfo=UTC),
    )


def test_signatures_are_counted_by_kind_and_listed_with_broken_ones_named() -> None:
    signed = [
        _sig("casebook", "valid", "participant/S01-0001"),
        _sig("casebook", "broken", "participant/S01-0002"),
        _sig("database_lock", "valid", "lock_event/1"),
    ]
    summary = signature_summary(signed)
    assert summary["by_kind"] == {"casebook": {"valid": 1, "broken": 1}, "database_lock": {"valid": 1, "broken": 0}}
    assert [r["status"] for r in summary["rows"]] == ["valid", "broken", "valid"]
    quality = {
        "visits": 3,
        "out_of_window": 0,
        "queries": {"opened": 0},
        "query_days_to_close_median": None,
        "corrections": {},
        "imports": 1,
        "signatures": summary,
    }
    summary_table, listing = data_quality_section(quality, pd.DataFrame()).tables
    rows = dict(map(tuple, summary_table.rows))
    assert rows["Signatures: casebook"] == "1 valid, 1 broken (content changed after signing)"
    assert rows["Signatures: database lock"] == "1 valid"
    assert list(listing.rows[1]) == [
        "casebook",
        "participant/S01-0002",
        "approval",
        "Dr &lt;b&gt;Lee&lt;/b&gt; (investigator)",  # names are escaped
        "2026-03-01 09:30 UTC",
        "broken",
    ]


def test_no_signatures_says_none() -> None:
    quality = {
        "visits": 0,
        "out_of_window": 0,
        "queries": {},
        "query_days_to_close_median": None,
        "corrections": {},
        "imports": 0,
        "signatures": signature_summary([]),
    }
    [summary_table] = data_quality_section(quality, None).tables
    assert ["Electronic signatures", "none"] in [list(r) for r in summary_table.rows]
