"""bandicoot input (SPEC §2 ``bandicoot``): one file of records per subscriber, plus antennas.

The bandicoot toolbox keeps a subscriber's records in a file named after the subscriber, with
``interaction,direction,correspondent_id,datetime,call_duration,antenna_id`` (``antennas.csv``:
``antenna_id,latitude,longitude``). relmine reads each file as a subscriber-centric call-detail
file: the file name is the served subscriber, ``direction`` says who called (``out``: the
subscriber; ``in``: the correspondent), and the antenna is the subscriber's, so it is the call's
``cell_id`` only in ``out`` records.

Between two subscribers who both have a file, every call is in both files (``out`` in the
caller's, ``in`` in the callee's). It is one call: the ``in`` record whose ``out`` twin is in
another file of the same run is counted as a duplicate of its own file, so per file
``rows = accepted + rejected + duplicates`` still holds, and the stored call keeps the caller's
cell. Across runs the cell is not part of the duplicate key, for the same reason.

References
----------
Y.-A. de Montjoye, L. Rocher, A. S. Pentland, "bandicoot: a Python Toolbox for Mobile Phone
Metadata", Journal of Machine Learning Research 17(175), 2016.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from relmine.errors import InputError
from relmine.ingest.dialect import Dialect, layout_for, utf8_file
from relmine.ingest.mapping import RAW_PREFIX, Layout, Mapping, prepare

__all__ = ["ANTENNAS", "bandicoot_files", "bandicoot_layout", "mark_mirrors", "outgoing_records"]

#: The antennas file of a bandicoot directory, read as ``cells``.
ANTENNAS = "antennas.csv"
_KEY = ("caller", "callee", "start_time", "type", "duration_s")


def bandicoot_files(paths: Sequence[Path]) -> list[tuple[Path, str]]:
    """Each file with its kind: ``antennas.csv`` is ``cells``, every other file a subscriber's.

    Raises
    ------
    InputError
        If a path does not exist or a directory holds no ``.csv`` file.
    """
    out: list[tuple[Path, str]] = []
    for p in paths:
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() == ".csv")
            if not found:
                raise InputError(f"{p} is a directory with no .csv files in it")
        elif p.exists():
            found = [p]
        else:
            raise InputError(f"{p} does not exist")
        out.extend((q, "cells" if q.name.lower() == ANTENNAS else "bandicoot") for q in found)
    return out


def bandicoot_layout(dialect: Dialect, path: Path, mapping: Mapping) -> Layout:
    """A subscriber file's layout: a cdr file whose served subscriber is the file name.

    Raises
    ------
    InputError
        If the file has no ``direction`` column (it would not say who called).
    """
    layout = layout_for(dialect, "cdr", path, mapping)
    if "direction" not in layout.columns:
        raise InputError(
            f"{path.name} has no `direction` column, so it is not a bandicoot file "
            f"(found: {', '.join(dialect.header)[:200]}); bandicoot files have "
            "interaction,direction,correspondent_id,datetime,call_duration,antenna_id"
        )
    return dataclasses.replace(layout, constants={"served": path.stem}, opaque=True)


def _keys(lf: pl.LazyFrame) -> list[pl.Expr]:
    names = lf.collect_schema().names()
    return [
        (
            pl.col(RAW_PREFIX + c).str.to_lowercase() if c == "type" else pl.col(RAW_PREFIX + c)
        ).alias(f"_k_{c}")
        if RAW_PREFIX + c in names
        else pl.lit(None, pl.String).alias(f"_k_{c}")
        for c in _KEY
    ]


def outgoing_records(plans: Sequence[Any]) -> pl.DataFrame:
    """The key of every ``out`` record in the run's subscriber files (for :func:`mark_mirrors`)."""
    from relmine.ingest.core import scan_text

    parts = []
    for plan in plans:  # one scan per file: the keys of a file are few
        with utf8_file(plan.path, plan.dialect) as readable:
            raw_rows = scan_text(readable, plan.dialect).collect()
        lf = prepare(raw_rows.lazy(), plan.layout, decimal_comma=plan.dialect.decimal_comma)
        outgoing = pl.col(RAW_PREFIX + "caller") == pl.col(RAW_PREFIX + "served")
        parts.append(lf.filter(outgoing).select(_keys(lf)).collect())
    if not parts:
        return pl.DataFrame(schema={f"_k_{c}": pl.String for c in _KEY})
    return pl.concat(parts).unique()


def mark_mirrors(lf: pl.LazyFrame, mirrors: pl.DataFrame) -> pl.LazyFrame:
    """Add ``_mirror``: an ``in`` record whose ``out`` twin is in another subscriber's file."""
    keyed = lf.with_columns(_keys(lf))
    names = [f"_k_{c}" for c in _KEY]
    incoming = pl.col(RAW_PREFIX + "caller") != pl.col(RAW_PREFIX + "served")
    joined = keyed.join(
        mirrors.lazy().with_columns(_twin=pl.lit(True)),
        on=names,
        how="left",
        nulls_equal=True,
        maintain_order="left",
    )
    return joined.with_columns(
        _mirror=(incoming & pl.col("_twin").fill_null(False)).fill_null(False)
    ).drop(*names, "_twin")
