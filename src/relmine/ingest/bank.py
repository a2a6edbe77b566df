"""Bank statements (SPEC §2 ``bank``): one row per booking on a statement of one of our accounts.

Accounts become compact IBANs with validated check digits (other account numbers are kept compact).
Each booking also names the transfer it shows: ``src`` pays ``value`` to ``dst``. A transfer between
two of our own accounts is booked on both statements — a debit on the payer's and a credit on the
payee's — and both bookings name the same transfer, which is how it is counted once.
"""

from __future__ import annotations

import polars as pl

from relmine.ingest.core import ReadContext, first_reason, map_identifiers, raw
from relmine.ingest.identity import account_answers
from relmine.ingest.timestamps import parse_timestamps

__all__ = ["TABLE", "normalise", "parse_amount"]

TABLE = "bank"


def parse_amount(column: pl.Expr, *, decimal_comma: bool) -> pl.Expr:
    """Parse a signed amount (``-1 234,50`` with a decimal comma, ``-1234.50`` without).

    Spaces (also non-breaking) group thousands; with a decimal comma, dots group thousands too.
    """
    text = column.str.replace_all(r"[\s\u00a0\u202f']", "")
    if decimal_comma:
        text = text.str.replace_all(".", "", literal=True).str.replace(",", ".", literal=True)
    return text.cast(pl.Float64, strict=False)


def normalise(lf: pl.LazyFrame, ctx: ReadContext) -> pl.LazyFrame:
    """Add the store's ``bank`` columns and ``_reason`` to a scanned statement file."""
    names = ["account", "counterparty"] if ctx.has("counterparty") else ["account"]
    lf = map_identifiers(
        lf, names, account_answers, value="account", cache=ctx.answers_of("account")
    )
    if not ctx.has("counterparty"):
        lf = lf.with_columns(
            counterparty=pl.lit(None, pl.String), counterparty_reason=pl.lit(None, pl.String)
        )

    fmt = ctx.timestamps("booked_at")
    lf = parse_timestamps(lf, raw("booked_at"), fmt, timezone=ctx.settings.timezone)
    currency = ctx.col("currency").str.to_uppercase().fill_null(ctx.settings.currency)
    lf = lf.with_columns(
        amount=parse_amount(raw("amount"), decimal_comma=ctx.dialect.decimal_comma),
        currency=currency,
    )
    reason = first_reason(
        [
            (raw("account").is_null(), "missing account"),
            (raw("amount").is_null(), "missing amount"),
            (raw("booked_at").is_null(), "missing booked_at"),
            (pl.col("account_reason").is_not_null(), pl.col("account_reason")),
            (pl.col("counterparty_reason").is_not_null(), pl.col("counterparty_reason")),
            (pl.col("amount").is_null() | ~pl.col("amount").is_finite(), "bad amount"),
            (pl.col("ts_utc").is_null(), "bad timestamp"),
            (~pl.col("currency").str.contains(r"^[A-Z]{3}$"), "bad currency"),
        ]
    )
    outgoing = pl.col("amount") < 0
    return lf.with_columns(
        reason,
        description=ctx.col("description"),
        counterparty_name=ctx.col("counterparty_name"),
        src=pl.when(outgoing).then(pl.col("account")).otherwise(pl.col("counterparty")),
        dst=pl.when(outgoing).then(pl.col("counterparty")).otherwise(pl.col("account")),
        value=pl.col("amount").abs(),
    )
