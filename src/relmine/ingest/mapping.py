"""Reading exports that are not canonical: header synonyms, mapping files, derived columns.

Real exports name their columns in their own language (``Dátum zaúčtovania``, ``Buchungstag``,
``A_NUMBER``), write amounts as a debit/credit pair, give a subscriber-centric record with a
direction code instead of caller and callee, or count time in simulation steps. This module turns
all of that into relmine's canonical input columns *before* a kind's reader sees the file, so
the readers know one layout only:

1. :func:`resolve_columns` names each header field: a mapping file's ``[columns]`` first, then the
   canonical name, then the synonyms shipped in ``synonyms.toml`` (data, not code). Only the
   header is touched; the rows are read positionally under the resolved names.
2. :func:`prepare` adds the derived columns as Polars expressions over the whole column (value
   aliases, constants, debit/credit to a signed amount, step index to a timestamp, served/other
   plus direction to caller/callee). A file with canonical columns and no mapping passes through
   unchanged.

A mapping file is TOML data, never code: see ``examples/mappings/`` and the README's "Mapping
files" section for every key.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import polars as pl

from relmine.errors import ConfigError, InputError
from relmine.schema import DERIVING_COLUMNS, INPUT_COLUMNS, KINDS, REQUIRED_COLUMNS

__all__ = [
    "Layout",
    "Mapping",
    "available_columns",
    "check_layout",
    "load_mapping",
    "missing_columns",
    "prepare",
    "resolve_columns",
    "synonyms",
]

RAW_PREFIX = "raw."
#: Separates a canonical name from the number of one of its parts (``start_time#1``): a mapping
#: may give a column as a list of header fields (a date and a time field), joined by a space.
PART = "#"
#: Prefix of a raw column's original text once :func:`prepare` has replaced it (for the rejects).
ORIGINAL_PREFIX = "orig."
#: The format :func:`prepare` writes a step-index timestamp in.
STEP_FORMAT = "%Y-%m-%d %H:%M:%S"
_SIGNS = ("negative-is-debit", "positive-is-debit")
_IDENTIFIERS = ("phone", "opaque")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_TOP_KEYS = {
    "kind",
    "separator",
    "decimal",
    "encoding",
    "quote",
    "date_format",
    "identifiers",
    "skip_lines",
    "columns",
    "values",
    "constants",
    "amount",
    "time",
}


@dataclass(frozen=True)
class Mapping:
    """A parsed mapping file (or the empty mapping when none is given).

    Attributes
    ----------
    kind : str or None
        Kind of every file read with this mapping (like ``--kind``).
    columns : dict
        Canonical column name -> the header as written in the file, or a list of headers whose
        values are joined by a space (``start_time = ["CALL_DATE", "CALL_TIME"]``).
    separator, encoding, quote : str or None
        Override what sniffing finds.
    decimal_comma : bool or None
        ``decimal = ","`` or ``"."``; None means detect.
    date_format : str or None
        strftime-style format of the time column (``%d.%m.%Y``).
    identifiers : str
        ``phone`` (normalise to E.164, reject what is not a number) or ``opaque`` (subscriber ids
        kept as written unless they are valid phone numbers).
    values : dict
        Canonical column -> {value as written (any case): canonical value}.
    constants : dict
        Canonical column -> value used where the file has no such column or leaves it empty.
    amount_sign : str
        ``negative-is-debit`` (canonical) or ``positive-is-debit`` (amounts are what leaves the
        statement's account, as in AMLSim).
    debit_values : tuple of str
        Values of a ``direction`` column that mean money leaves ``account``.
    time_origin : datetime or None
        With ``time_unit``: the time column holds a step number, timestamp = origin + step x unit.
    """

    path: Path | None = None
    kind: str | None = None
    columns: dict[str, str | tuple[str, ...]] = field(default_factory=dict)
    separator: str | None = None
    encoding: str | None = None
    quote: str | None = None
    decimal_comma: bool | None = None
    date_format: str | None = None
    identifiers: str = "phone"
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    amount_sign: str = "negative-is-debit"
    debit_values: tuple[str, ...] = ()
    time_origin: datetime | None = None
    time_unit: timedelta | None = None
    #: Lines before the header line (a preamble with the account and period, as some banks
    #: export).
    skip_lines: int = 0


@dataclass(frozen=True)
class Layout:
    """How one file's columns become canonical: the mapping plus what its header resolved to."""

    kind: str
    columns: tuple[str, ...]
    mapping: Mapping
    #: Extra constants for this file (a bandicoot file's subscriber).
    constants: dict[str, str] = field(default_factory=dict)
    #: Subscriber ids are opaque (bandicoot): kept as written unless they are phone numbers.
    opaque: bool = False

    @property
    def subscriber_centric(self) -> bool:
        """Records name the served subscriber and the other party (operator dumps, bandicoot)."""
        return self.kind == "cdr" and {"served", "other"} <= set(self.columns) | set(
            self.all_constants
        )

    @property
    def opaque_ids(self) -> bool:
        return self.opaque or self.mapping.identifiers == "opaque"

    @property
    def all_constants(self) -> dict[str, str]:
        return {**self.mapping.constants, **self.constants}

    @property
    def derived(self) -> set[str]:
        """Canonical columns :func:`prepare` adds that the header does not have."""
        return available_columns(self.columns, self.kind, self.all_constants) - set(self.columns)

    @property
    def replaced(self) -> set[str]:
        """Header columns whose text :func:`prepare` rewrites (the original goes to rejects)."""
        out = set(self.mapping.values) | set(self.all_constants)
        has = set(self.columns)
        if self.kind == "bank" and (
            "direction" in has or self.mapping.amount_sign == "positive-is-debit"
        ):
            out.add("amount")
        if self.mapping.time_origin is not None:
            out.add(_time_column(self.kind))
        if self.subscriber_centric:
            out |= {"cell_id", "roaming_country"}
        return out & has


@cache
def synonyms() -> dict[str, Any]:
    """The header synonyms and direction codes shipped in ``synonyms.toml``."""
    text = resources.files("relmine.ingest").joinpath("synonyms.toml").read_text("utf-8")
    return tomllib.loads(text)


def _key(name: str) -> str:
    """A header name as synonyms are compared: lower case, no diacritics, single spaces."""
    folded = unicodedata.normalize("NFKD", name.strip().lower())
    plain = "".join(c for c in folded if not unicodedata.combining(c))
    return re.sub(r"[\s_\-]+", " ", plain).strip()


@cache
def _synonym_ranks(kind: str) -> dict[str, tuple[int, str]]:
    """Header key -> (rank, canonical name) for ``kind``; canonical names rank first (0)."""
    table: dict[str, tuple[int, str]] = {}
    section = synonyms().get(kind, {})
    canon = [*INPUT_COLUMNS[kind], *DERIVING_COLUMNS[kind]]
    for name in canon:
        table.setdefault(_key(name), (0, name))
    for name in canon:
        for rank, alias in enumerate(section.get(name, []), start=1):
            table.setdefault(_key(alias), (rank, name))
    return table


def resolve_columns(
    header: tuple[str, ...], kind: str, mapping: Mapping, *, path: Path
) -> tuple[str, ...]:
    """Name each header field with its canonical column, where it has one.

    The mapping's ``[columns]`` win, then exact canonical names, then ``synonyms.toml``; when two
    fields claim one canonical column the better-ranked keeps it. Other fields keep their own
    name (lower-cased), and are ignored by the readers.

    Parameters
    ----------
    header : tuple of str
        The file's header fields as written.
    kind : str
        The kind whose canonical columns and synonyms apply.
    mapping : Mapping
        The run's mapping (empty when none was given).
    path : Path
        The file, for messages.

    Returns
    -------
    tuple of str
        One name per header field, in the header's order.

    Raises
    ------
    ConfigError
        If the mapping names a column the file does not have.

    Examples
    --------
    >>> resolve_columns(("Dátum zaúčtovania", "Suma", "IBAN", "Poznámka"), "bank", Mapping(),
    ...                 path=Path("vypis.csv"))
    ('booked_at', 'amount', 'account', 'description')
    """
    names = [h.strip().lower() for h in header]
    claimed: dict[str, tuple[tuple[int, int], int]] = {}
    joined: set[str] = set()
    for canonical, written in mapping.columns.items():
        parts = [written] if isinstance(written, str) else list(written)
        for k, part in enumerate(parts):
            found = [i for i, h in enumerate(header) if h.strip().lower() == part.strip().lower()]
            if not found:
                raise ConfigError(
                    f"{_source(mapping)} maps `{canonical}` to column {part!r}, which "
                    f"{path.name} does not have; found: {', '.join(header)[:200]}"
                )
            name = canonical if isinstance(written, str) else f"{canonical}{PART}{k}"
            claimed[name] = ((-1, 0), found[0])
        if not isinstance(written, str):
            joined.add(canonical)
    if kind in INPUT_COLUMNS:
        ranks = _synonym_ranks(kind)
        mapped = {i for _, i in claimed.values()}
        for i, h in enumerate(header):
            hit = ranks.get(_key(h))
            if i in mapped or hit is None or hit[1] in joined:
                continue
            rank, canonical = hit
            if canonical not in claimed or (rank, i) < claimed[canonical][0]:
                claimed[canonical] = ((rank, i), i)
    for canonical, (_, i) in claimed.items():
        names[i] = canonical
    return tuple(names)


def _source(mapping: Mapping) -> str:
    return f"mapping file {mapping.path.name}" if mapping.path else "the mapping"


def available_columns(columns: tuple[str, ...], kind: str, constants: dict[str, str]) -> set[str]:
    """Canonical columns the file provides once :func:`prepare` has derived what it can."""
    have = set(columns) | set(constants) | {c.split(PART)[0] for c in columns if PART in c}
    if kind == "cdr" and {"served", "other"} <= have:
        have |= {"caller", "callee"}
    if kind == "bank" and "amount" not in have and ({"debit", "credit"} & have):
        have.add("amount")
    return have


def missing_columns(layout: Layout) -> list[str]:
    """Required columns of the layout's kind that the file cannot provide."""
    have = available_columns(layout.columns, layout.kind, layout.all_constants)
    missing = [c for c in REQUIRED_COLUMNS[layout.kind] if c not in have]
    if layout.subscriber_centric and not {"direction", "type"} & have:
        # Who called follows from the direction or the type code (MOC/MTC); without either the
        # served subscriber and the other party cannot be put in order.
        missing.append("direction")
    return missing


def _time_column(kind: str) -> str:
    return {"bank": "booked_at", "cdr": "start_time"}.get(kind, "")


def prepare(lf: pl.LazyFrame, layout: Layout, *, decimal_comma: bool) -> pl.LazyFrame:
    """Add the canonical raw columns that the layout derives; identity for a canonical file.

    Every replaced raw column keeps its original text as ``orig.<name>``, so a rejected row is
    stored as it was written. Rows whose derived value cannot be formed get ``_pre_reason``.
    Everything is a column expression: the cost is a few vectorised passes, never per row.

    Parameters
    ----------
    lf : LazyFrame
        The scanned file: ``raw.<column>`` strings under the layout's column names.
    layout : Layout
        The file's resolved layout.
    decimal_comma : bool
        Whether numbers are written with a decimal comma (for debit/credit amounts).

    Returns
    -------
    LazyFrame
        ``lf`` with the derived ``raw.<column>`` columns (and ``_pre_reason`` if any can fail).
    """
    mapping = layout.mapping
    kind = layout.kind
    has = set(layout.columns)
    replaced = layout.replaced
    if replaced:
        lf = lf.with_columns(
            pl.col(RAW_PREFIX + c).alias(ORIGINAL_PREFIX + c) for c in sorted(replaced)
        )
    reasons: list[tuple[pl.Expr, str]] = []
    joined = sorted({c.split(PART)[0] for c in layout.columns if PART in c})
    if joined:
        lf = lf.with_columns(
            pl.concat_str(
                [pl.col(RAW_PREFIX + c) for c in layout.columns if c.split(PART)[0] == name],
                separator=" ",
            ).alias(RAW_PREFIX + name)
            for name in joined
        )
        has |= set(joined)
    consts = [
        (pl.col(RAW_PREFIX + name) if name in has else pl.lit(None, pl.String))
        .fill_null(pl.lit(value, pl.String))
        .alias(RAW_PREFIX + name)
        for name, value in layout.all_constants.items()
    ]
    if consts:
        lf = lf.with_columns(consts)
        has |= set(layout.all_constants)
    if kind == "cdr" and {"served", "other"} <= has:
        lf, reason = _direction(lf, has, mapping)
        reasons.append(reason)
    aliases = [_aliases(name, table) for name, table in mapping.values.items() if name in has]
    if aliases:
        lf = lf.with_columns(aliases)
    if kind == "bank":
        lf, more = _signed_amount(lf, has, mapping, decimal_comma=decimal_comma)
        reasons.extend(more)
    if mapping.time_origin is not None and mapping.time_unit is not None and _time_column(kind):
        name = RAW_PREFIX + _time_column(kind)
        step = pl.col(name).str.replace(",", ".", literal=True).cast(pl.Float64, strict=False)
        micros = (step * (mapping.time_unit / timedelta(microseconds=1))).round()
        lf = lf.with_columns(
            (pl.lit(mapping.time_origin) + pl.duration(microseconds=micros.cast(pl.Int64)))
            .dt.strftime(STEP_FORMAT)
            .alias(name)
        )
    if reasons:
        expr = pl.when(reasons[0][0]).then(pl.lit(reasons[0][1]))
        for cond, text in reasons[1:]:
            expr = expr.when(cond).then(pl.lit(text))
        lf = lf.with_columns(expr.otherwise(None).alias("_pre_reason"))
    return lf


def _aliases(name: str, table: dict[str, str]) -> pl.Expr:
    column = pl.col(RAW_PREFIX + name)
    lower = column.str.to_lowercase()
    keys = {k.strip().lower(): v for k, v in table.items()}
    return (
        pl.when(lower.is_in(list(keys)))
        .then(lower.replace_strict(keys, default=None, return_dtype=pl.String))
        .otherwise(column)
        .alias(RAW_PREFIX + name)
    )


def _direction(lf: pl.LazyFrame, has: set[str], mapping: Mapping) -> tuple[pl.LazyFrame, Any]:
    """Caller and callee of subscriber-centric records from a direction column or type code.

    In an originating record (MOC, SMS-MO, ``out``) the served subscriber is the caller; in a
    terminating one (MTC, SMS-MT, ``in``) the other party is. The cell and roaming country of a
    record are the served subscriber's, so in a terminating record they are not the caller's and
    are left empty (the store's ``cell_id`` is the caller's cell).
    """
    codes = synonyms()["cdr_direction_values"]
    source = "direction" if "direction" in has else "type"
    code = pl.col(RAW_PREFIX + source).str.to_lowercase()
    if source in mapping.values:
        code = _aliases(source, mapping.values[source]).str.to_lowercase()
    out = code.is_in(codes["originating"])
    into = code.is_in(codes["terminating"])
    served, other = pl.col(RAW_PREFIX + "served"), pl.col(RAW_PREFIX + "other")
    lf = lf.with_columns(
        pl.when(out).then(served).when(into).then(other).alias(RAW_PREFIX + "caller"),
        pl.when(out).then(other).when(into).then(served).alias(RAW_PREFIX + "callee"),
        pl.when(into).then(pl.lit(True)).otherwise(pl.lit(False)).alias("_terminating"),
    )
    located = [
        pl.when(pl.col("_terminating"))
        .then(None)
        .otherwise(pl.col(RAW_PREFIX + c))
        .alias(RAW_PREFIX + c)
        for c in ("cell_id", "roaming_country")
        if c in has
    ]
    if located:
        lf = lf.with_columns(located)
    reason = (pl.col(RAW_PREFIX + source).is_null() | ~(out | into), "unknown direction")
    return lf.drop("_terminating"), reason


def _signed_amount(
    lf: pl.LazyFrame, has: set[str], mapping: Mapping, *, decimal_comma: bool
) -> tuple[pl.LazyFrame, list[tuple[pl.Expr, str]]]:
    """A signed ``amount`` (negative = money leaves ``account``) as text, from what the file has.

    The text keeps the file's writing (decimal comma, thousands) for the bank reader to parse;
    only the sign changes. Sources: a debit/credit pair, an unsigned amount with a debit/credit
    indicator, or an amount whose sign convention is the other way round.
    """
    from relmine.ingest.bank import parse_amount

    reasons: list[tuple[pl.Expr, str]] = []
    unsigned = pl.col(RAW_PREFIX + "amount").str.strip_chars_start("+-")
    if "amount" not in has and {"debit", "credit"} & has:
        debit = pl.col(RAW_PREFIX + "debit") if "debit" in has else pl.lit(None, pl.String)
        credit = pl.col(RAW_PREFIX + "credit") if "credit" in has else pl.lit(None, pl.String)
        d = parse_amount(debit, decimal_comma=decimal_comma).abs()
        c = parse_amount(credit, decimal_comma=decimal_comma).abs()
        amount = (
            pl.when((d > 0) & (c > 0))
            .then(None)
            .when(d > 0)
            .then("-" + debit.str.strip_chars_start("+-"))
            .when(c.is_not_null())
            .then(credit.str.strip_chars_start("+-"))
            .otherwise(debit)
        )
        reasons.append(((d > 0) & (c > 0), "both debit and credit"))
        return lf.with_columns(amount.alias(RAW_PREFIX + "amount")), reasons
    if "amount" not in has:
        return lf, reasons
    if "direction" in has:
        values = mapping.debit_values or tuple(synonyms()["bank_debit_values"]["values"])
        debit_flag = (
            pl.col(RAW_PREFIX + "direction").str.to_lowercase().is_in([v.lower() for v in values])
        )
        amount = pl.when(debit_flag).then("-" + unsigned).otherwise(unsigned)
    elif mapping.amount_sign == "positive-is-debit":
        written = pl.col(RAW_PREFIX + "amount")
        amount = pl.when(written.str.starts_with("-")).then(unsigned).otherwise("-" + unsigned)
    else:
        return lf, reasons
    return lf.with_columns(amount.alias(RAW_PREFIX + "amount")), reasons


def load_mapping(path: Path | None) -> Mapping:
    """Read and check a mapping file; ``None`` gives the empty mapping.

    The file is TOML data (``tomllib``); nothing in it is evaluated. Every key is checked here,
    before any file is read, so a typo stops the run with the store untouched.

    Parameters
    ----------
    path : Path or None
        The mapping file (``--mapping``).

    Returns
    -------
    Mapping

    Raises
    ------
    ConfigError
        If the file is missing, not TOML, or has an unknown key or an invalid value; the message
        names the key.

    Examples
    --------
    >>> m = load_mapping(Path("examples/mappings/amlsim.toml"))  # doctest: +SKIP
    >>> m.kind, m.columns["account"], m.amount_sign, m.time_unit  # doctest: +SKIP
    ('bank', 'sourceNodeId', 'positive-is-debit', datetime.timedelta(days=1))
    """
    if path is None:
        return Mapping()
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read mapping file {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"mapping file {path} is not valid TOML: {exc}") from None
    where = f"mapping file {Path(path).name}"
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(_TOP_KEYS))}"
        )
    kind = data.get("kind")
    if kind is not None and kind not in KINDS:
        raise ConfigError(f"{where}: kind = {kind!r}; use one of {', '.join(KINDS)}")
    decimal = data.get("decimal")
    if decimal not in (None, ",", "."):
        raise ConfigError(f'{where}: decimal = {decimal!r}; use "," or "."')
    separator = data.get("separator")
    if separator is not None and (not isinstance(separator, str) or len(separator) != 1):
        raise ConfigError(f'{where}: separator must be one character, e.g. ";" or "\\t"')
    quote = data.get("quote")
    if quote is not None and (not isinstance(quote, str) or len(quote) != 1):
        raise ConfigError(f"{where}: quote must be one character, e.g. '\"'")
    encoding = data.get("encoding")
    if encoding is not None:
        import codecs

        try:
            encoding = codecs.lookup(str(encoding)).name
        except LookupError:
            raise ConfigError(f"{where}: unknown encoding {encoding!r}; e.g. cp1250") from None
    identifiers = data.get("identifiers", "phone")
    if identifiers not in _IDENTIFIERS:
        raise ConfigError(f"{where}: identifiers = {identifiers!r}; use phone or opaque")
    amount = _table(data, "amount", where)
    sign = amount.get("sign", "negative-is-debit")
    if sign not in _SIGNS:
        raise ConfigError(f"{where}: [amount] sign = {sign!r}; use {' or '.join(_SIGNS)}")
    extra = sorted(set(amount) - {"sign", "debit_values"})
    if extra:
        raise ConfigError(f"{where}: unknown key [amount] {extra[0]!r}; known: sign, debit_values")
    skip = data.get("skip_lines", 0)
    if not isinstance(skip, int) or isinstance(skip, bool) or skip < 0:
        raise ConfigError(f"{where}: skip_lines must be a whole number of lines (0 or more)")
    origin, unit = _step_time(_table(data, "time", where), where)
    values = _table(data, "values", where)
    columns = _column_names(_table(data, "columns", where), f"{where}: [columns]")
    constants = _strings(_table(data, "constants", where), f"{where}: [constants]")
    _check_names(columns, kind, f"{where}: [columns]")
    written = [
        v.strip().lower() for vs in columns.values() for v in ([vs] if isinstance(vs, str) else vs)
    ]
    twice = sorted({v for v in written if written.count(v) > 1})
    if twice:
        raise ConfigError(f"{where}: [columns] maps two columns to {twice[0]!r}; map each once")
    _check_names(constants, kind, f"{where}: [constants]")
    _check_names(values, kind, f"{where}: [values]")
    return Mapping(
        path=Path(path),
        kind=kind,
        columns=columns,
        separator=separator,
        encoding=encoding,
        quote=quote,
        decimal_comma=None if decimal is None else decimal == ",",
        date_format=data.get("date_format"),
        identifiers=identifiers,
        values={
            k: _strings(v, f"{where}: [values.{k}]") if isinstance(v, dict) else _bad(where, k)
            for k, v in values.items()
        },
        constants=constants,
        amount_sign=sign,
        debit_values=tuple(str(v) for v in amount.get("debit_values", [])),
        time_origin=origin,
        time_unit=unit,
        skip_lines=skip,
    )


def _check_names(table: dict[str, Any], kind: str | None, where: str) -> None:
    """Refuse a key that is no canonical column (a typo would silently ignore the column)."""
    kinds = [kind] if kind else list(KINDS)
    known = sorted({c for k in kinds for c in (*INPUT_COLUMNS[k], *DERIVING_COLUMNS[k])})
    for name in table:
        if name not in known:
            raise ConfigError(
                f"{where} names {name!r}, which is not a relmine column"
                f"{f' of {kind} files' if kind else ''}; known: {', '.join(known)}"
            )


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: {key} must be a table ([{key}])")
    return value


def _bad(where: str, key: str) -> dict[str, str]:
    raise ConfigError(f"{where}: [values.{key}] must be a table of value = canonical value")


def _column_names(table: dict[str, Any], where: str) -> dict[str, str | tuple[str, ...]]:
    """``[columns]``: a header name, or a list of them to be joined (date and time fields)."""
    out: dict[str, str | tuple[str, ...]] = {}
    for key, value in table.items():
        if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            out[str(key)] = tuple(value)
        elif isinstance(value, str):
            out[str(key)] = value
        else:
            raise ConfigError(f"{where} {key} must be a column name or a list of names")
    return out


def _strings(table: dict[str, Any], where: str) -> dict[str, str]:
    for key, value in table.items():
        if not isinstance(value, str | int | float) or isinstance(value, bool):
            raise ConfigError(f"{where} {key} must be a string")
    return {str(k): str(v) for k, v in table.items()}


def _step_time(table: dict[str, Any], where: str) -> tuple[datetime | None, timedelta | None]:
    """``[time] origin = "2026-01-01", unit = "1d"``: the time column counts steps of ``unit``."""
    if not table:
        return None, None
    extra = sorted(set(table) - {"origin", "unit"})
    if extra or not {"origin", "unit"} <= set(table):
        raise ConfigError(f'{where}: [time] needs origin = "YYYY-MM-DD" and unit = "1d" (only)')
    try:
        origin = datetime.fromisoformat(str(table["origin"]))
    except ValueError:
        raise ConfigError(
            f"{where}: [time] origin {table['origin']!r} is not an ISO date"
        ) from None
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*", str(table["unit"]))
    if match is None:
        raise ConfigError(
            f"{where}: [time] unit {table['unit']!r}; use a number and s, m, h, d or w (1d)"
        )
    unit = timedelta(**{_UNITS[match.group(2)]: float(match.group(1))})
    if origin.tzinfo is not None:
        raise ConfigError(f"{where}: [time] origin is local time; leave out the offset")
    return origin, unit


def check_layout(layout: Layout, path: Path, header: tuple[str, ...]) -> None:
    """Raise :class:`InputError` naming the required columns the file cannot provide."""
    missing = missing_columns(layout)
    if missing:
        raise InputError(
            f"column{'s' if len(missing) > 1 else ''} {', '.join(f'`{m}`' for m in missing)} "
            f"not found in {path.name} (read as {layout.kind}); found: {', '.join(header)[:200]}. "
            "Rename the columns or pass --mapping FILE (see examples/mappings/)"
        )
