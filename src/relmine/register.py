"""Resolving identifiers to graph nodes through the customers register (SPEC §2 "Identity").

A node is the ``customer_id`` where the register lists the identifier, else the normalised
identifier itself (E.164 phone number or compact IBAN). Resolution happens when the store is read,
not at ingest, so a register ingested after the events still applies to them.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from relmine.errors import UnknownParty
from relmine.store import Store

__all__ = ["Party", "find_party", "node_map", "resolve"]


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


def resolve(identifiers: pl.LazyFrame, store: Store, *, column: str = "identifier") -> pl.LazyFrame:
    """Add ``node_id`` to a frame with an identifier column, using the store's register."""
    mapping = node_map(store).rename({"identifier": column})
    return identifiers.join(mapping, on=column, how="left").with_columns(
        pl.coalesce("node_id", column).alias("node_id")
    )


@dataclass(frozen=True)
class Party:
    """One party of the graph, as found from what a user typed.

    Attributes
    ----------
    node_id : str
        The graph node: the ``customer_id``, else the normalised phone number or account.
    identifiers : tuple of str
        Every normalised phone number and account that resolves to the node, sorted (the
        register's for a customer, else the node id itself).
    matched : str
        How the text was read: ``customer id``, ``phone`` or ``account``.
    in_register : bool
        Whether the customers register lists the party.
    """

    node_id: str
    identifiers: tuple[str, ...]
    matched: str
    in_register: bool


def find_party(store: Store, text: str) -> Party:
    """The party a user means by ``text``: a customer id, a phone number or an account.

    The text is tried as a ``customer_id`` of the register, then as a phone number and as an
    account in the normal forms ingest gives them (E.164 for the store's region through
    :func:`relmine.ingest.identity.phone_table`; compact upper-case IBAN or internal number
    through :func:`~relmine.ingest.identity.account_table`), so ``0905 123 456``,
    ``+421905123456`` and ``00421905123456`` find the same party, and so do an IBAN in groups of
    four and in lower case. An identifier the register lists resolves to its customer; one it
    does not list is a party of its own if some call, message or transfer in the store has it.

    Raises
    ------
    UnknownParty
        If the text is none of these.

    Examples
    --------
    >>> find_party(store, "0905 123 456").node_id  # doctest: +SKIP
    'C10000971'
    """
    from relmine.ingest.identity import account_table, phone_table

    wanted = text.strip()
    customers = store.scan("customers")
    if customers.filter(pl.col("customer_id") == wanted).head(1).collect().height:
        return _customer(store, wanted, "customer id")
    raw = pl.Series([wanted], dtype=pl.String)
    forms = [
        ("phone", phone_table(raw, region=store.settings.region)["phone"][0]),
        ("account", account_table(raw)["account"][0]),
    ]
    for matched, identifier in forms:
        if not identifier:
            continue
        owner = node_map(store).filter(pl.col("identifier") == identifier).collect()
        if owner.height:
            return _customer(store, owner["node_id"][0], matched)
        if _in_events(store, identifier, phone=matched == "phone"):
            return Party(identifier, (identifier,), matched, in_register=False)
    raise UnknownParty(
        f"{text!r} is no customer id, phone number or account in the store {store.root}; check "
        f"the writing (national phone numbers are read for region {store.settings.region}) "
        "or look the party up in the outputs of `relmine graph`"
    )


def _customer(store: Store, customer_id: str, matched: str) -> Party:
    rows = store.scan("customers").filter(pl.col("customer_id") == customer_id)
    ids = pl.concat([rows.select(i=pl.col("phone")), rows.select(i=pl.col("account"))])
    identifiers = ids.drop_nulls().unique().sort("i").collect()["i"]
    return Party(customer_id, tuple(identifiers.to_list()), matched, in_register=True)


def _in_events(store: Store, identifier: str, *, phone: bool) -> bool:
    """Whether a call or message (``phone``), else a transfer, has ``identifier`` at one end."""
    table, ends = ("cdr", ("caller", "callee")) if phone else ("bank", ("src", "dst"))
    hit = pl.any_horizontal(pl.col(c) == identifier for c in ends)
    return store.scan(table).filter(hit).select(ends[0]).head(1).collect().height > 0
