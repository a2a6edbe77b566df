"""The ingest run: sniff every file, read each with its kind's rules, and commit them to the store.

Each kind module (:mod:`~relmine.ingest.cdr`, :mod:`~relmine.ingest.bank`, ...) turns the file's
raw string columns into the store's columns plus a ``_reason`` column that is null for a good row
and names the first problem of a bad one. This module does the rest the same way for every kind:
the split into accepted rows and rejects, de-duplication (within the file and against what the
store already holds), the reject-rate check, and the bookkeeping that makes every input row
accounted for: ``rows = accepted + rejected + duplicates``.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import polars as pl

from relmine import numbering
from relmine.config import Settings
from relmine.errors import ConfigError, InputError, RejectRateExceeded
from relmine.ingest.dialect import Dialect, detect_kind, layout_for, sniff, utf8_file
from relmine.ingest.digest import FileDigests
from relmine.ingest.mapping import (
    ORIGINAL_PREFIX,
    PART,
    RAW_PREFIX,
    STEP_FORMAT,
    Layout,
    Mapping,
    check_layout,
    load_mapping,
    prepare,
)
from relmine.ingest.timestamps import (
    AmbiguousDateOrder,
    TimestampFormat,
    detect_timestamp_format,
    explicit_format,
)
from relmine.numbering import MAX_ROWS, SEED, dense_codes, hash_runs, merge_sorted
from relmine.schema import INGEST_KINDS, KINDS, REJECTS_STORE
from relmine.store import TABLES, Store, Transaction

__all__ = [
    "Answers",
    "FileResult",
    "IngestReport",
    "ReadContext",
    "drop_duplicate_rows",
    "first_reason",
    "ingest",
    "map_identifiers",
    "raw",
    "scan_text",
]

#: Column holding the first field beyond the header's width, when a row has one.
EXTRA = "_extra"


def raw(name: str) -> pl.Expr:
    """The raw, stripped string value of input column ``name`` (null when absent or empty)."""
    return pl.col(RAW_PREFIX + name)


@dataclass(frozen=True)
class ReadContext:
    """What a kind's reader needs to know about the file and the run."""

    path: Path
    dialect: Dialect
    settings: Settings
    #: What the table already holds: the store's committed parts and parts staged by this run.
    existing: pl.LazyFrame
    #: How the file's columns became canonical (mapping, synonyms, derived columns).
    layout: Layout | None = None
    #: The format of the kind's time column, settled before the run started.
    time_format: TimestampFormat | None = None
    #: Identifier answers of the file's earlier batches, by kind of identifier.
    answers: dict[str, Answers] = field(default_factory=dict)

    def answers_of(self, kind: str) -> Answers:
        """The :class:`Answers` cache for identifiers of ``kind`` (``phone``, ``account``)."""
        return self.answers.setdefault(kind, Answers())

    def has(self, name: str) -> bool:
        """Whether the file has input column ``name`` (as written, or derived from others)."""
        return name in self.dialect.columns or (
            self.layout is not None and name in self.layout.derived
        )

    @property
    def opaque_ids(self) -> bool:
        """Subscriber ids are kept as written unless they are phone numbers (bandicoot)."""
        return self.layout is not None and self.layout.opaque_ids

    def timestamps(self, name: str) -> TimestampFormat:
        """The format of time column ``name``: settled by the plan, else detected."""
        if self.time_format is not None:
            return self.time_format
        return detect_timestamp_format(self.sample(name))

    def col(self, name: str) -> pl.Expr:
        """Raw string column ``name``, or nulls when the file lacks that optional column."""
        return raw(name) if self.has(name) else pl.lit(None, dtype=pl.String)

    def sample(self, name: str) -> list[str]:
        """The sniffed sample's values of column ``name``."""
        if not self.has(name):
            return []
        i = self.dialect.columns.index(name)
        return [row[i] for row in self.dialect.sample if len(row) > i]


class Answers:
    """Answers of the identifier values earlier batches of a file normalised.

    A file read in batches (:func:`_read_file`) meets the same numbers in every batch. Known
    values are found by their 64-bit hash (binary search in the sorted hashes) and confirmed by
    comparing the strings; string joins against millions of known values cost as much as
    deciding the values again.

    The values looked up are those :func:`dense_codes` found, which come ordered by the high bits
    of this same hash: they are searched, and their hashes merged into the known ones, in that
    order. Nearly sorted, the searches hit the cache as sorted ones do, and the merge (a stable
    sort) sees long sorted runs; sorting them first cost 0.3 CPU-seconds per 10 M call rows.
    Any order gives the same answers.
    """

    def __init__(self) -> None:
        self.raw: pl.Series | None = None  # every value answered so far
        self.table: pl.DataFrame | None = None  # their answers, row by row
        self.hashes = np.empty(0, dtype=np.uint64)  # sorted hashes of ``raw`` ...
        self.rows = np.empty(0, dtype=np.int64)  # ... and the row of each

    def lookup(
        self,
        values: pl.Series,
        normalise: Callable[[pl.Series], pl.DataFrame],
        columns: Sequence[str] | None = None,
    ) -> pl.DataFrame:
        """``normalise(values)`` for distinct ``values``, deciding only those not seen before.

        Only ``columns`` of the answers are returned (all when None): gathering an unused column
        of millions of strings costs as much as a used one.
        """
        hashes = numbering.value_hashes(values).to_numpy()
        found = np.full(len(values), -1, dtype=np.int64)
        if len(self.hashes):
            at = np.searchsorted(self.hashes, hashes)
            at[at == len(self.hashes)] = 0
            hit = self.hashes[at] == hashes
            found[hit] = self.rows[at[hit]]
            known = np.flatnonzero(found >= 0)
            # a hash shared by two different values is no answer: decided below
            same = self.raw.gather(pl.Series(found[known])).eq_missing(values.gather(known))
            found[known[~same.to_numpy()]] = -1
        new = np.flatnonzero(found < 0)
        added = values.gather(pl.Series(new))
        decided = normalise(added)
        first = 0 if self.table is None else self.table.height
        found[new] = np.arange(first, first + len(new))
        self.raw = added if self.raw is None else pl.concat([self.raw, added])
        self.table = decided if self.table is None else pl.concat([self.table, decided])
        # The new hashes after the sorted old ones: NumPy's stable sort (a timsort) merges runs.
        keys = np.concatenate([self.hashes, hashes[new]])
        rows = np.concatenate([self.rows, found[new]])
        merged = np.argsort(keys, kind="stable")
        self.hashes, self.rows = keys[merged], rows[merged]
        table = self.table if columns is None else self.table.select(columns)
        return table[pl.Series(found)]


def map_identifiers(
    lf: pl.LazyFrame,
    names: Sequence[str],
    normalise: Callable[[pl.Series], pl.DataFrame],
    *,
    value: str,
    reasons: bool = True,
    cache: Answers | None = None,
) -> pl.LazyFrame:
    """Normalise identifier columns through a table computed once per distinct raw value.

    Identifier normalisers are per-value work (:func:`~relmine.ingest.identity.phone_table`,
    :func:`~relmine.ingest.identity.account_table`), so they are applied to the distinct values
    of all ``names`` together, and each row picks its answer by its value's code
    (:func:`dense_codes`): a gather instead of a join on strings.

    Parameters
    ----------
    lf : LazyFrame
        Rows with raw string columns ``raw.<name>``.
    names : sequence of str
        The identifier columns (sharing one table: a caller is also a callee).
    normalise : callable
        Distinct non-null raw values -> frame with ``value`` and ``reason`` (null when accepted)
        columns, one row per value in the order given
        (:func:`~relmine.ingest.identity.phone_answers`,
        :func:`~relmine.ingest.identity.account_answers`).
    value : str
        The column of the table holding the normalised identifier.
    reasons : bool
        Add the ``<name>_reason`` columns (a caller that only needs to know *whether* a value is
        valid saves their memory: 160 MB per column on 10 M rows).
    cache : Answers, optional
        Answers of earlier batches of the file, looked up instead of decided again.

    Returns
    -------
    LazyFrame
        ``lf`` with ``<name>`` (the normalised identifier, null when missing or invalid) and
        ``<name>_reason`` for each of ``names``.
    """
    columns = lf.select(raw(n) for n in names).collect()
    codes, distinct = dense_codes(pl.concat([columns.get_column(RAW_PREFIX + n) for n in names]))
    known = distinct.is_not_null()
    values = distinct.filter(known)
    outputs = {"": value, "_reason": "reason"} if reasons else {"": value}
    table = (
        normalise(values)
        if cache is None
        else cache.lookup(values, normalise, columns=list(outputs.values()))
    )
    # The null value (if any) has no answer: its rows are "missing ...", or legitimately empty.
    positions = known.arg_true()
    empty = pl.repeat(None, distinct.len(), dtype=pl.String, eager=True)
    height = columns.height
    found = {}
    for suffix, column in outputs.items():
        answer = (
            table[column]  # no null value: the answers are in the order of ``distinct``
            if values.len() == distinct.len()
            else empty.clone().scatter(positions, table[column])
        )
        for i, name in enumerate(names):
            found[name + suffix] = answer.gather(codes.slice(i * height, height))
    constant = [name for name, column in found.items() if column.null_count() == height]
    # A column without a single answer (no invalid value: no reasons) is a constant, not 10 M
    # nulls.
    return pl.concat([lf, pl.LazyFrame(found)], how="horizontal").with_columns(
        pl.lit(None, dtype=pl.String).alias(name) for name in constant
    )


def first_reason(checks: Sequence[tuple[pl.Expr, str | pl.Expr]]) -> pl.Expr:
    """The first failing check's reason, or null when every check passes.

    The checks are chained on a small integer code, and the code becomes its text in one gather:
    a chain of string columns writes a column of every row's text per check (about 0.1
    CPU-seconds per check and 10 M rows), which the code does not. A reason given as an
    expression (the text a column holds) is taken from it where its check is the first to fail.
    """
    texts: dict[str, int] = {}
    columns: list[tuple[int, pl.Expr]] = []
    code: pl.Expr | None = None
    for cond, reason in checks:
        if isinstance(reason, str):
            number = texts.setdefault(reason, len(texts))
        else:
            number = _MAX_REASONS - 1 - len(columns)
            columns.append((number, reason))
        value = pl.lit(number, dtype=pl.UInt8)
        code = pl.when(cond).then(value) if code is None else code.when(cond).then(value)
    if len(texts) + len(columns) > _MAX_REASONS or code is None:
        raise ValueError(f"between 1 and {_MAX_REASONS} checks, not {len(checks)}")
    code = code.otherwise(None)
    lookup = [None] * _MAX_REASONS
    for text, number in texts.items():
        lookup[number] = text
    reason = pl.lit(pl.Series(lookup, dtype=pl.String)).gather(code)
    for number, column in columns:
        reason = pl.when(code == number).then(column).otherwise(reason)
    return reason.alias("_reason")


#: Distinct reasons :func:`first_reason` can give (its code is one byte).
_MAX_REASONS = 256


class KindReader(Protocol):
    """What a kind module provides to :func:`ingest`."""

    TABLE: str

    def normalise(self, lf: pl.LazyFrame, ctx: ReadContext) -> pl.LazyFrame: ...


@dataclass
class FileResult:
    """What happened to one input file."""

    path: str
    kind: str
    sha256: str
    status: str
    #: The file's size in bytes (a file of a size no stored file has is not stored yet).
    bytes: int | None = None
    rows: int = 0
    accepted: int = 0
    rejected: int = 0
    duplicates: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)
    #: :func:`~relmine.ingest.pseudonym.key_check` of the key the file was pseudonymised with.
    pseudonym_key: str | None = None

    def record(self) -> dict[str, Any]:
        """The manifest's record of this file."""
        extra = {} if self.pseudonym_key is None else {"pseudonym_key": self.pseudonym_key}
        return {
            **extra,
            "path": self.path,
            "kind": self.kind,
            "sha256": self.sha256,
            "bytes": self.bytes,
            "rows": self.rows,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
        }


@dataclass
class IngestReport:
    """The outcome of one ``relmine ingest`` run."""

    store: Path
    files: list[FileResult]

    @property
    def refused(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "refused"]


def _readers() -> dict[str, KindReader]:
    from relmine.ingest import bank, cdr, cells, customers

    return {"bank": bank, "cdr": cdr, "customers": customers, "cells": cells}  # type: ignore[dict-item]


@dataclass(frozen=True)
class _Planned:
    """One file of a run, with everything settled before the store is touched."""

    path: Path
    kind: str  # what the manifest records: a table's kind, or "bandicoot"
    dialect: Dialect
    layout: Layout
    time_format: TimestampFormat | None


_TIME_COLUMN = {"bank": "booked_at", "cdr": "start_time"}


def _time_format(
    dialect: Dialect, layout: Layout, path: Path, date_format: str | None
) -> TimestampFormat | None:
    """The time column's format: step index, ``--date-format``, mapping, or detected.

    Raises
    ------
    InputError
        If the sample's day/month order is ambiguous or mixed: guessing would swap day and month.
    """
    column = _TIME_COLUMN.get(layout.kind)
    if column is None:
        return None
    mapping = layout.mapping
    if mapping.time_origin is not None:
        return explicit_format(STEP_FORMAT)
    parts = [i for i, c in enumerate(dialect.columns) if c.split(PART)[0] == column]
    i = parts[0] if parts else -1
    values = [" ".join(row[j] for j in parts) for row in dialect.sample if len(row) > i]
    named = date_format or mapping.date_format
    if named:
        fmt = explicit_format(named)
        if values and not any(_parses(v, fmt) for v in values):
            flag = "--date-format" if date_format else "date_format in the mapping file"
            raise InputError(
                f"{path.name}: {flag} {named!r} parses none of the first values of column "
                f"{dialect.header[i]!r} (such as {values[0]!r}); use strftime codes "
                "(%d %m %Y %H %M %S)"
            )
        return fmt
    if not parts:
        return None
    try:
        return detect_timestamp_format(values)
    except AmbiguousDateOrder as exc:
        written = dialect.header[i]
        problem = (
            "mixes day-first and month-first dates"
            if exc.mixed
            else f"has dates such as {exc.example} whose day/month order the first rows do not show"
        )
        sep = "/" if "/" in exc.example else "-"
        clock = {0: "", 1: " %H:%M", 2: " %H:%M:%S"}.get(exc.example.count(":"), "")
        raise InputError(
            f"{path.name}: column {written!r} {problem}; say which with "
            f"--date-format '%d{sep}%m{sep}%Y{clock}' (day first) or '%m{sep}%d{sep}%Y{clock}' "
            "(month first), or date_format in a --mapping file"
        ) from None


def _parses(value: str, fmt: TimestampFormat) -> bool:
    formats = (*fmt.naive, *fmt.with_offset)
    try:
        parsed = pl.Series([value.strip()]).str.to_datetime(formats[0], strict=False)
    except pl.exceptions.PolarsError:  # not a format at all
        return False
    return bool(parsed.is_not_null().all())


def expand_paths(paths: Sequence[Path]) -> list[Path]:
    """Files named, with a directory standing for the ``.csv``/``.txt`` files in it (sorted)."""
    out: list[Path] = []
    for p in paths:
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in {".csv", ".txt", ".tsv"})
            if not found:
                raise InputError(f"{p} is a directory with no .csv files in it")
            out.extend(found)
        elif not p.exists():
            raise InputError(f"{p} does not exist")
        else:
            out.append(p)
    return out


def scan_text(path: Path, dialect: Dialect, *, lossy: bool = True) -> pl.LazyFrame:
    """Scan a CSV with every column as a stripped string named ``raw.<column>``, plus ``_line``.

    ``_line`` is the 1-based line number of the row in the file (the header is line 1), assuming
    no quoted field spans lines. Blank records are not rows: empty lines, and lines whose every
    field is empty or whitespace (``,,,,`` from a spreadsheet, ``""``). A row with more fields
    than the header has the first surplus field in ``_extra`` (null otherwise), so it can be
    rejected rather than silently cut to the header's width.

    ``lossy``: a byte sequence that is not UTF-8 is read as U+FFFD; otherwise it stops the scan
    with Polars' ``ComputeError`` (:func:`_read_file` then reads the file again, lossily). Strict
    decoding is 0.4-0.6 CPU-seconds cheaper per 10 M rows: the lossy reader copies the text.
    """
    names = [RAW_PREFIX + c for c in dialect.columns]
    if len(set(names)) != len(names):
        raise InputError(f"{path.name} has two columns with the same name: {dialect.header}")
    lf = pl.scan_csv(
        path,
        has_header=False,
        skip_rows=1 + dialect.skip,
        separator=dialect.separator,
        quote_char=dialect.quote,
        schema=dict.fromkeys([*names, EXTRA], pl.String),
        missing_columns="insert",
        row_index_name="_line",
        row_index_offset=2 + dialect.skip,
        truncate_ragged_lines=True,
        encoding="utf8-lossy" if lossy else "utf8",
        raise_if_empty=False,
    )
    # Strip, then empty -> null in a second step: ``replace("", None)`` builds a hash table per
    # column and held 1.1 GB more at the peak on 10 M rows.
    stripped = [pl.col(n).str.strip_chars() for n in names]
    blank_is_null = [pl.when(pl.col(n).str.len_bytes() > 0).then(pl.col(n)) for n in names]
    surplus = pl.col(EXTRA).str.strip_chars().str.len_bytes() > 0  # content beyond the header
    return (
        lf.with_columns(pl.col("_line").cast(pl.Int64), *stripped)
        .with_columns(*blank_is_null)
        .filter(pl.any_horizontal(*(pl.col(n).is_not_null() for n in names), surplus))
    )


def drop_duplicate_rows(frame: pl.DataFrame, columns: Sequence[str]) -> pl.LazyFrame:
    """Keep the first row of each group of rows that are equal in all ``columns``.

    Exact, and several times faster than ``unique`` over many columns on 10 M rows: rows are
    grouped by a hash of the whole row (:func:`hash_runs`), which finds the few rows that *may*
    repeat another, and only those are compared value by value. The result is lazy, so the wide
    frame is filtered as it is written rather than copied.
    """
    if frame.height < 2:
        return frame.lazy()
    keep = _first_rows(frame, columns, _row_hashes(frame, columns))
    return frame.lazy().filter(pl.lit(pl.Series(keep)))


def _row_hashes(frame: pl.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """A 64-bit hash of each row's values in ``columns`` (``hash_rows``: about five times
    faster than folding the columns' hashes)."""
    return frame.select(columns).hash_rows(SEED).to_numpy()


def _stored_hashes(
    lf: pl.LazyFrame, columns: Sequence[str]
) -> Iterator[tuple[pl.DataFrame, np.ndarray]]:
    """Rows of ``lf`` in ``columns``, a batch at a time, with their :func:`_row_hashes`."""
    for batch in lf.select(columns).collect_batches(chunk_size=_STORED_BATCH):
        yield batch, _row_hashes(batch, columns)


#: Stored rows hashed at a time (:func:`_stored_hashes`).
_STORED_BATCH = 1 << 20


def _first_rows(frame: pl.DataFrame, columns: Sequence[str], hashes: np.ndarray) -> np.ndarray:
    """Whether each row of ``frame`` is the first of the rows equal to it in all ``columns``."""
    keep = np.ones(frame.height, dtype=bool)
    if frame.height < 2:
        return keep
    if frame.height < MAX_ROWS:
        order, starts = hash_runs(pl.Series(hashes))
        alone = starts & np.append(starts[1:], True)  # a run of one row repeats nothing
        candidates = pl.Series("_row", np.sort(order[~alone]))
    else:
        candidates = pl.Series(hashes).is_duplicated().arg_true().rename("_row")
    if candidates.is_empty():
        return keep
    maybe = frame.select(columns)[candidates].with_columns(candidates)
    repeats = maybe.filter(~pl.struct(columns).is_first_distinct())["_row"]
    keep[repeats.to_numpy()] = False
    return keep


class _EarlierRows:
    """The rows a file's next batch must not repeat: what the table holds (committed and staged
    by earlier files of this run) and the batches of this file written so far.

    Every earlier row is known by its row hash (:func:`_row_hashes`; one pass over the stored rows
    per file, 8 bytes a row), so a batch finds the rows that may repeat one by binary search; a
    row is dropped only when an earlier row equals it in every key column. Anti-joining every
    batch with everything stored instead would build a hash table of the whole store per batch.
    """

    def __init__(self, existing: pl.LazyFrame | None, columns: Sequence[str]) -> None:
        self.columns = list(columns)
        self.sources: list[pl.LazyFrame] = []
        self.parts: list[Path] = []  # this file's parts written so far
        #: Called before the parts are read back (waits for a part still being written).
        self.before_reading: Callable[[], None] = lambda: None
        self.hashes = np.empty(0, dtype=np.uint64)
        if existing is not None:
            self.sources.append(existing.select(self.columns))
            known = [h for _, h in _stored_hashes(existing, self.columns)]
            self.hashes = np.sort(np.concatenate(known)) if known else self.hashes

    def places(self, queries: np.ndarray) -> np.ndarray:
        """Where the sorted hashes ``queries`` go among the earlier rows' (``searchsorted``).

        Only sorted hashes are looked up: random binary searches in millions of hashes miss the
        cache at every step.
        """
        return np.searchsorted(self.hashes, queries)

    def repeats(
        self,
        frame: pl.DataFrame,
        hashes: np.ndarray,
        keep: np.ndarray,
        queries: np.ndarray,
        places: np.ndarray,
    ) -> np.ndarray:
        """Positions of the rows of ``frame`` (among those kept) that repeat an earlier row.

        ``queries`` are the kept rows' hashes, sorted, and ``places`` their :meth:`places`.
        """
        if not len(self.hashes):
            return np.empty(0, dtype=np.int64)
        at = np.minimum(places, len(self.hashes) - 1)
        wanted = np.unique(queries[self.hashes[at] == queries])
        if not len(wanted):  # nearly always: the batch is done
            return np.empty(0, dtype=np.int64)
        rows = np.flatnonzero(keep & np.isin(hashes, wanted))
        self.before_reading()
        candidates = frame.select(self.columns)[pl.Series(rows)].with_columns(_row=pl.Series(rows))
        found = pl.concat(
            [
                batch.filter(pl.Series(np.isin(batch_hashes, wanted)))
                for batch, batch_hashes in _stored_hashes(
                    pl.concat([*self.sources, *(pl.scan_parquet(p) for p in self.parts)]),
                    self.columns,
                )
            ]
        ).unique()
        same = candidates.join(found, on=self.columns, how="semi", nulls_equal=True)
        return same["_row"].to_numpy()

    def add(self, part: Path, ordered: np.ndarray, places: np.ndarray) -> None:
        """Count the rows written to ``part`` (with these hashes, sorted, and their
        :meth:`places`) as earlier rows.

        The part may still be being written: :attr:`before_reading` waits for it.
        """
        self.parts.append(part)
        self.hashes = merge_sorted(self.hashes, ordered, places)


def _rejects_frame(base: pl.LazyFrame, ctx: ReadContext) -> pl.LazyFrame:
    """Rejected rows with ``file``, ``line``, ``reason`` and each field as written (``_f<i>``)."""
    replaced = ctx.layout.replaced if ctx.layout is not None else set()
    fields = [
        pl.col((ORIGINAL_PREFIX if c in replaced else RAW_PREFIX) + c).alias(f"_f{i}")
        for i, c in enumerate(ctx.dialect.columns)
    ]
    return base.filter(pl.col("_reason").is_not_null()).select(
        pl.lit(ctx.path.name).alias("file"),
        pl.col("_line").alias("line"),
        pl.col("_reason").alias("reason"),
        *fields,
        pl.col(EXTRA),
    )


def _rejects_text(fields: pl.DataFrame, ctx: ReadContext, key: bytes | None) -> pl.DataFrame:
    """Join a rejected row's fields by the file's separator into ``raw``.

    Pseudonymised, every field that may identify someone (identifiers, names, free text, columns
    relmine does not know) is replaced by its ``raw-`` token first.
    """
    sep = ctx.dialect.separator
    names = [f"_f{i}" for i in range(len(ctx.dialect.columns))]
    if key is not None:
        from relmine.ingest.pseudonym import SAFE_INPUT_COLUMNS, pseudonymize

        unsafe = [
            n
            for n, c in zip(names, ctx.dialect.columns, strict=True)
            if c.split(PART)[0] not in SAFE_INPUT_COLUMNS
        ]
        fields = pseudonymize(fields, dict.fromkeys([*unsafe, EXTRA], "raw"), key=key)
    surplus = pl.when(pl.col(EXTRA).is_not_null()).then(sep + pl.col(EXTRA)).otherwise(pl.lit(""))
    return fields.select(
        "file",
        "line",
        "reason",
        raw=pl.concat_str([pl.col(n).fill_null("") for n in names], separator=sep) + surplus,
    ).cast(REJECTS_STORE)


def _read_file(
    plan: _Planned,
    txn: Transaction,
    result: FileResult,
    settings: Settings,
    *,
    key: bytes | None = None,
    mirrors: pl.DataFrame | None = None,
) -> None:
    """Read one file into staged parts of its table and of ``rejects``, and fill ``result``.

    The file is read as strict UTF-8 (:func:`scan_text`). A file sniffed as UTF-8 may still hold
    a byte that is not, past the sniffed sample: the parts read so far are then dropped and the
    file is read again from the start, each such byte read as U+FFFD (the rows and counts are
    those of a lossy read from the start).
    """
    try:
        _read_text(plan, txn, result, settings, key=key, mirrors=mirrors, lossy=False)
    except _NotUtf8:
        _read_text(plan, txn, result, settings, key=key, mirrors=mirrors, lossy=True)


class _NotUtf8(Exception):
    """A strict UTF-8 read met a byte sequence that is not UTF-8 (its parts are dropped)."""


def _read_text(
    plan: _Planned,
    txn: Transaction,
    result: FileResult,
    settings: Settings,
    *,
    key: bytes | None,
    mirrors: pl.DataFrame | None,
    lossy: bool,
) -> None:
    """:func:`_read_file`, decoding the text lossily or not (:func:`scan_text`).

    Call records and bank statements are read a batch of rows at a time (:func:`_batch_rows`),
    each batch normalised, de-duplicated against everything before it and written before the
    next is read, so memory does not grow with the file. A batch's identifiers are decided while
    the batch before is collected, de-duplicated and written (:class:`_Worker`). Other kinds, and
    subscriber-centric files (whose two legs of a call must meet), are read whole.
    """
    reader = _readers()[plan.layout.kind]
    table = reader.TABLE
    staged = [txn.staging / n for n in txn.parts.get(table, [])]
    existing = pl.concat([txn.store.scan(table), *[pl.scan_parquet(p) for p in staged]])
    ctx = ReadContext(
        path=Path(result.path),
        dialect=plan.dialect,
        settings=settings,
        existing=existing,
        layout=plan.layout,
        time_format=plan.time_format,
    )
    columns = list(TABLES[table])
    # Earlier rows of this file and everything already stored (or staged by this run) win. In
    # subscriber-centric records the cell is the served subscriber's, known only from the
    # caller's record, so it is not part of the key.
    key_columns = columns
    whole = plan.layout.subscriber_centric or table not in _BATCHED
    if plan.layout.subscriber_centric:
        key_columns = [c for c in columns if c not in ("cell_id", "roaming_country")]
    has_rows = bool(txn.store.manifest["tables"][table] or staged)
    earlier = _EarlierRows(existing if has_rows else None, key_columns)
    written: list[str] = []
    rejected: list[str] = []
    by_reason: dict[str, int] = {}
    rows = accepted = 0

    def prepare_batch(base: pl.LazyFrame) -> _Batch:
        """Collect a batch's normalised rows and find the rows repeated within it."""
        valid, rejects = _collect(base, ctx, columns)
        del base  # the raw strings go with it
        # One chunk: hashing and writing ~100 chunks of gathered strings cost 1.8 CPU-seconds
        # more per 10 M rows than the 0.2 s this copy takes.
        valid = valid.rechunk()
        if key is not None:
            from relmine.ingest.pseudonym import PSEUDONYMOUS, pseudonymize

            valid = pseudonymize(valid, PSEUDONYMOUS[table], key=key)
        if plan.layout.subscriber_centric:
            # Of a call's two legs in one file, keep the originating one: it has the caller's
            # cell.
            valid = valid.sort(pl.col("cell_id").is_null(), maintain_order=True)
        hashes = _row_hashes(valid, key_columns)
        return _Batch(valid, rejects, hashes, _first_rows(valid, key_columns, hashes))

    def store_batch(batch: _Batch, *, last: bool, checked: threading.Event | None = None) -> None:
        """Count and write a batch's rejects, drop its repeats of earlier rows, write the rest.

        Batches are stored in file order: the earlier rows a batch is checked against are the
        rows of the batches stored before it. A batch's kept rows count as earlier rows (and its
        parts are named) before its parts are written; ``checked`` is then set, so that the next
        batch may be checked and written while this one is written (:func:`_read_text`).
        """
        nonlocal accepted
        valid, rejects, hashes, keep = batch.valid, batch.rejects, batch.hashes, batch.keep
        del batch
        rej_path = None
        if rejects.height:
            for reason, count in rejects["reason"].value_counts().iter_rows():
                by_reason[reason] = by_reason.get(reason, 0) + count
            rej_path, rej_name = txn.part_path("rejects")
            rejected.append(rej_name)
        ordered = np.sort(hashes[keep])  # the kept rows' hashes: looked up, then added
        places = earlier.places(ordered)
        repeated = earlier.repeats(valid, hashes, keep, ordered, places)
        if len(repeated):
            keep[repeated] = False
            ordered = np.sort(hashes[keep])
            places = earlier.places(ordered)
        kept = int(keep.sum())
        if kept:
            acc_path, acc_name = txn.part_path(table)
            written.append(acc_name)
            accepted += kept
            if not (whole or last):
                earlier.add(acc_path, ordered, places)
        if checked is not None:
            checked.set()
        if rej_path is not None:
            _rejects_text(rejects, ctx, key).write_parquet(rej_path, compression_level=1)
        del rejects
        if kept:
            (valid if kept == valid.height else valid.filter(keep)).write_parquet(
                acc_path, compression_level=1
            )
            if not last:
                txn.flush_part(acc_path)  # the commit has only the last part left to wait for

    def finish(base: pl.LazyFrame, checked: threading.Event) -> None:
        """A batch that is not the file's last: collected, de-duplicated and written."""
        store_batch(prepare_batch(base), last=False, checked=checked)

    def drop_parts() -> None:
        """Forget every part this file staged."""
        for name in written:
            txn.drop_part(table, name)
        for name in rejected:
            txn.drop_part("rejects", name)

    try:
        with utf8_file(plan.path, plan.dialect) as readable, _Worker() as worker:
            scan = scan_text(readable, plan.dialect, lossy=lossy)
            batches = (
                _one(scan)
                if whole
                else scan.collect_batches(chunk_size=_batch_rows(plan.dialect, settings, table))
            )
            # Identifiers are decided here, batch after batch (each batch reuses the answers of
            # the ones before); the rest of a batch's work is done by ``finish`` in the worker
            # while the next batch's identifiers are decided. A batch is handed over once the
            # next one has arrived, so the last is known as such: it is collected here while
            # the worker still stores the batch before, checked as soon as that batch counts as
            # earlier rows, and written while that batch's part is still being written (the two
            # writes share both cores rather than the last starting alone). Reading that part
            # back, for the rare row whose hash matches an earlier one, waits for its write.
            pending: pl.LazyFrame | None = None
            checked = threading.Event()
            for raw_rows in batches:
                rows += raw_rows.height
                if pending is not None:
                    checked = threading.Event()
                    worker.submit(finish, pending, checked)
                pending = _base(raw_rows, plan, reader, ctx, mirrors)
                del raw_rows
            if pending is not None:
                last = prepare_batch(pending)
                del pending
                worker.wait_until(checked)
                earlier.before_reading = worker.wait
                store_batch(last, last=True)
                del last
    except pl.exceptions.ComputeError as error:
        if lossy or "utf-8" not in str(error).lower():
            raise
        drop_parts()
        raise _NotUtf8 from None
    result.rows = int(rows)
    result.accepted = accepted
    result.rejected = sum(by_reason.values())
    result.duplicates = result.rows - result.accepted - result.rejected
    result.rejected_by_reason = dict(sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    if result.rows and result.rejected / result.rows > settings.max_reject_rate:
        result.status = "refused"
        drop_parts()
        return
    result.status = "ingested"


@dataclass
class _Batch:
    """A batch's rows collected, with their row hashes and which are first within the batch."""

    valid: pl.DataFrame
    rejects: pl.DataFrame
    hashes: np.ndarray
    keep: np.ndarray


class _Worker:
    """Runs a file's batches' second half (:func:`_read_file`'s ``finish``) in a thread of its own.

    Deciding identifiers is a chain (each batch reuses the answers of the ones before) that
    keeps one core busy with NumPy and small Polars steps; collecting, de-duplicating and
    writing the previous batch meanwhile uses the other one. Polars and NumPy release the GIL
    while they work. One task at a time: a second waits for the first, so at most one batch
    waits in memory. Leaving the block waits for the last task; a task's error is raised where
    it is waited for.
    """

    def __init__(self) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="relmine-ingest")
        self._pending: Future[None] | None = None

    def submit(self, task: Callable[..., None], *args: object) -> None:
        """Run ``task(*args)`` once the previous task is done."""
        self.wait()
        self._pending = self._pool.submit(task, *args)

    def wait_until(self, event: threading.Event) -> None:
        """Wait until the pending task sets ``event``, or ends; raise its error if it failed."""
        pending = self._pending
        if pending is None:
            return
        pending.add_done_callback(lambda _: event.set())
        event.wait()
        if pending.done() and pending.exception() is not None:
            self.wait()

    def wait(self) -> None:
        """Wait for the pending task, raising its error."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.result()

    def __enter__(self) -> _Worker:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        try:
            if kind is None:
                self.wait()
            elif self._pending is not None:
                # Already failing: the task must end before the run's staging goes, but its own
                # error would only hide the first one.
                self._pending.exception()
        finally:
            self._pool.shutdown(wait=True)


def _batch_rows(dialect: Dialect, settings: Settings, table: str) -> int:
    """Rows of a batch: at most ``ingest_batch_rows``, and about ``ingest_batch_mb`` of text.

    A row's size is judged from the sniffed sample, weighed by what a byte of its text holds in
    memory (:data:`_TEXT_WEIGHT`). Bounding the text rather than only the rows keeps a file of
    wide rows (bank statements with names and descriptions: 99 bytes a row in the demo world,
    against 59 for call records) within the memory of a file of narrow ones.
    """
    rows = settings.ingest_batch_rows
    sample = dialect.sample
    if not sample:
        return rows
    row_bytes = sum(sum(len(f.encode()) + 1 for f in row) for row in sample) / len(sample)
    row_bytes *= _TEXT_WEIGHT.get(table, 1.0)
    return max(1, min(rows, int(settings.ingest_batch_mb * 2**20 / max(row_bytes, 1.0))))


#: How much more memory a byte of a table's text takes than a byte of call records while its
#: batch is read, normalised and written. A statement row holds two identifiers with their
#: answers, a name and a description: the peak of the 1 M world's bank file (13.2 M rows) grows
#: by 14 MiB per MiB of a batch's text (3.67-3.77 GB in batches of 170 MiB, 3.02 GB in batches
#: of 120 MiB, the same 25-26 s), that of a 10 M-row call file by 6 (2.66 and 2.32-2.41 GB).
_TEXT_WEIGHT = {"bank": 1.4}


def _one(scan: pl.LazyFrame) -> Iterator[pl.DataFrame]:
    """The whole scan as one batch (held by nothing but the caller once given)."""
    yield scan.collect(engine="streaming")


#: The tables whose files are read in batches (:func:`_read_file`).
_BATCHED = ("cdr", "bank")


def _normalise(
    raw_rows: pl.DataFrame,
    plan: _Planned,
    reader: KindReader,
    ctx: ReadContext,
    mirrors: pl.DataFrame | None,
    columns: list[str],
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A batch of raw rows -> the accepted rows in the table's columns, and the rejected rows."""
    return _collect(_base(raw_rows, plan, reader, ctx, mirrors), ctx, columns)


def _base(
    raw_rows: pl.DataFrame,
    plan: _Planned,
    reader: KindReader,
    ctx: ReadContext,
    mirrors: pl.DataFrame | None,
) -> pl.LazyFrame:
    """A batch's rows with the table's columns and ``_reason``: identifiers decided, the rest
    lazy."""
    if raw_rows[EXTRA].null_count() == raw_rows.height:
        # Nearly every file: no row is too long. A constant column holds no per-row memory
        # (160 MB on 10 M rows).
        raw_rows = raw_rows.with_columns(pl.lit(None, dtype=pl.String).alias(EXTRA))
    prepared = prepare(raw_rows.lazy(), plan.layout, decimal_comma=plan.dialect.decimal_comma)
    if mirrors is not None:
        from relmine.ingest.bandicoot import mark_mirrors

        prepared = mark_mirrors(prepared, mirrors)
    names = prepared.collect_schema().names()
    reason = pl.col("_reason")
    if "_pre_reason" in names:
        reason = pl.coalesce("_pre_reason", reason)
    base = reader.normalise(prepared, ctx).with_columns(
        _reason=pl.when(pl.col(EXTRA).is_not_null())
        .then(pl.lit("too many fields"))
        .otherwise(reason)
    )
    if "_mirror" not in names:
        base = base.with_columns(_mirror=pl.lit(value=False))
    return base


def _collect(
    base: pl.LazyFrame, ctx: ReadContext, columns: list[str]
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """:func:`_base`'s rows -> the accepted rows in the table's columns, and the rejected rows."""
    # A call also found in the other subscriber's file (``_mirror``) is counted there, and is a
    # duplicate here.
    good = base.filter(pl.col("_reason").is_null() & ~pl.col("_mirror"))
    # Keep only what the two outputs need, so the raw strings of good rows are freed early.
    valid, rejects = pl.collect_all([good.select(columns), _rejects_frame(base, ctx)])
    return valid, rejects


def _plan(
    paths: Sequence[Path], *, kind: str, mapping: Mapping, date_format: str | None
) -> list[_Planned]:
    """Sniff every file and settle its kind, columns and time format; nothing is written."""
    if kind == "bandicoot":
        from relmine.ingest.bandicoot import bandicoot_files

        files = bandicoot_files(paths)
    else:
        files = [(p, kind) for p in expand_paths(paths)]
    plan = []
    for path, file_kind in files:
        dialect = sniff(path, mapping)
        if file_kind == "auto":
            file_kind = mapping.kind or detect_kind(dialect, path, mapping)
        if file_kind == "bandicoot":
            from relmine.ingest.bandicoot import bandicoot_layout

            layout = bandicoot_layout(dialect, path, mapping)
        else:
            layout = layout_for(dialect, file_kind, path, mapping)
        check_layout(layout, path, dialect.header)
        dialect = dataclasses.replace(dialect, columns=layout.columns)
        fmt = _time_format(dialect, layout, path, date_format)
        plan.append(_Planned(path, file_kind, dialect, layout, fmt))
    return plan


def _check_pseudonym(store: Store, check: str | None) -> None:
    """Refuse to mix plain and pseudonymised data, or tokens of two keys, in one store."""
    seen = {f.get("pseudonym_key") for f in store.files}
    if not seen or seen == {check}:
        return
    if check is None:
        raise ConfigError(
            f"the store at {store.root} holds pseudonymised data; ingest with --pseudonymize "
            "and the same key, or use another --store"
        )
    if None in seen:
        raise ConfigError(
            f"the store at {store.root} holds data that is not pseudonymised; pseudonymise into "
            "a new --store (and ingest every file again) so no raw identifier is kept"
        )
    raise ConfigError(
        f"the store at {store.root} was pseudonymised with another key; tokens of two keys "
        "would not join. Use the store's key, or another --store"
    )


def ingest(
    paths: Sequence[Path],
    *,
    store_dir: Path,
    kind: str = "auto",
    region: str | None = None,
    timezone: str | None = None,
    max_reject_rate: float | None = None,
    mapping: Path | None = None,
    date_format: str | None = None,
    pseudonymize_key: bytes | None = None,
    on_file: Callable[[FileResult], None] | None = None,
    wait: bool = True,
    read_file: Callable[..., None] | None = None,
    digests: FileDigests | None = None,
) -> IngestReport:
    """Ingest files into the store at ``store_dir``, creating it if needed.

    Every file is sniffed before anything is written, so a file that is empty, binary, header-less,
    of no known kind or with an ambiguous date order stops the run with the store untouched. Files
    already in the store (same content hash) are skipped. A file with more rejected rows than
    ``max_reject_rate`` allows is not stored; the others are, and :class:`RejectRateExceeded` is
    raised after the commit.

    Parameters
    ----------
    paths : sequence of Path
        Files, or directories of ``.csv`` files.
    store_dir : Path
        The store (created on first use, with ``region`` and ``timezone`` saved in it).
    kind : {"auto", "bank", "cdr", "customers", "cells", "bandicoot"}
        Kind of every file; ``auto`` decides per file from its header (or the mapping's
        ``kind``). ``bandicoot``: per-subscriber files, the file name being the subscriber, and
        ``antennas.csv`` read as cells.
    region, timezone, max_reject_rate
        Override the store's settings for this run.
    mapping : Path, optional
        A mapping file (TOML) for exports that are not canonical (see
        :func:`~relmine.ingest.mapping.load_mapping`).
    date_format : str, optional
        strftime-style format of every file's time column (``%d/%m/%Y``); overrides detection.
    pseudonymize_key : bytes, optional
        Replace phone numbers, accounts and names by keyed tokens before anything is stored
        (:mod:`relmine.ingest.pseudonym`).
    on_file : callable, optional
        Called with each file's result as soon as it is known (for progress output).
    wait : bool
        Wait for another process writing the store (default), or fail at once.
    read_file : callable, optional
        Reads one planned file into the transaction, in place of the Polars engine's reader
        (the Spark engine, :func:`relmine.spark.spark_ingest`).
    digests : FileDigests, optional
        The files' content hashes, already being computed (``relmine ingest`` starts them
        before anything else); by default they are computed from here on, in the background.

    Returns
    -------
    IngestReport

    Raises
    ------
    InputError
        A file cannot be read as asked (nothing is written).
    ConfigError
        The mapping file is invalid, or pseudonymisation would mix keys in one store.
    RejectRateExceeded
        At least one file had too many bad rows (the other files were stored).

    Examples
    --------
    >>> ingest([Path("export.csv")], store_dir=Path("store"), mapping=Path("bank-de.toml"))
    ... # doctest: +SKIP
    """
    if kind != "auto" and kind not in INGEST_KINDS:
        raise InputError(f"unknown kind {kind!r}; use auto, bandicoot or one of {', '.join(KINDS)}")
    plan = _plan(paths, kind=kind, mapping=load_mapping(mapping), date_format=date_format)
    check = None
    if pseudonymize_key is not None:
        from relmine.ingest.pseudonym import key_check

        check = key_check(pseudonymize_key)
    overrides = {"region": region, "timezone": timezone, "max_reject_rate": max_reject_rate}
    if Path(store_dir, "manifest.json").is_file():
        _check_pseudonym(Store.open(store_dir, **overrides), check)
    store = Store.open(store_dir, create=True, **overrides)
    mirrors = None
    subscribers = [p for p in plan if p.kind == "bandicoot"]
    if subscribers:
        from relmine.ingest.bandicoot import outgoing_records

        mirrors = outgoing_records(subscribers)
    results: list[FileResult] = []
    with (
        store.transaction(wait=wait) as txn,
        # a caller's digests are the caller's to close
        FileDigests(()) if digests is None else nullcontext(digests) as digests,
    ):
        # Hashing starts once the store is ours (files the caller's digests have not been given:
        # those of the folders it named, or all of them).
        digests.add(p.path for p in plan)
        _check_pseudonym(store, check)
        seen: set[str] = set()
        sizes = {f.get("bytes") for f in store.files}  # None: a record older than sizes

        def read(planned: _Planned, result: FileResult) -> None:
            (read_file or _read_file)(
                planned,
                txn,
                result,
                store.settings,
                key=pseudonymize_key,
                mirrors=mirrors if planned.kind == "bandicoot" else None,
            )

        for planned in plan:
            size = planned.path.stat().st_size
            shown = _shown_path(planned, pseudonymize_key)
            result = FileResult(shown, planned.kind, "", "ingested", size, pseudonym_key=check)
            if size not in sizes and None not in sizes:
                # No file of this size is stored or earlier in this run, so this one is new: it
                # is read while its content hash is computed (half a second of one core on 600
                # MB, otherwise spent before the reading starts).
                read(planned, result)
                result.sha256 = digests.sha256(planned.path)
            else:
                result.sha256 = digests.sha256(planned.path)
                earlier = store.has_file(result.sha256)
                if earlier is not None:
                    result = FileResult(
                        **{
                            "pseudonym_key": None,
                            **earlier,
                            "path": result.path,
                            "status": "already in store",
                        }
                    )
                elif result.sha256 in seen:
                    result.status = "already in store"
                else:
                    read(planned, result)
            sizes.add(size)
            seen.add(result.sha256)
            if result.status == "ingested":
                txn.add_file(result.record())
            results.append(result)
            if on_file is not None:
                on_file(result)
    report = IngestReport(store_dir, results)
    if report.refused:
        names = ", ".join(Path(f.path).name for f in report.refused)
        raise RejectRateExceeded(
            f"{names}: more than {store.settings.max_reject_rate:.0%} of rows rejected, "
            "so nothing of that file was stored; see the reasons above, fix the file or pass "
            "--max-reject-rate",
            report=report,
        )
    return report


def _shown_path(planned: _Planned, key: bytes | None) -> str:
    """The path the manifest and rejects record.

    Pseudonymised, the file's name is a token: exports are often named after an account
    (``SK31...-2026-03.csv``) and a bandicoot file after its subscriber. The content hash still
    identifies the file, and the same name gives the same token.
    """
    path = planned.path.resolve()
    if key is None:
        return str(path)
    from relmine.ingest.pseudonym import token

    return str(path.with_name(token(planned.path.stem, key=key, domain="file") + path.suffix))
