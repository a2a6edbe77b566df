"""The cells table (SPEC §2 ``cells``): where each ``cell_id`` of the call records is.

A cell has one position: a row that gives a known cell other coordinates is rejected (the first
position, in the store or earlier in the file, wins).
"""

from __future__ import annotations

import polars as pl

from relmine.ingest.bank import parse_amount
from relmine.ingest.core import ReadContext, first_reason, raw

__all__ = ["TABLE", "normalise"]

TABLE = "cells"


def normalise(lf: pl.LazyFrame, ctx: ReadContext) -> pl.LazyFrame:
    """Add the store's ``cells`` columns and ``_reason`` to a scanned cells file."""
    comma = ctx.dialect.decimal_comma
    lf = lf.with_columns(
        cell_id=raw("cell_id"),
        lat=parse_amount(raw("lat"), decimal_comma=comma),
        lon=parse_amount(raw("lon"), decimal_comma=comma),
    )
    known = ctx.existing.group_by("cell_id").agg(
        pl.col("lat").first().alias("_lat"), pl.col("lon").first().alias("_lon")
    )
    lf = lf.join(known, on="cell_id", how="left", maintain_order="left").with_columns(
        pl.coalesce("_lat", pl.col("lat").first().over("cell_id", order_by="_line")).alias("_lat"),
        pl.coalesce("_lon", pl.col("lon").first().over("cell_id", order_by="_line")).alias("_lon"),
    )
    reason = first_reason(
        [
            (pl.col("cell_id").is_null(), "missing cell_id"),
            (pl.col("lat").is_null() | pl.col("lon").is_null(), "bad coordinates"),
            (
                ~pl.col("lat").is_between(-90, 90) | ~pl.col("lon").is_between(-180, 180),
                "bad coordinates",
            ),
            (
                (pl.col("_lat") != pl.col("lat")) | (pl.col("_lon") != pl.col("lon")),
                "cell listed twice with other coordinates",
            ),
        ]
    )
    return lf.with_columns(reason)
