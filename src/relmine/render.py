"""Rendering library results for the terminal (rich tables). The library itself never prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.table import Table

from relmine.ingest.core import IngestReport

__all__ = [
    "card_renderables",
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


#: Shades of the activity grid, from no events to the busiest hour.
_SHADES = " ·░▒▓█"


def card_renderables(card: Any) -> list[Any]:
    """A contact card (:class:`relmine.profile.ContactCard`) as rich tables, section by section.

    The activity grid and the monthly trend have their own drawing; any other section is drawn
    from its data: a record as a two-column table (lists of records under it as tables), a list
    of records as a table. So a section added to the card needs no code here.
    """
    special = {"activity_grid": _grid_text, "monthly": _monthly_table}
    shown: list[Any] = []
    for section in card.sections:
        draw = special.get(section.key)
        shown.extend([draw(section)] if draw else _section_tables(section.title, section.data))
    return shown


def _section_tables(title: str, data: Any) -> list[Table]:
    if isinstance(data, list):
        return [_records_table(title, data)]
    fields = Table(title=title, title_justify="left", show_header=False)
    fields.add_column("what")
    fields.add_column("value")
    for name, value in data.items():
        if not _is_records(value):
            shown = ", ".join(map(str, value)) if isinstance(value, list) else _cell(value)
            fields.add_row(name, shown)
    nested = [_records_table(f"{title}: {k}", v) for k, v in data.items() if _is_records(v)]
    return [fields, *nested]


def _is_records(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and isinstance(value[0], dict)


def _records_table(title: str, records: list[dict[str, Any]]) -> Table:
    table = Table(title=title, title_justify="left")
    if not records:
        table.caption = "none"
        return table
    for name, value in records[0].items():
        numeric = isinstance(value, int | float) and not isinstance(value, bool)
        table.add_column(name, justify="right" if numeric else "left")
    for record in records:
        table.add_row(*(_cell(v) for v in record.values()))
    return table


def _grid_text(section: Any) -> Table:
    """Hours across (two characters each), weekdays down, each hour a shade of the busiest's."""
    counts = section.data["counts"]
    top = max((max(row) for row in counts), default=0)
    steps = len(_SHADES) - 1
    table = Table(title=section.title, title_justify="left", box=None, pad_edge=False)
    table.add_column("")
    table.add_column("".join(f"{h:<12}" for h in (0, 6, 12, 18)))
    table.add_column("events", justify="right")
    for day, row in zip(section.data["weekdays"], counts, strict=True):
        levels = [-(-n * steps // top) if top else 0 for n in row]  # ceil: any event shows
        table.add_row(day, "".join(2 * _SHADES[level] for level in levels), f"{sum(row):,}")
    table.caption = f"darkest: {top:,} calls and messages in one hour of one weekday"
    return table


def _monthly_table(section: Any) -> Table:
    """Events per month and channel with a bar of the month's total."""
    top = max((r["total"] for r in section.data), default=0)
    bars = [{**r, "": "█" * round(20 * r["total"] / top)} for r in section.data] if top else []
    return _records_table(section.title, bars or section.data)
