"""The customers register (SPEC §2 ``customers``): one row per phone or account of a customer.

The register is what makes one person with two SIMs and an account one node: every identifier it
lists resolves to its ``customer_id`` (see :mod:`relmine.register`). An identifier can belong to
one customer only, so a row that gives an already-registered phone or account to another customer
is rejected (the first registration, in the store or earlier in the file, wins).
"""

from __future__ import annotations

from functools import partial

import polars as pl

from relmine.ingest.bank import parse_amount
from relmine.ingest.core import ReadContext, first_reason, map_identifiers, raw
from relmine.ingest.identity import account_answers, phone_answers

__all__ = ["TABLE", "normalise"]

TABLE = "customers"
_TRUE = ["true", "1", "yes", "y", "t"]
_FALSE = ["false", "0", "no", "n", "f"]
_KINDS = ["person", "company", "employee"]


def _owner_conflict(name: str) -> pl.Expr:
    """True where identifier ``name`` already belongs to another customer."""
    return pl.col(name).is_not_null() & (pl.col(f"_owner_{name}") != pl.col("customer_id"))


def normalise(lf: pl.LazyFrame, ctx: ReadContext) -> pl.LazyFrame:
    """Add the store's ``customers`` columns and ``_reason`` to a scanned register file."""
    if ctx.has("phone"):
        phones = partial(phone_answers, region=ctx.settings.region)
        lf = map_identifiers(lf, ["phone"], phones, value="phone")
    else:
        lf = lf.with_columns(phone=pl.lit(None, pl.String), phone_reason=pl.lit(None, pl.String))
    if ctx.has("account"):
        lf = map_identifiers(lf, ["account"], account_answers, value="account")
    else:
        lf = lf.with_columns(
            account=pl.lit(None, pl.String), account_reason=pl.lit(None, pl.String)
        )
    flag = ctx.col("defaulted").str.to_lowercase()
    kind = ctx.col("kind").str.to_lowercase().fill_null("person")
    lf = lf.with_columns(
        customer_id=raw("customer_id"),
        name=ctx.col("name"),
        income=parse_amount(ctx.col("income"), decimal_comma=ctx.dialect.decimal_comma),
        assets=parse_amount(ctx.col("assets"), decimal_comma=ctx.dialect.decimal_comma),
        defaulted=pl.when(flag.is_in(_TRUE)).then(True).when(flag.is_in(_FALSE)).then(False),
        segment=ctx.col("segment"),
        kind=kind,
        employer_id=ctx.col("employer_id"),
        department=ctx.col("department"),
        cost_center=ctx.col("cost_center"),
    )
    # Who owns each identifier: the store's register first, then this file in line order.
    for name in ("phone", "account"):
        known = (
            ctx.existing.filter(pl.col(name).is_not_null())
            .group_by(name)
            .agg(pl.col("customer_id").first().alias("_known"))
        )
        lf = (
            lf.join(known, on=name, how="left", maintain_order="left")
            .with_columns(
                pl.coalesce(
                    "_known", pl.col("customer_id").first().over(name, order_by="_line")
                ).alias(f"_owner_{name}")
            )
            .drop("_known")
        )
    reason = first_reason(
        [
            (pl.col("customer_id").is_null(), "missing customer_id"),
            (pl.col("phone_reason").is_not_null(), pl.col("phone_reason")),
            (pl.col("account_reason").is_not_null(), pl.col("account_reason")),
            (ctx.col("income").is_not_null() & pl.col("income").is_null(), "bad income"),
            (ctx.col("assets").is_not_null() & pl.col("assets").is_null(), "bad assets"),
            (flag.is_not_null() & pl.col("defaulted").is_null(), "bad defaulted flag"),
            (~pl.col("kind").is_in(_KINDS), "unknown customer kind"),
            (_owner_conflict("phone"), "phone registered to another customer"),
            (_owner_conflict("account"), "account registered to another customer"),
        ]
    )
    return lf.with_columns(reason)
