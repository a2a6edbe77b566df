"""Call-detail records (SPEC §2 ``cdr``): one row per call or message.

Phone numbers become E.164 (:func:`~relmine.ingest.identity.phone_table`, applied to the distinct
values by :func:`~relmine.ingest.core.map_identifiers`), timestamps become an instant plus local
wall-clock time, and the event type is mapped onto voice/sms/mms. Without a ``type`` column (or an
empty cell), a row with a positive duration is a voice call and one without is a message.
"""

from __future__ import annotations

from functools import partial

import polars as pl

from relmine.ingest.bank import parse_amount
from relmine.ingest.core import ReadContext, first_reason, map_identifiers, raw
from relmine.ingest.identity import phone_answers
from relmine.ingest.timestamps import parse_timestamps
from relmine.schema import EVENT_TYPES, TYPE_ALIASES

__all__ = ["TABLE", "normalise"]

TABLE = "cdr"
_MAX_DURATION_S = 2**31 - 1


def normalise(lf: pl.LazyFrame, ctx: ReadContext) -> pl.LazyFrame:
    """Add the store's ``cdr`` columns and ``_reason`` to a scanned call-detail file."""
    phones = partial(phone_answers, region=ctx.settings.region)
    # A phone is null exactly when missing or invalid, and the reason is always the same.
    lf = map_identifiers(
        lf,
        ["caller", "callee"],
        phones,
        value="phone",
        reasons=False,
        cache=ctx.answers_of("phone"),
    )
    if ctx.opaque_ids:
        # Subscriber ids (bandicoot, hashed dumps): a phone number still becomes E.164, any
        # other id is kept as written.
        lf = lf.with_columns(
            caller=pl.coalesce("caller", raw("caller")), callee=pl.coalesce("callee", raw("callee"))
        )

    fmt = ctx.timestamps("start_time")
    lf = parse_timestamps(lf, raw("start_time"), fmt, timezone=ctx.settings.timezone)
    seconds = (
        parse_amount(ctx.col("duration_s"), decimal_comma=True)
        if ctx.dialect.decimal_comma
        else ctx.col("duration_s").cast(pl.Float64, strict=False)
    )
    lf = lf.with_columns(_seconds=seconds)
    event = pl.Enum(list(EVENT_TYPES))
    inferred = (
        pl.when(pl.col("_seconds") > 0)
        .then(pl.lit("voice", dtype=event))
        .otherwise(pl.lit("sms", dtype=event))
    )
    lf = lf.with_columns(
        _type=pl.when(ctx.col("type").is_null())
        .then(inferred)
        .otherwise(_event_types(lf, ctx) if ctx.has("type") else None)
    )
    reason = first_reason(
        [
            (raw("caller").is_null(), "missing caller"),
            (raw("callee").is_null(), "missing callee"),
            (raw("start_time").is_null(), "missing start_time"),
            (pl.col("ts_utc").is_null(), "bad timestamp"),
            (pl.col("caller").is_null(), "invalid phone number"),
            (pl.col("callee").is_null(), "invalid phone number"),
            (ctx.col("duration_s").is_not_null() & pl.col("_seconds").is_null(), "bad duration"),
            (pl.col("_seconds") < 0, "negative duration"),
            (~pl.col("_seconds").is_between(0, _MAX_DURATION_S), "bad duration"),  # NaN, inf
            (pl.col("_type").is_null(), "unknown type"),
        ]
    )
    return lf.with_columns(
        reason,
        duration_s=pl.col("_seconds").round().cast(pl.Int32, strict=False),
        type=pl.col("_type"),
        cell_id=ctx.col("cell_id"),
        roaming_country=ctx.col("roaming_country").str.to_uppercase(),
    )


def _event_types(lf: pl.LazyFrame, ctx: ReadContext) -> pl.Expr:
    """The ``type`` column as :data:`~relmine.schema.EVENT_TYPES` (null where unknown).

    Aliases are resolved once per distinct spelling (a file has a handful), and each row picks
    its answer by a lookup; a file that writes only the canonical names is merely cast. Both cost
    a fraction of lower-casing every row and matching it against the aliases.
    """
    event = pl.Enum(list(EVENT_TYPES))
    written = lf.select(raw("type").unique()).collect().to_series().drop_nulls()
    canonical = written.str.to_lowercase().replace_strict(
        TYPE_ALIASES, default=None, return_dtype=pl.String
    )
    if written.eq_missing(canonical).all():
        return raw("type").cast(event)
    return raw("type").replace_strict(written, canonical, default=None, return_dtype=event)
