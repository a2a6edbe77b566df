"""The contact card of one party: who they are, how and when they are in touch, and with whom.

A card is a list of :class:`Section` s, each made by one small function of a :class:`_Context`
(:data:`SECTIONS`). A new view of a party (an influence rank, risk flags) is one more function
appended to that list; the terminal renders any section (:func:`relmine.render.card_renderables`)
and ``--format json`` gives each one under its key.

What the card reads:

* the party's own events only: the store is read through a view that filters the raw phone
  numbers and accounts of the party in the Parquet scans (:class:`_PartyView`), before
  :func:`relmine.graph.relationship_events` resolves identifiers through the register, so a card
  does not resolve every event of a large store;
* the tie table, for the strongest contacts with the evidence behind each tie;
* households and communities of the whole graph, which one party's cannot be computed without
  (household ids and community ids are numbered over all of them). They are computed only for a
  party with ties, or read from the output of an earlier ``relmine households`` /
  ``relmine communities`` (``--households FILE``, ``--communities FILE``), which is how a card
  on a large store is fast.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from relmine.config import Settings
from relmine.errors import ConfigError
from relmine.graph import CHANNELS, Window, excluded_parties, relationship_events
from relmine.households import _evidence_expr
from relmine.register import Party
from relmine.store import Store

__all__ = ["SECTIONS", "WEEKDAYS", "ContactCard", "Section", "contact_card", "party_events"]

#: Row labels of the hour x weekday grid (ISO weekday order).
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")

_TIME = "%Y-%m-%d %H:%M:%S"

#: Columns an earlier output must have to be read back (``--households``, ``--communities``).
_GROUP_COLUMNS = {
    "households": ("node_id", "household_id", "household_size", "confidence", "evidence"),
    "communities": ("node_id", "community_id", "community_size"),
    "influencers": ("rank", "node_id", "score"),  # read by relmine.report
    "risk": ("exposure_rank", "node_id", "exposure", "network_capacity", "explanation"),
}

#: What the influence and risk sections show of the party's row.
_INFLUENCE_KEYS = ("rank", "score", "reach", "dependents", "domino", "explanation")
_RISK_KEYS = (
    "exposure_rank",
    "exposure",
    "exposure_via",
    "network_capacity",
    "in_cycle",
    "single_counterparty",
    "explanation",
)


@dataclass(frozen=True)
class Section:
    """One part of a card: its JSON key, its heading, and its data (JSON-ready values)."""

    key: str
    title: str
    data: Any


@dataclass(frozen=True)
class ContactCard:
    """The card of one party: its node id and its sections, in order."""

    node_id: str
    sections: tuple[Section, ...]

    def to_dict(self) -> dict[str, Any]:
        """The card as one JSON object: ``node_id`` and one key per section."""
        return {"node_id": self.node_id, **{s.key: s.data for s in self.sections}}


@dataclass
class _PartyView(Store):
    """The store seen through one party's identifiers: its calls, messages and transfers only.

    The filter is on the raw identifier columns, so Polars applies it while reading the Parquet
    files; a filter on node ids after :func:`relmine.graph.relationship_events` could not be
    pushed below its register join and would resolve every event of the store first.
    """

    identifiers: tuple[str, ...] = ()

    def scan(self, table: str) -> pl.LazyFrame:
        ends = {"cdr": ("caller", "callee"), "bank": ("src", "dst")}.get(table)
        frame = super().scan(table)
        if ends is None:
            return frame
        mine = pl.lit(pl.Series(self.identifiers, dtype=pl.String)).implode()
        return frame.filter(pl.any_horizontal(pl.col(c).is_in(mine) for c in ends))


def party_events(
    store: Store, party: Party, *, window: Window = Window(), channels: tuple[str, ...] = CHANNELS
) -> pl.DataFrame:
    """The relationship events of one party, with its side and the other party of each.

    Returns
    -------
    DataFrame
        The columns of :func:`relmine.graph.relationship_events` and ``made`` (the party called
        or paid) and ``other`` (the node at the other end).
    """
    view = _PartyView(store.root, store.manifest, store.settings, identifiers=party.identifiers)
    node = party.node_id
    events = relationship_events(view, window=window, channels=channels)
    return (
        events.filter((pl.col("u") == node) | (pl.col("v") == node))
        .with_columns(made=pl.col("u") == node)
        .with_columns(other=pl.when("made").then("v").otherwise("u"))
        .collect(engine="streaming")
    )


@dataclass
class _Context:
    """Everything a section may need, each part read or computed only when a section asks."""

    store: Store
    party: Party
    ties: pl.DataFrame
    window: Window
    channels: tuple[str, ...]
    settings: Settings
    top: int
    households_file: Path | None = None
    communities_file: Path | None = None
    community_options: dict[str, Any] = field(default_factory=dict)
    influencers_file: Path | None = None
    risk_file: Path | None = None

    @property
    def node(self) -> str:
        return self.party.node_id

    @cached_property
    def events(self) -> pl.DataFrame:
        return party_events(self.store, self.party, window=self.window, channels=self.channels)

    @cached_property
    def contacts(self) -> pl.DataFrame:
        """The party's ties, each with the other party and the tie's share of the party's."""
        mine = self.ties.filter((pl.col("a") == self.node) | (pl.col("b") == self.node))
        first = pl.col("a") == self.node
        return mine.with_columns(
            other=pl.when(first).then("b").otherwise("a"),
            share=pl.when(first).then("share_a").otherwise("share_b"),
            evidence=_evidence_expr(),
        ).sort(["weight", "other"], descending=[True, False])

    @cached_property
    def households(self) -> pl.LazyFrame:
        if self.households_file is not None:
            return _scan_output(self.households_file, "households")
        from relmine.households import detect_households

        found = detect_households(self.ties, self.store, window=self.window, settings=self.settings)
        return found.lazy()

    @cached_property
    def communities(self) -> tuple[pl.LazyFrame, str]:
        """The communities of the whole graph, and where they come from."""
        if self.communities_file is not None:
            return _scan_output(self.communities_file, "communities"), str(self.communities_file)
        from relmine.communities import detect_communities

        apart = excluded_parties(self.ties, self.store, self.settings)
        found = detect_communities(self.ties, apart=apart, **self.community_options)
        source = (
            f"{found.method}, resolution {found.resolution}, seed {self.community_options['seed']}"
        )
        return found.frame.lazy(), source

    @cached_property
    def influencers(self) -> tuple[pl.LazyFrame, pl.DataFrame | None, str]:
        """Every ranked party, why the others are not ranked (when computed), the source."""
        if self.influencers_file is not None:
            path = self.influencers_file
            return _scan_output(path, "influencers"), None, str(path)
        from relmine.influence import rank_influencers

        seed = self.community_options.get("seed", 0)
        found = rank_influencers(self.ties, self.store, top=0, seed=seed, settings=self.settings)
        return found.frame.lazy(), found.excluded, f"computed, seed {seed}"

    @cached_property
    def risk(self) -> tuple[pl.LazyFrame, str]:
        """Every register customer's network risk, and where it comes from."""
        if self.risk_file is not None:
            return _scan_output(self.risk_file, "risk"), str(self.risk_file)
        from relmine.risk import network_risk

        found = network_risk(self.ties, self.store, window=self.window, settings=self.settings)
        return found.lazy(), "computed"


def _identity(ctx: _Context) -> Section:
    """Who the party is: the register's record, every phone number and account."""
    party = ctx.party
    record: dict[str, Any] = {"node_id": party.node_id, "matched_as": party.matched}
    record["in_register"] = party.in_register
    if not party.in_register:
        fields = dict.fromkeys(("name", "kind", "segment"))
        phones = [party.node_id] if party.matched == "phone" else []
        accounts = [party.node_id] if party.matched == "account" else []
        record |= {**fields, "phones": phones, "accounts": accounts}
        return Section("identity", f"contact card of {party.node_id}", record)
    customers = ctx.store.scan("customers").filter(pl.col("customer_id") == party.node_id)
    described = customers.select(
        pl.col("name", "kind", "segment").drop_nulls().first(),
        phones=pl.col("phone").drop_nulls().unique().sort().implode(),
        accounts=pl.col("account").drop_nulls().unique().sort().implode(),
    ).collect()
    record |= described.to_dicts()[0]
    return Section("identity", f"contact card of {party.node_id}", record)


def _activity(ctx: _Context) -> Section:
    """Events made and received per channel, contacts, minutes, money, first and last contact."""
    events = ctx.events
    made = pl.col("made")
    per_channel = (
        events.group_by("channel")
        .agg(
            events=pl.len(),
            made=made.sum(),
            received=(~made).sum(),
            contacts=pl.col("other").n_unique(),
            minutes=(pl.col("duration_s").sum() / 60).round(1),
            amount_out=pl.col("value").filter(made).sum().round(2),
            amount_in=pl.col("value").filter(~made).sum().round(2),
            first=pl.col("ts_local").min().dt.to_string(_TIME),
            last=pl.col("ts_local").max().dt.to_string(_TIME),
        )
        .sort("channel")
        .with_columns(
            pl.col("channel").cast(pl.String),
            minutes=pl.when(pl.col("channel") == "voice").then("minutes"),
            amount_out=pl.when(pl.col("channel") == "bank").then("amount_out"),
            amount_in=pl.when(pl.col("channel") == "bank").then("amount_in"),
        )
    )
    first, last = events["ts_local"].min(), events["ts_local"].max()
    data = {
        "events": events.height,
        "contacts": events["other"].n_unique(),
        "first_contact": first.strftime(_TIME) if isinstance(first, dt.datetime) else None,
        "last_contact": last.strftime(_TIME) if isinstance(last, dt.datetime) else None,
        "channels": per_channel.to_dicts(),
    }
    return Section("activity", "activity", data)


def _top_contacts(ctx: _Context) -> Section:
    """The strongest ties, with the tie's weight, its share of the party's, and its evidence."""
    shown = ctx.contacts.head(ctx.top).select(
        node_id="other",
        weight=pl.col("weight").round(4),
        share=pl.col("share").round(4),
        voice_n="voice_n",
        sms_n="sms_n",
        bank_n="bank_n",
        active_days="active_days",
        last_at=pl.col("last_at").dt.to_string(_TIME),
        evidence="evidence",
    )
    title = f"strongest contacts ({shown.height} of {ctx.contacts.height:,})"
    return Section("top_contacts", title, shown.to_dicts())


def _activity_grid(ctx: _Context) -> Section:
    """Calls and messages by local hour and weekday (transfers are booked by date, not hour)."""
    phone = ctx.events.filter(pl.col("channel") != "bank")
    counts = phone.group_by(
        day=pl.col("ts_local").dt.weekday() - 1, hour=pl.col("ts_local").dt.hour()
    ).agg(n=pl.len())
    grid = np.zeros((len(WEEKDAYS), 24), dtype=np.int64)
    grid[counts["day"].to_numpy(), counts["hour"].to_numpy()] = counts["n"].to_numpy()
    data = {"weekdays": list(WEEKDAYS), "hours": list(range(24)), "counts": grid.tolist()}
    return Section("activity_grid", "calls and messages by hour and weekday", data)


def _monthly(ctx: _Context) -> Section:
    """Events per month and channel, every month from the first to the last (seasonality)."""
    events = ctx.events
    if events.height == 0:
        return Section("monthly", "events per month", [])
    month = pl.col("ts_local").dt.truncate("1mo").dt.date()
    months = pl.date_range(
        events.select(month.min()).item(), events.select(month.max()).item(), "1mo", eager=True
    )
    counts = [
        events.filter(pl.col("channel") == c).group_by(month=month).agg(pl.len().alias(c))
        for c in CHANNELS
    ]
    table = months.to_frame("month")
    for count in counts:
        table = table.join(count, on="month", how="left")
    table = table.with_columns(pl.col(CHANNELS).fill_null(0).cast(pl.Int64)).with_columns(
        total=pl.sum_horizontal(CHANNELS), month=pl.col("month").dt.to_string("%Y-%m")
    )
    return Section("monthly", "events per month", table.to_dicts())


def _household(ctx: _Context) -> Section:
    """The party's household and its other members, with the evidence for each."""
    record: dict[str, Any] = dict.fromkeys(_GROUP_COLUMNS["households"][1:])
    record["members"] = []
    if ctx.contacts.height == 0:
        record["evidence"] = "no ties in this window and these channels"
        return Section("household", "household", record)
    mine = ctx.households.filter(pl.col("node_id") == ctx.node).collect()
    if mine.height == 0:
        record["evidence"] = "not in the households read"
        return Section("household", "household", record)
    record |= mine.select(_GROUP_COLUMNS["households"][1:]).to_dicts()[0]
    others = ctx.households.filter(
        (pl.col("household_id") == record["household_id"]) & (pl.col("node_id") != ctx.node)
    )
    members = others.select("node_id", "confidence", "evidence").sort("node_id").collect()
    record["members"] = members.to_dicts()
    return Section("household", "household", record)


def _community(ctx: _Context) -> Section:
    """The party's community, and how much of its contact stays inside it."""
    keys = ("community_id", "community_size", "contacts_inside", "weight_inside", "source")
    record: dict[str, Any] = dict.fromkeys(keys)
    if ctx.contacts.height == 0:
        return Section("community", "community", record)
    communities, record["source"] = ctx.communities
    found = communities.filter(pl.col("node_id") == ctx.node).collect()
    if found.height == 0:
        return Section("community", "community", record)
    record |= found.select("community_id", "community_size").to_dicts()[0]
    peers = communities.filter(pl.col("community_id") == record["community_id"])
    inside = ctx.contacts.join(
        peers.select(other="node_id").collect(), on="other", how="semi"
    ).select(n=pl.len(), w=pl.col("weight").sum())
    record["contacts_inside"] = inside["n"].item()
    record["weight_inside"] = round(inside["w"].item() / ctx.contacts["weight"].sum(), 4)
    return Section("community", "community", record)


def _influence(ctx: _Context) -> Section:
    """The party's influence rank, score and domino (the customers its churn would take)."""
    record: dict[str, Any] = dict.fromkeys([*_INFLUENCE_KEYS, "ranked", "source"])
    if ctx.contacts.height == 0:
        record["explanation"] = "no ties in this window and these channels"
        return Section("influence", "influence", record)
    ranked, excluded, record["source"] = ctx.influencers
    record["ranked"] = ranked.select(pl.len()).collect().item()
    mine = ranked.filter(pl.col("node_id") == ctx.node).collect()
    if mine.height:
        shown = [k for k in _INFLUENCE_KEYS if k in mine.columns]
        record |= mine.select(shown).to_dicts()[0]
        return Section("influence", "influence", record)
    why = excluded.filter(pl.col("node_id") == ctx.node) if excluded is not None else None
    record["explanation"] = (
        f"not an influencer: {why['reason'][0]}"
        if why is not None and why.height
        else "not among the influencers read"
    )
    return Section("influence", "influence", record)


def _risk(ctx: _Context) -> Section:
    """The customer's network credit capacity, exposure to defaults and risk flags."""
    record: dict[str, Any] = dict.fromkeys([*_RISK_KEYS, "source"])
    if not ctx.party.in_register:
        record["explanation"] = "not a customer of the register: no risk figures"
        return Section("risk", "network risk", record)
    if ctx.contacts.height == 0:
        record["explanation"] = "no ties in this window and these channels"
        return Section("risk", "network risk", record)
    frame, record["source"] = ctx.risk
    mine = frame.filter(pl.col("node_id") == ctx.node).collect()
    if mine.height == 0:
        record["explanation"] = "not in the risk figures read"
        return Section("risk", "network risk", record)
    shown = [k for k in _RISK_KEYS if k in mine.columns]
    record |= mine.select(shown).to_dicts()[0]
    return Section("risk", "network risk", record)


#: The sections of a card, in order: each a function of the context returning a Section.
SECTIONS: tuple[Callable[[_Context], Section], ...] = (
    _identity,
    _activity,
    _top_contacts,
    _activity_grid,
    _monthly,
    _household,
    _community,
    _influence,
    _risk,
)


def contact_card(
    store: Store,
    party: Party,
    *,
    ties: pl.DataFrame,
    window: Window = Window(),
    channels: tuple[str, ...] = CHANNELS,
    settings: Settings | None = None,
    top: int | None = None,
    households: Path | None = None,
    communities: Path | None = None,
    influencers: Path | None = None,
    risk: Path | None = None,
    method: str = "louvain",
    resolution: float | None = None,
    seed: int = 0,
) -> ContactCard:
    """The contact card of one party.

    Parameters
    ----------
    store : Store
        The store.
    party : Party
        Who (:func:`relmine.register.find_party`).
    ties : DataFrame
        The tie table of the same window and channels (:func:`relmine.graph.load_ties`).
    window, channels
        Which events count.
    settings : Settings, optional
        The store's by default.
    top : int, optional
        Strongest contacts to list [``profile_top_contacts``].
    households, communities, influencers, risk : Path, optional
        Outputs of ``relmine households`` / ``communities`` / ``influencers --top 0`` /
        ``risk`` (Parquet, CSV, JSON or NDJSON) to read the party's groups, rank and risk from
        instead of computing them for the whole graph.
    method, resolution, seed
        Of the communities computed when no file is given (as ``relmine communities``).

    Returns
    -------
    ContactCard
        Sections ``identity``, ``activity``, ``top_contacts``, ``activity_grid``, ``monthly``,
        ``household``, ``community``, ``influence``, ``risk`` (:data:`SECTIONS`).

    Raises
    ------
    ConfigError
        If ``top`` is below 1 or a file is not the output it should be.

    Examples
    --------
    >>> card = contact_card(store, find_party(store, "0905 123 456"), ties=load_ties(store))
    ... # doctest: +SKIP
    >>> card.to_dict()["household"]["members"]  # doctest: +SKIP
    """
    settings = settings or store.settings
    top = settings.profile_top_contacts if top is None else top
    if top < 1:
        raise ConfigError(
            "the number of contacts to show (--top, profile_top_contacts) must be ≥ 1"
        )
    options = {
        "method": method,
        "resolution": resolution,
        "seed": seed,
        "leiden_iterations": settings.leiden_iterations,
    }
    ctx = _Context(
        store,
        party,
        ties,
        window,
        channels,
        settings,
        top,
        households_file=households,
        communities_file=communities,
        community_options=options,
        influencers_file=influencers,
        risk_file=risk,
    )
    return ContactCard(party.node_id, tuple(build(ctx) for build in SECTIONS))


def _scan_output(path: Path, kind: str) -> pl.LazyFrame:
    """An earlier output of ``relmine households`` or ``communities``, by its extension.

    Raises
    ------
    ConfigError
        If it cannot be read or lacks a column of that output.
    """
    suffix = path.suffix.lower()
    text = {"node_id": pl.String, "evidence": pl.String}
    try:
        if suffix == ".csv":
            frame = pl.scan_csv(path, schema_overrides=text)
        elif suffix in (".ndjson", ".jsonl"):
            frame = pl.scan_ndjson(path)
        elif suffix == ".json":
            frame = pl.read_json(path).lazy()
        else:
            frame = pl.scan_parquet(path)
        schema = frame.collect_schema()
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise ConfigError(
            f"cannot read {path} ({type(exc).__name__}); write it with "
            f"`relmine {kind} -o FILE.parquet`"
        ) from None
    missing = [c for c in _GROUP_COLUMNS[kind] if c not in schema]
    if missing:
        raise ConfigError(
            f"{path} is not an output of `relmine {kind}` (no {', '.join(missing)}); write one "
            f"with `relmine {kind} -o FILE.parquet`"
        )
    return frame
