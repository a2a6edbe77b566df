"""Detecting and parsing timestamp columns.

A file's timestamp format is detected once, from a sample of its values, and the whole column is
then parsed with that explicit format: letting Polars infer a format per value costs about 8
CPU-seconds more per 10 M rows. A timestamp with an offset is an instant; one without is wall-clock
time in the configured time zone. Both are kept: ``ts_utc`` (the instant) and ``ts_local`` (the
wall-clock time where it happened), because night/weekend features are about the local clock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import polars as pl

__all__ = [
    "AmbiguousDateOrder",
    "TimestampFormat",
    "detect_timestamp_format",
    "explicit_format",
    "local_to_utc",
    "parse_timestamps",
]

_TIMES = (" %H:%M:%S", " %H:%M", "")
# Exact formats come before their fractional-second variants: ``%.f`` parses about 4x slower.
_NAIVE = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
    # Central-European writing (day first, dots): never month first, so never ambiguous.
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    *(f"%{a}/%{b}/%Y{t}" for a, b in (("d", "m"), ("m", "d")) for t in _TIMES),
    *(f"%{a}-%{b}-%Y{t}" for a, b in (("d", "m"), ("m", "d")) for t in _TIMES),
)
_WITH_OFFSET = tuple(
    base + zone
    for base in (
        "%Y-%m-%d %H:%M:%S",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
    )
    for zone in ("%#z", "%z")
)
_OFFSET_SUFFIX = r"(Z|z|[+-]\d\d(:?\d\d)?)$"


@dataclass(frozen=True)
class TimestampFormat:
    """The formats found in a column: naive ones and ones with a UTC offset."""

    naive: tuple[str, ...]
    with_offset: tuple[str, ...]

    @property
    def empty(self) -> bool:
        return not (self.naive or self.with_offset)


def detect_timestamp_format(sample: Sequence[str | None]) -> TimestampFormat:
    """Find the formats that parse a sample of a column's values, most common first.

    Parameters
    ----------
    sample : sequence of str
        Values from the start of the column (bad values among them are fine).

    Returns
    -------
    TimestampFormat
        Empty when no known format parses any value; every row is then a ``bad timestamp``.
    """
    values = pl.Series([v.strip() for v in sample if v and v.strip()], dtype=pl.String)

    def parsed(fmt: str) -> pl.Series:
        return values.str.to_datetime(fmt, strict=False, time_unit="us").is_not_null()

    naive = _one_day_month_order(_NAIVE, parsed, values)

    def cover(formats: tuple[str, ...]) -> tuple[str, ...]:
        # Greedy set cover: every extra format is one more parse of the whole column.
        chosen: list[str] = []
        left = pl.Series([True] * len(values), dtype=pl.Boolean)
        while left.any():
            hits = {f: (parsed(f) & left).sum() for f in formats if f not in chosen}
            best = max(hits, key=lambda f: (hits[f], -formats.index(f)), default=None)
            if best is None or hits[best] == 0:
                break
            chosen.append(best)
            left = left & ~parsed(best)
        return tuple(chosen)

    return TimestampFormat(naive=cover(naive), with_offset=cover(_WITH_OFFSET))


class AmbiguousDateOrder(ValueError):
    """A sample's dates fit both day-first and month-first order (``01/03/2026``), or mix them.

    The caller names the file, the column and the option that settles it.
    """

    def __init__(self, example: str, *, mixed: bool) -> None:
        super().__init__(example)
        self.example = example
        self.mixed = mixed


def _one_day_month_order(
    formats: tuple[str, ...], parsed: Callable[[str], pl.Series], values: pl.Series
) -> tuple[str, ...]:
    """Keep the day-first or the month-first formats, whichever the sample proves; else raise.

    A value proves an order when only that order parses it (a day above 12). With no such value
    the order is unknown and guessing would silently swap day and month in half the rows, so
    :class:`AmbiguousDateOrder` is raised instead; values proving both orders are refused too.
    """
    day_first = [f for f in formats if f.startswith(("%d/", "%d-"))]
    month_first = [f for f in formats if f.startswith(("%m/", "%m-"))]
    if values.is_empty():
        return tuple(f for f in formats if f not in month_first)

    def any_of(group: list[str]) -> pl.Series:
        hits = pl.Series([False] * len(values), dtype=pl.Boolean)
        for f in group:
            hits = hits | parsed(f)
        return hits

    d, m = any_of(day_first), any_of(month_first)
    only_d, only_m = d & ~m, m & ~d
    if only_d.any() and only_m.any():
        raise AmbiguousDateOrder(str(values.filter(only_m)[0]), mixed=True)
    if (d & m).any() and not (only_d.any() or only_m.any()):
        raise AmbiguousDateOrder(str(values.filter(d & m)[0]), mixed=False)
    dropped = month_first if not only_m.any() else day_first
    return tuple(f for f in formats if f not in dropped)


def explicit_format(fmt: str) -> TimestampFormat:
    """The :class:`TimestampFormat` of a format the user named (``--date-format``, a mapping)."""
    if "%z" in fmt or "%#z" in fmt:
        return TimestampFormat(naive=(), with_offset=(fmt,))
    return TimestampFormat(naive=(fmt,), with_offset=())


def parse_timestamps(
    lf: pl.LazyFrame, column: pl.Expr, fmt: TimestampFormat, *, timezone: str
) -> pl.LazyFrame:
    """Add ``ts_utc`` and ``ts_local`` parsed from a string column; null where a value is invalid.

    Naive wall-clock times that do not exist (the hour skipped when clocks go forward) give null,
    so the row is rejected rather than shifted; repeated ones (clocks go back) take the earlier.
    Each intermediate result is a column of its own, so every value is parsed once (nesting the
    expressions made Polars parse the column three times: 3 s instead of 0.9 s on 10 M rows).
    """
    utc_type = pl.Datetime("us", "UTC")
    parts_utc: list[pl.Expr] = []
    parts_local: list[pl.Expr] = []
    if fmt.with_offset:
        stripped = column.str.replace(_OFFSET_SUFFIX, "")
        for f in fmt.with_offset:
            parts_utc.append(_to_datetime(column, f))
            parts_local.append(
                pl.when(column.str.contains(_OFFSET_SUFFIX)).then(
                    _to_datetime(stripped, f.removesuffix("%#z").removesuffix("%z"))
                )
            )
    if fmt.naive:
        parts_local.append(pl.coalesce([_to_datetime(column, f) for f in fmt.naive]))
    if not parts_local:
        return lf.with_columns(
            ts_utc=pl.lit(None, dtype=utc_type), ts_local=pl.lit(None, dtype=pl.Datetime("us"))
        )
    with_offset = len(parts_utc)
    lf = lf.with_columns(
        *(p.alias(f"_utc{i}") for i, p in enumerate(parts_utc)),
        *(p.alias(f"_local{i}") for i, p in enumerate(parts_local)),
    )
    utc = [pl.col(f"_utc{i}") for i in range(with_offset)]
    if fmt.naive:
        naive = pl.col(f"_local{len(parts_local) - 1}")
        utc.append(
            naive.map_batches(
                partial(local_to_utc, timezone=timezone), return_dtype=utc_type, is_elementwise=True
            )
        )
    local = pl.coalesce([pl.col(f"_local{i}") for i in range(len(parts_local))])
    temporary = [f"_utc{i}" for i in range(with_offset)] + [
        f"_local{i}" for i in range(len(parts_local))
    ]
    return (
        lf.with_columns(ts_utc=pl.coalesce(utc), _local=local)
        # A local time is only meaningful where the instant is valid.
        .with_columns(ts_local=pl.when(pl.col("ts_utc").is_not_null()).then(pl.col("_local")))
        .drop(*temporary, "_local")
    )


#: Hours an offset table of :func:`local_to_utc` may span (about 23 years); values spread wider
#: are converted one by one.
_MAX_TABLE_HOURS = 200_000
_HOUR = {"us": 3_600_000_000, "ns": 3_600_000_000_000, "ms": 3_600_000}


def local_to_utc(local: pl.Series, timezone: str) -> pl.Series:
    """The instants (UTC, microseconds) of naive wall-clock times in ``timezone``.

    A time that does not exist there (the hour skipped when clocks go forward) gives null; a
    repeated one (clocks go back) the earlier instant, as ``replace_time_zone(timezone,
    ambiguous="earliest", non_existent="null")`` would give. That conversion looks up the offset
    value by value (about 1 CPU-second per 10 M values); here it is looked up once per hour the
    values touch. An hour whose first and last microsecond have the same offset has that offset
    throughout, because no zone of the tz database changes its offset twice within two hours
    (checked on every zone's transitions): its values are shifted with NumPy, about a fifth of
    the cost. The values of the other hours (a clock change inside them: one or two a year) and
    values spread over more than :data:`_MAX_TABLE_HOURS` are converted one by one.
    """
    unit = local.dtype.time_unit
    hour = _HOUR[unit]
    utc_type = pl.Datetime("us", "UTC")
    physical = local.to_physical()
    if physical.null_count() == physical.len():
        return pl.repeat(None, local.len(), dtype=utc_type, eager=True).alias(local.name)
    lo, hi = int(physical.min()) // hour, int(physical.max()) // hour
    if hi - lo > _MAX_TABLE_HOURS:
        return _instants(local, timezone).cast(utc_type)
    starts = pl.Series(np.arange(lo, hi + 1, dtype=np.int64) * hour)
    ends = starts + (hour - 1)
    # Offsets (local minus UTC) of each hour's two ends; a skipped end has none (NaN here), and
    # NaN equals nothing, so its hour is not steady.
    first = (starts - _instants(starts.cast(local.dtype), timezone).to_physical()).to_numpy()
    last = (ends - _instants(ends.cast(local.dtype), timezone).to_physical()).to_numpy()
    steady = first == last
    offsets = np.where(steady, first, 0).astype(np.int64)
    at = physical.fill_null(lo * hour).to_numpy() // hour - lo
    shifted = (physical - pl.Series(np.take(offsets, at))).cast(pl.Datetime(unit, "UTC"))
    others = np.flatnonzero(~np.take(steady, at) & physical.is_not_null().to_numpy())
    if len(others):
        shifted = shifted.scatter(others, _instants(local.gather(others), timezone))
    return shifted.cast(utc_type).alias(local.name)


def _instants(local: pl.Series, timezone: str) -> pl.Series:
    """``local`` read as wall-clock times in ``timezone``, value by value, as UTC datetimes."""
    return local.dt.replace_time_zone(
        timezone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")


def _to_datetime(column: pl.Expr, fmt: str) -> pl.Expr:
    """Parse ``column`` with ``fmt``; null where a value does not fit.

    Polars' cache of parsed values (``cache=True``) pays off when values repeat, as dates do; times
    of day are nearly all distinct, and caching them doubles the cost (about 1.2 instead of 0.6
    CPU-seconds per 10 M values).
    """
    return column.str.to_datetime(fmt, strict=False, time_unit="us", cache="%H" not in fmt)
