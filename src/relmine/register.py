"""Resolving identifiers to graph nodes through the customers register (SPEC §2 "Identity").

A node is the ``customer_id`` where the register lists the identifier, else the normalised
identifier itself (E.164 phone number or compact IBAN). Resolution happens when the store is read,
not at ingest, so a register ingested after the events still applies to them.
"""

from __future__ import annotations

import polars as pl

from relmine.store import Store

__all__ = ["event_identifiers", "node_map", "resolve"]


def node_map(store: Store) -> pl.LazyFrame:
    """``identifier -> node_id`` for every phone and account in the register."""
    customers = store.scan("customers")
    phones = customers.select(identifier=pl.col("phone"), node_id=pl.col("customer_id"))
    accounts = customers.select(identifier=pl.col("account"), node_id=pl.col("customer_id"))
    return (
        pl.concat([phones, accounts])
        .drop_nulls("identifier")
        .unique("identifier", keep="first", maintain_order=True)
    )


def event_identifiers(store: Store) -> pl.LazyFrame:
    """Every identifier that takes part in a relationship event, with its channel.

    Columns ``identifier`` and ``channel`` (``phone`` or ``account``); one row per distinct pair.
    """
    cdr = store.scan("cdr")
    bank = store.scan("bank").filter(pl.col("counterparty").is_not_null())
    parts = [
        cdr.select(identifier=pl.col("caller")),
        cdr.select(identifier=pl.col("callee")),
    ]
    phones = pl.concat(parts).with_columns(channel=pl.lit("phone"))
    accounts = pl.concat(
        [bank.select(identifier=pl.col("src")), bank.select(identifier=pl.col("dst"))]
    ).with_columns(channel=pl.lit("account"))
    return pl.concat([phones, accounts]).unique()


def resolve(identifiers: pl.LazyFrame, store: Store, *, column: str = "identifier") -> pl.LazyFrame:
    """Add ``node_id`` to a frame with an identifier column, using the store's register."""
    mapping = node_map(store).rename({"identifier": column})
    return identifiers.join(mapping, on=column, how="left").with_columns(
        pl.coalesce("node_id", column).alias("node_id")
    )
