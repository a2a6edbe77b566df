"""Rendering library results for the terminal (rich tables). The library itself never prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from relmine.ingest.core import IngestReport

__all__ = [
    "frame_table",
    "ingest_table",
    "quality_table",
    "reasons_table",
    "status_tables",
    "summary_table",
    "truth_table",
]


def ingest_table(report: IngestReport) -> Table:
    """One row per input file: rows read = accepted + rejected + duplicates."""
    table = Table(title=f"ingested into {report.store}", title_justify="left")
    for name in ("file", "kind", "rows", "accepted", "rejected", "duplicates", "status"):
        table.add_column(name, justify="right" if name in _NUMERIC else "left")
    for f in report.files:
        table.add_row(
            Path(f.path).name,
            f.kind,
            *(f"{getattr(f, k):,}" for k in ("rows", "accepted", "rejected", "duplicates")),
            f.status,
        )
    return table


_NUMERIC = {"rows", "accepted", "rejected", "duplicates", "count"}


def reasons_table(files: list[dict[str, Any]]) -> Table | None:
    """Rejected rows by file and reason, or None when nothing was rejected."""
    rows = [
        (Path(f["path"]).name, reason, n)
        for f in files
        for reason, n in f["rejected_by_reason"].items()
    ]
    if not rows:
        return None
    table = Table(title="rejected rows by reason", title_justify="left")
    table.add_column("file")
    table.add_column("reason")
    table.add_column("count", justify="right")
    for name, reason, n in rows:
        table.add_row(name, reason, f"{n:,}")
    return table


def status_tables(status: dict[str, Any]) -> list[Table]:
    """The store's files, then its events, identifiers and nodes."""
    files = Table(
        title=f"store {status['store']} (version {status['version']})", title_justify="left"
    )
    for name in ("file", "kind", "rows", "accepted", "rejected", "duplicates"):
        files.add_column(name, justify="right" if name in _NUMERIC else "left")
    for f in status["files"]:
        files.add_row(
            Path(f["path"]).name,
            f["kind"],
            *(f"{f[k]:,}" for k in ("rows", "accepted", "rejected", "duplicates")),
        )
    totals = Table(title="contents", title_justify="left")
    totals.add_column("what")
    totals.add_column("count", justify="right")
    for name, n in status["events"].items():
        totals.add_row(f"events: {name}", f"{n:,}")
    for name, n in status["identifiers"].items():
        totals.add_row(f"identifiers: {name}", f"{n:,}")
    for name in ("customers", "cells", "rejects", "nodes"):
        totals.add_row(name, f"{status[name]:,}")
    return [t for t in (files, reasons_table(status["files"]), totals) if t is not None]


def truth_table(checks: list[tuple[str, int, int]]) -> Table:
    """What relmine found next to the sample world's ground truth."""
    table = Table(title="relmine against the world's ground truth", title_justify="left")
    table.add_column("what")
    table.add_column("truth", justify="right")
    table.add_column("relmine", justify="right")
    table.add_column("", justify="center")
    for what, truth, found in checks:
        table.add_row(what, f"{truth:,}", f"{found:,}", "ok" if truth == found else "DIFFERENT")
    return table


def frame_table(frame: Any, *, title: str, limit: int = 20) -> Table:
    """The first ``limit`` rows of a Polars frame as a table (floats to 4 significant digits)."""
    table = Table(title=title, title_justify="left")
    shown = frame.head(limit)
    for name, dtype in shown.schema.items():
        table.add_column(name, justify="right" if dtype.is_numeric() else "left")
    for row in shown.iter_rows():
        table.add_row(*(_cell(v) for v in row))
    if frame.height > limit:
        table.caption = f"{limit} of {frame.height:,} rows; -o FILE writes them all"
    return table


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def summary_table(title: str, items: list[tuple[str, Any]]) -> Table:
    """A two-column table of named figures."""
    table = Table(title=title, title_justify="left", show_header=False)
    table.add_column("what")
    table.add_column("value", justify="right")
    for name, value in items:
        table.add_row(name, _cell(value))
    return table


def quality_table(quality: list[tuple[str, float, str]]) -> Table:
    """Households and communities measured against the world's truth."""
    table = Table(title="analyses measured against the truth", title_justify="left")
    table.add_column("measure")
    table.add_column("relmine", justify="right")
    table.add_column("target", justify="right")
    for name, value, target in quality:
        table.add_row(name, f"{value:.3f}" if value != int(value) else f"{int(value)}", target)
    return table
