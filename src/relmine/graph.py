"""Ties: from events to one row per related pair, with the features and the strength behind it.

Every relationship event -- a call or message between two phones, a transfer between two
accounts -- is resolved to its two graph nodes through the register (:mod:`relmine.register`), so
a person's second SIM and their account are the same node. Events are then folded, in one Polars
pass, into a *tie table* with one row per unordered pair ``a < b``: counts and durations per
channel, active days, span and recency, reciprocity, local-time shares, co-location (home cells)
and bank regularity. The tie table is the graph's source of truth: algorithms build an igraph
graph straight from its arrays (:func:`to_igraph`); :func:`to_networkx` is the interop layer.

Tie strength
------------
``weight = I * R * D(a) * D(b)`` where

* ``I = tie_voice*log1p(voice_n) + tie_sms*log1p(sms_n) + tie_bank*log1p(bank_n)
  + tie_days*log1p(active_days)`` -- the intensity. Logarithms make channels comparable (ten
  messages are not ten times one call) and stop one chatty pair from dwarfing everyone else
  (Onnela et al. 2007 use call counts and durations the same way);
* ``R = 1`` when the pair was seen in both directions (on any channel), else ``tie_one_way`` --
  reciprocity separates relationships from broadcasting (Kovanen et al. 2011);
* ``D(v) = min(1, sqrt(tie_heavy_degree / degree(v)))`` damps the ties of heavy users, so a
  hotline or a company switchboard called by thousands is nobody's strong tie, while a person's
  dozen contacts keep their full weight.

The coefficients are settings (``relmine.toml``), see :class:`relmine.config.Settings`.

References
----------
Onnela, J.-P. et al. (2007). Structure and tie strengths in mobile communication networks.
PNAS 104(18), 7332-7336.
Kovanen, L., Karsai, M., Kaski, K., Kertesz, J., Saramaki, J. (2011). Temporal motifs in
time-dependent networks. J. Stat. Mech. P11005.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl

from relmine._gc import collector_paused
from relmine._igraph import load_igraph
from relmine.config import Settings
from relmine.errors import ConfigError, StoreError
from relmine.register import node_map
from relmine.store import DIR_MODE, FILE_MODE, Store

if TYPE_CHECKING:
    import igraph
    import networkx

__all__ = [
    "CHANNELS",
    "EXCLUSION_COLUMNS",
    "Vertices",
    "Window",
    "cached_ties_file",
    "excluded_parties",
    "graph_summary",
    "home_cells",
    "hotline_parties",
    "igraph_graph",
    "load_igraph",
    "load_ties",
    "node_events",
    "parse_channels",
    "parse_window",
    "party_cells",
    "read_ties",
    "relationship_events",
    "sorted_ranks",
    "tie_features",
    "to_igraph",
    "to_networkx",
    "vertex_numbers",
    "write_graph",
]

#: Channels a tie can be made of (``--channels``); MMS count as messages (``sms``).
CHANNELS = ("voice", "sms", "bank")

_EARTH_RADIUS_KM = 6371.0088

#: The channel column of events: an Enum takes one byte a row where a string takes sixteen.
_CHANNEL = pl.Enum(list(CHANNELS))


@dataclass(frozen=True)
class Window:
    """The time window of an analysis: local dates, both ends included; ``None`` is open."""

    since: dt.date | None = None
    until: dt.date | None = None

    def __post_init__(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise ConfigError(f"--since {self.since} is after --until {self.until}")

    def filter(self, lf: pl.LazyFrame, column: str = "ts_local") -> pl.LazyFrame:
        """Keep the rows whose local time lies in the window."""
        if self.since is not None:
            lf = lf.filter(pl.col(column) >= dt.datetime.combine(self.since, dt.time()))
        if self.until is not None:
            end = dt.datetime.combine(self.until + dt.timedelta(days=1), dt.time())
            lf = lf.filter(pl.col(column) < end)
        return lf


#: Columns of the tie table that the analyses read (``relmine graph`` writes more).
TIE_COLUMNS = (
    "a",
    "b",
    "weight",
    "voice_n",
    "sms_n",
    "bank_n",
    "events_ab",
    "events_ba",
    "active_days",
    "night_share",
    "work_share",
    "reciprocity",
    "home_a",
    "home_b",
    "same_home_cell",
    "home_distance_km",
    "shared_rest_cells",
    "bank_regular_ab",
    "bank_regular_ba",
    "share_a",
    "share_b",
)


def read_ties(path: Path, columns: Sequence[str] | None = None) -> pl.DataFrame:
    """Read a tie table written by ``relmine graph -o FILE.parquet`` (only ``columns``, if given).

    Building the tie table is the longest step of every analysis on a large store; writing it
    once and passing it to ``communities`` and ``households`` (``--ties``) saves rebuilding it.
    The file must come from the same store, window and channels as the analysis.

    Raises
    ------
    ConfigError
        If the file is missing, not Parquet, or lacks a tie column.
    """
    try:
        schema = pl.read_parquet_schema(path)
    except (OSError, pl.exceptions.ComputeError) as exc:
        raise ConfigError(
            f"cannot read the tie table {path}: {type(exc).__name__}; write one with "
            "`relmine graph -o ties.parquet`"
        ) from None
    missing = [c for c in TIE_COLUMNS if c not in schema]
    if missing:
        raise ConfigError(
            f"{path} is not a relmine tie table (no {', '.join(missing[:4])}); write one with "
            "`relmine graph -o ties.parquet`"
        )
    return pl.read_parquet(path, columns=list(columns) if columns is not None else None)


def parse_window(since: str | None, until: str | None) -> Window:
    """``--since/--until`` (``YYYY-MM-DD``, local dates, both included) as a :class:`Window`.

    Raises
    ------
    ConfigError
        If a date is not ``YYYY-MM-DD`` or since is after until.
    """

    def day(text: str | None, flag: str) -> dt.date | None:
        if text is None:
            return None
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            raise ConfigError(f"{flag} {text!r} is not a date; write it as YYYY-MM-DD") from None

    return Window(day(since, "--since"), day(until, "--until"))


def parse_channels(text: str | Iterable[str] | None) -> tuple[str, ...]:
    """``"voice,sms"`` -> ``("voice", "sms")``; ``None`` means every channel.

    Raises
    ------
    ConfigError
        If a name is not one of :data:`CHANNELS`.
    """
    if text is None:
        return CHANNELS
    names = text.split(",") if isinstance(text, str) else list(text)
    chosen = [n.strip().lower() for n in names if n.strip()]
    unknown = sorted(set(chosen) - set(CHANNELS))
    if unknown or not chosen:
        raise ConfigError(
            f"unknown channel {', '.join(unknown) or '(none)'}; use a comma-separated list of "
            f"{', '.join(CHANNELS)}"
        )
    return tuple(c for c in CHANNELS if c in chosen)


def relationship_events(
    store: Store,
    *,
    window: Window = Window(),
    channels: Iterable[str] = CHANNELS,
    coded: bool = False,
) -> Any:
    """Every relationship event as ``u -> v`` between graph nodes.

    Columns: ``u``, ``v`` (node ids; ``u`` made the call or paid), ``channel`` (Enum: voice,
    sms, bank), ``ts_local``, ``duration_s`` (calls only), ``value`` (transfers only),
    ``cell_id`` (the caller's cell, calls and messages only). A transfer shown on two of our
    statements is one event; events between two identifiers of one node (a person's two SIMs)
    are not relationship events and are left out.

    With ``coded``, returns ``(DataFrame, Series)`` instead: the events collected with ``u`` and
    ``v`` as UInt32 vertex numbers, and the sorted node ids they number (see :func:`_coded`).
    """
    channels = set(channels)
    nodes = node_map(store)
    parts: list[pl.LazyFrame] = []
    ends: list[pl.LazyFrame] = []  # every identifier column, for numbering them (coded)
    if channels & {"voice", "sms"}:
        cdr = phone_calls(window.filter(store.scan("cdr")), channels)
        ends += [cdr.select(identifier="caller"), cdr.select(identifier="callee")]
        parts.append(_call_events(cdr))
    if "bank" in channels:
        bank = window.filter(store.scan("bank")).filter(pl.col("counterparty").is_not_null())
        ends += [bank.select(identifier="src"), bank.select(identifier="dst")]
        parts.append(_transfer_events(bank.select(*TRANSFER_KEY).unique()))
    if not parts:
        raise ConfigError("no channel selected")
    events = pl.concat(parts)
    if coded:
        return _coded(events, pl.concat(ends), nodes)
    for side in ("u", "v"):
        events = (
            events.join(nodes.rename({"identifier": side, "node_id": "_n"}), on=side, how="left")
            .with_columns(pl.coalesce("_n", side).alias(side))
            .drop("_n")
        )
    return events.filter(
        pl.col("u").is_not_null() & pl.col("v").is_not_null() & (pl.col("u") != pl.col("v"))
    )


#: The columns that make a transfer one event: a transfer between two of our accounts is booked
#: on both statements, and the two bookings are one transfer.
TRANSFER_KEY = ("src", "dst", "value", "currency", "ts_utc", "ts_local")


def phone_calls(cdr: pl.LazyFrame, channels: Iterable[str]) -> pl.LazyFrame:
    """The call records of the chosen phone channels (MMS count as messages).

    Every record, before identities: a person calling their own second SIM is among them, and
    not among :func:`relationship_events`.
    """
    kinds = ["voice"] if "voice" in channels else []
    kinds += ["sms", "mms"] if "sms" in channels else []
    return cdr.filter(pl.col("type").cast(pl.String).is_in(kinds))


def _call_events(cdr: pl.LazyFrame) -> pl.LazyFrame:
    """Call records as events (identifiers, not yet nodes), in :func:`relationship_events`' form."""
    return cdr.select(
        u=pl.col("caller"),
        v=pl.col("callee"),
        channel=pl.when(pl.col("type") == "voice")
        .then(pl.lit("voice"))
        .otherwise(pl.lit("sms"))
        .cast(_CHANNEL),
        ts_local=pl.col("ts_local"),
        duration_s=pl.col("duration_s"),
        value=pl.lit(None, pl.Float64),
        # a dictionary code a row instead of a string: cells repeat millions of times
        cell_id=pl.col("cell_id").cast(pl.Categorical),
    )


def _transfer_events(transfers: pl.LazyFrame) -> pl.LazyFrame:
    """Distinct transfers (:data:`TRANSFER_KEY`) as events, in :func:`relationship_events`' form."""
    return transfers.select(
        u=pl.col("src"),
        v=pl.col("dst"),
        channel=pl.lit("bank", _CHANNEL),
        ts_local=pl.col("ts_local"),
        duration_s=pl.lit(None, pl.Int32),
        value=pl.col("value"),
        cell_id=pl.lit(None, pl.Categorical),
    )


def _hour_flags(settings: Settings) -> dict[str, pl.Expr]:
    hour = pl.col("ts_local").dt.hour()
    weekday = pl.col("ts_local").dt.weekday()  # Monday = 1 ... Sunday = 7
    night = (hour >= settings.night_start) | (hour < settings.night_end)
    return {
        "night": night,
        "evening": (hour >= settings.evening_start) & (hour < settings.night_start),
        "weekend": weekday >= 6,
        "work": (weekday <= 5) & (hour >= settings.work_start) & (hour < settings.work_end),
    }


def home_cells(events: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """Each party's home cell: the cell it calls from most at night.

    A party with no night calls gets the cell it calls from most in the evenings and at weekends
    (``home_basis = "rest"``), which with a few weeks of data is often all there is. Ties go to
    the smallest cell id, so the result does not depend on row order.

    Returns
    -------
    LazyFrame
        ``node_id``, ``home_cell``, ``home_events`` (calls from it in that basis), ``home_basis``.
    """
    return _pick_homes(_cell_counts(_event_rows(events, settings)))


def _basis(settings: Settings) -> pl.Expr:
    """0 at night, 1 in the evening or at a weekend, else null: the bases of a home cell."""
    flags = _hour_flags(settings)
    return (
        pl.when(flags["night"])
        .then(pl.lit(0, pl.Int8))
        .when(flags["evening"] | flags["weekend"])
        .then(pl.lit(1, pl.Int8))
    )


#: Keys and additive columns of *event rows* (:func:`_event_rows`): the tie table's features are
#: sums, extremes and distinct counts of these, so rows summed over their keys (the per-part
#: aggregates of :mod:`relmine.partials`) give the same tie table as the events themselves.
ROW_KEYS = ("u", "v", "channel", "day", "cell_id", "basis")
ROW_SUMS = ("n", "dur", "cents", "cents2", "night", "evening", "weekend", "work")
_SHARES = ("night", "evening", "weekend", "work")


def _event_rows(events: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """Events (:func:`relationship_events`' columns) as additive rows, one per event.

    ``day`` is the local date, ``basis`` the home-cell basis of a call (:func:`_basis`), ``n``
    the events, ``dur`` the seconds of calls, ``cents`` and ``cents2`` the transfers' amounts and
    their squares in whole cents (exact, so sums do not depend on order), the share columns the
    calls and messages at those times, ``first`` and ``last`` the extreme local times.
    """
    flags = _hour_flags(settings)
    phone = pl.col("channel") != "bank"
    cents = _cents(pl.col("value"))
    return events.select(
        "u",
        "v",
        "channel",
        day=pl.col("ts_local").dt.date(),
        cell_id="cell_id",
        basis=pl.when(phone).then(_basis(settings)),
        n=pl.lit(1, pl.Int64),
        dur=pl.when(pl.col("channel") == "voice")
        .then(pl.col("duration_s"))
        .otherwise(0)
        .cast(pl.Int64),
        cents=pl.when(~phone).then(cents).otherwise(0),
        cents2=pl.when(~phone).then(cents.cast(pl.Int128) * cents.cast(pl.Int128)),
        **{k: (flags[k] & phone).cast(pl.Int64) for k in _SHARES},
        first="ts_local",
        last="ts_local",
    )


def _sum_rows(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Event rows summed over :data:`ROW_KEYS` (a null key is a key)."""
    return rows.group_by(*ROW_KEYS).agg(
        *[pl.col(c).sum() for c in ROW_SUMS], pl.col("first").min(), pl.col("last").max()
    )


def _cell_counts(rows: pl.LazyFrame) -> pl.LazyFrame:
    """Calls and messages per party, home-cell basis and cell: ``u, basis, cell_id, n``."""
    phone = rows.filter(
        pl.col("cell_id").is_not_null()
        & (pl.col("channel") != "bank")
        & pl.col("basis").is_not_null()
    )
    return (
        phone.group_by("u", "basis", "cell_id")
        .agg(pl.col("n").sum())
        .with_columns(pl.col("cell_id").cast(pl.String))  # ties broken by the cell id's text
    )


def _pick_homes(counts: pl.LazyFrame) -> pl.LazyFrame:
    """The home cell of each party from :func:`_cell_counts` (see :func:`home_cells`)."""
    best = counts.sort(["u", "basis", "n", "cell_id"], descending=[False, False, True, False])
    return (
        best.group_by("u", maintain_order=True)
        .first()
        .select(
            node_id=pl.col("u"),
            home_cell=pl.col("cell_id"),
            home_events=pl.col("n").cast(pl.Int64),
            home_basis=pl.when(pl.col("basis") == 0)
            .then(pl.lit("night"))
            .otherwise(pl.lit("rest")),
        )
    )


def party_cells(
    store: Store,
    *,
    window: Window = Window(),
    settings: Settings | None = None,
    aggregates: bool | None = None,
) -> pl.DataFrame:
    """Per party with known cells: ``node_id``, ``home_cell`` and ``rest_cells`` (a list).

    ``rest_cells`` are the cells the party called from at night, in the evening or at weekends.
    Both come from one pass over the calls: the home cell's bases (night, else evening and
    weekend) are exactly the rest times, so the counts per party, basis and cell serve both.
    With ``aggregates`` (by default when ``tie_cache`` is on) the calls' per-part aggregates
    (:mod:`relmine.partials`) are read instead of the calls, with the same result.
    """
    settings = settings or store.settings
    if settings.tie_cache if aggregates is None else aggregates:
        from relmine.partials import combined_party_cells

        return combined_party_cells(store, window=window, settings=settings)
    events = relationship_events(store, window=window, channels=("voice", "sms"))
    cells = _cells_of_parties(_event_rows(events, settings))
    return cells.sort("node_id")


def _cells_of_parties(rows: pl.LazyFrame) -> pl.DataFrame:
    """``node_id`` (as ``u`` is), ``home_cell`` and ``rest_cells`` from event rows."""
    counts = _cell_counts(rows).collect(engine="streaming")
    homes = _pick_homes(counts.lazy()).select("node_id", "home_cell").collect()
    rest = counts.group_by("u").agg(rest_cells=pl.col("cell_id").unique().sort())
    return homes.join(rest.rename({"u": "node_id"}), on="node_id", how="full", coalesce=True)


def _cents(value: pl.Expr) -> pl.Expr:
    """Money as whole cents (Int64), so that sums are exact and do not depend on row order."""
    return (value * 100.0).round(0).cast(pl.Int64)


def _regular_flows(rows: pl.LazyFrame, settings: Settings) -> pl.LazyFrame:
    """Directed bank flows that recur monthly: standing orders, allowances, rent, salaries.

    A flow ``u -> v`` is regular when it was paid in at least ``regular_min_months`` distinct
    months, at most about once a month, with stable amounts (coefficient of variation at most
    ``regular_amount_cv``) on a stable day of the month (standard deviation at most
    ``regular_day_spread`` days). Means and spreads come from exact integer moments of the
    amounts in cents and of the days, so they do not depend on the order of the rows, and the
    per-part sums of :mod:`relmine.partials` give the same flows as the events.
    """
    bank = rows.filter(pl.col("channel") == "bank")
    day = pl.col("day").dt.day().cast(pl.Int64)
    flows = bank.group_by("u", "v").agg(
        n=pl.col("n").sum(),
        months=(pl.col("day").dt.year() * 12 + pl.col("day").dt.month()).n_unique(),
        s1=pl.col("cents").cast(pl.Int128).sum(),
        s2=pl.col("cents2").sum(),
        d1=(pl.col("n") * day).sum(),
        d2=(pl.col("n") * day * day).sum(),
    )
    n = pl.col("n").cast(pl.Int128)
    n2 = pl.col("n").cast(pl.Float64) ** 2
    var = (n * pl.col("s2") - pl.col("s1") * pl.col("s1")).cast(pl.Float64) / n2
    day_var = (pl.col("n") * pl.col("d2") - pl.col("d1") * pl.col("d1")).cast(pl.Float64) / n2
    mean = pl.col("s1").cast(pl.Float64) / pl.col("n").cast(pl.Float64)
    flows = flows.with_columns(
        mean=mean / 100.0,
        cv=pl.when(mean != 0).then(var.sqrt() / mean.abs()).otherwise(0.0),
        day_sd=day_var.sqrt(),
    )
    regular = (
        (pl.col("months") >= settings.regular_min_months)
        & (pl.col("n") <= pl.col("months") + 1)
        & (pl.col("cv") <= settings.regular_amount_cv)
        & (pl.col("day_sd") <= settings.regular_day_spread)
    )
    return flows.filter(regular).select("u", "v", monthly=pl.col("mean"), months="months")


def tie_features(
    store: Store,
    *,
    window: Window = Window(),
    channels: Iterable[str] = CHANNELS,
    settings: Settings | None = None,
) -> pl.DataFrame:
    """The tie table: one row per related pair ``a < b`` with its features and ``weight``.

    Parameters
    ----------
    store : Store
        The store to read events, the register and cells from.
    window : Window, optional
        Local-date window of the events; open by default.
    channels : iterable of str, optional
        Channels to build ties from (voice, sms, bank); all by default.
    settings : Settings, optional
        Coefficients and hours; the store's own by default.

    Returns
    -------
    DataFrame
        Sorted by ``a, b``. Columns: ``a``, ``b``, ``weight``; ``voice_n``, ``voice_s``,
        ``sms_n``, ``bank_n``, ``bank_amount``; ``events_ab``, ``events_ba`` (a -> b and b -> a,
        all channels), ``reciprocity`` (smaller over larger direction, 0-1); ``active_days``,
        ``first_at``, ``last_at``, ``span_days``, ``recency_days`` (days from the last event to
        the end of the window); ``night_share``, ``evening_share``, ``weekend_share``,
        ``work_share`` (of the calls and messages, local time; null without any);
        ``home_a``, ``home_b``, ``same_home_cell``, ``home_distance_km``, ``shared_rest_cells``
        (cells both called from at night, in the evening or at weekends; null if either party's
        cells are unknown); ``bank_regular_ab``,
        ``bank_regular_ba`` (monthly amount of a regular flow each way, null if none);
        ``degree_a``, ``degree_b``, ``share_a``, ``share_b`` (the tie's share of each party's
        total weight).

    Raises
    ------
    StoreError
        If the store holds no relationship events in the window.

    Examples
    --------
    >>> ties = tie_features(Store.open(Path("relmine-store")))  # doctest: +SKIP
    >>> ties.sort("weight", descending=True).head(3)  # doctest: +SKIP
    """
    settings = settings or store.settings
    events, names = relationship_events(store, window=window, channels=channels, coded=True)
    rows = _event_rows(events.lazy(), settings)
    ties = _aggregate(rows, settings, window, row_count=events.height)
    del events, rows  # the events are the largest thing in memory
    return _finish_ties(ties, names, store, settings, window)


def _finish_ties(
    ties: pl.DataFrame, names: pl.Series, store: Store, settings: Settings, window: Window
) -> pl.DataFrame:
    """Weights, node ids (from vertex numbers) and home distances of aggregated ties."""
    ties = _weigh(ties, settings)  # sorted by a, b by _aggregate
    # back from vertex numbers to node ids; numbers follow the ids' order, so a < b still holds
    ties = ties.with_columns(a=names.gather(ties["a"]), b=names.gather(ties["b"]))
    if ties.height == 0:
        raise StoreError(
            f"no calls, messages or transfers between two parties in {store.root}"
            f"{_window_text(window)}; ingest call records or bank statements first"
        )
    return _add_home_distance(ties, store)


#: The settings the tie table depends on (its cache key, :func:`load_ties`): the hours of the
#: local-time shares and home cells, the weight's coefficients, and what a regular flow is.
TIE_SETTINGS = (
    "night_start",
    "night_end",
    "evening_start",
    "work_start",
    "work_end",
    "tie_voice",
    "tie_sms",
    "tie_bank",
    "tie_days",
    "tie_one_way",
    "tie_heavy_degree",
    "regular_min_months",
    "regular_amount_cv",
    "regular_day_spread",
)

#: How many tie tables :func:`load_ties` keeps in a store's cache (one per window, channels and
#: settings used most recently).
TIE_CACHE_KEEP = 4


def load_ties(
    store: Store,
    *,
    window: Window = Window(),
    channels: Iterable[str] = CHANNELS,
    settings: Settings | None = None,
    columns: Sequence[str] | None = None,
) -> pl.DataFrame:
    """The tie table of :func:`tie_features`, from the store's cache when it is current.

    Building the tie table reads every event; on tens of millions of events that is most of the
    time of every command that needs ties. So the table is kept in the store
    (``cache/ties-<key>.parquet``), keyed by a digest of everything it depends on: the store's
    committed parts (any ingest changes them), the window, the channels, the settings, and
    relmine's version and tie code. A cached table is therefore the same table, and the outputs
    built from it are the same bytes, as a fresh build. Writing the cache is best effort: a
    read-only store or a full disk only costs the rebuild next time. ``tie_cache = false`` in the
    settings turns it off.

    Parameters
    ----------
    store, window, channels, settings
        As for :func:`tie_features`.
    columns : sequence of str, optional
        Only these columns (an analysis's ``TIE_COLUMNS_READ``); all by default. Read from the
        cached file, the others are never in memory: the whole table of the 50 M-row world is
        about 6 GB, the five columns ``influencers`` reads about 1.3 GB.

    Returns
    -------
    DataFrame
        The tie table.
    """
    settings = settings or store.settings
    channels = tuple(c for c in CHANNELS if c in set(channels))
    chosen = list(columns) if columns is not None else None
    if not settings.tie_cache:
        ties = tie_features(store, window=window, channels=channels, settings=settings)
        return ties if chosen is None else ties.select(chosen)
    folder = store.root / "cache"
    path = folder / f"ties-{_tie_key(store, window, channels, settings)}.parquet"
    if path.is_file():
        try:
            ties = pl.read_parquet(path, columns=chosen)
            os.utime(path)  # most recently used, for pruning
            return ties
        except (OSError, pl.exceptions.PolarsError):
            pass  # unreadable (e.g. truncated by a crash of the disk): rebuild it
    from relmine.partials import combined_ties

    ties = combined_ties(store, window=window, channels=channels, settings=settings)
    _cache_ties(ties, folder, path)
    return ties if chosen is None else ties.select(chosen)


def cached_ties_file(
    store: Store,
    *,
    window: Window = Window(),
    channels: Iterable[str] = CHANNELS,
    settings: Settings | None = None,
) -> Path | None:
    """The store's cached tie table for the window and channels (see :func:`load_ties`), if any.

    Right after :func:`load_ties` it is the file the table was read from or written to, in the
    Parquet that ``-o ties.parquet`` writes: ``relmine graph`` copies it instead of encoding the
    table again (on the 10 M-row world under a second instead of about five).
    """
    settings = settings or store.settings
    if not settings.tie_cache:
        return None
    channels = tuple(c for c in CHANNELS if c in set(channels))
    path = store.root / "cache" / f"ties-{_tie_key(store, window, channels, settings)}.parquet"
    return path if path.is_file() else None


def _tie_key(store: Store, window: Window, channels: tuple[str, ...], settings: Settings) -> str:
    """Digest of everything the tie table depends on (see :func:`load_ties`)."""
    from relmine import __version__

    basis = {
        "parts": store.manifest["tables"],
        "window": [str(window.since), str(window.until)],
        "channels": list(channels),
        "settings": {name: getattr(settings, name) for name in TIE_SETTINGS},
        "relmine": __version__,
        "code": code_digests(),
    }
    text = json.dumps(basis, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


#: The modules whose code makes the tie table and the per-part aggregates (cache keys).
TIE_CODE = ("graph.py", "partials.py", "numbering.py")


def code_digests() -> list[str]:
    """SHA-256 of each module of :data:`TIE_CODE`: a cache made by other code is not reused."""
    here = Path(__file__).resolve().parent
    return [hashlib.sha256((here / f).read_bytes()).hexdigest() for f in TIE_CODE]


def _cache_ties(ties: pl.DataFrame, folder: Path, path: Path) -> None:
    """Write ``ties`` to ``path`` atomically and keep the :data:`TIE_CACHE_KEEP` newest tables."""
    tmp = folder / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        # as :mod:`relmine.output` writes Parquet, so that ``graph -o`` can copy the file
        ties.write_parquet(tmp, compression="zstd", compression_level=1, statistics=True)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
        cached = sorted(folder.glob("ties-*.parquet"), key=lambda p: p.stat().st_mtime_ns)
        for old in cached[:-TIE_CACHE_KEEP]:
            old.unlink(missing_ok=True)
    except (OSError, pl.exceptions.PolarsError):
        pass  # best effort (disk full, read-only store): the table is returned all the same
    finally:
        tmp.unlink(missing_ok=True)


def _coded(
    events: pl.LazyFrame, ends: pl.LazyFrame, nodes: pl.LazyFrame
) -> tuple[pl.DataFrame, pl.Series]:
    """Resolve identifiers to nodes and number the nodes, in one join per side.

    Node ids are replaced by their rank among the sorted ids (UInt32): the events are grouped
    several times (pairs, home cells, regular flows), and grouping and joining on integers is
    several times faster than on strings, in half the memory. Only the distinct identifiers are
    resolved through the register, and the events are joined to the numbers inside the streaming
    plan, so they are never held in memory with their identifiers as strings.
    """
    ids = ends.drop_nulls().unique().collect(engine="streaming")
    ids = ids.join(nodes.collect(), on="identifier", how="left").with_columns(
        pl.coalesce("node_id", "identifier").alias("node_id")
    )
    names = ids["node_id"].unique().sort()
    number = pl.DataFrame(
        {"node_id": names, "i": pl.int_range(0, names.len(), dtype=pl.UInt32, eager=True)}
    )
    ids = ids.join(number, on="node_id", how="left").select("identifier", "i")
    numbered = ids.lazy()
    coded = (
        events.join(numbered.rename({"identifier": "u", "i": "_u"}), on="u", how="inner")
        .join(numbered.rename({"identifier": "v", "i": "_v"}), on="v", how="inner")
        .drop("u", "v")
        .rename({"_u": "u", "_v": "v"})
        .filter(pl.col("u") != pl.col("v"))
        .collect(engine="streaming")
    )
    return coded, names


def _window_text(window: Window) -> str:
    if window.since is None and window.until is None:
        return ""
    return f" between {window.since or 'the start'} and {window.until or 'the end'}"


#: Rows of the pair group-by per pass (:func:`_aggregate`): about a third as many pairs, whose
#: group-by state (sums, extremes and the set of days of each) takes about 370 bytes a pair.
ROWS_PER_PASS = 12_000_000


def _aggregate(
    rows: pl.LazyFrame, settings: Settings, window: Window, *, row_count: int | None = None
) -> pl.DataFrame:
    """Fold event rows (:func:`_event_rows`, or their per-part sums) into one row per pair.

    With ``row_count`` (the rows' number, or an upper bound), the pairs are grouped in
    ``ceil(row_count / ROWS_PER_PASS)`` passes, each over the pairs of one class of ``a``
    modulo the passes: every pair's rows are in one pass, so the result is the same, and only
    one pass's group-by state is in memory. On the 1 M-person world two passes cost no time and
    hold 1.9 instead of 3.0 GB; each pass re-reads the rows (about a second per 16 M rows).
    """
    passes = max(1, -(-row_count // ROWS_PER_PASS)) if row_count else 1
    rows = rows.with_columns(a=pl.min_horizontal("u", "v"), b=pl.max_horizontal("u", "v"))
    n = pl.col("n")

    def when(condition: pl.Expr) -> pl.Expr:
        return pl.when(condition).then(n).otherwise(0)

    # Row-level indicators first, so that the group-by only sums, counts and takes extremes:
    # conditional expressions inside an aggregation are evaluated group by group, which on
    # millions of pairs is minutes instead of seconds.
    counted = rows.select(
        "a",
        "b",
        "day",
        "first",
        "last",
        "n",
        "dur",
        "cents",
        *_SHARES,
        _voice=when(pl.col("channel") == "voice"),
        _sms=when(pl.col("channel") == "sms"),
        _bank=when(pl.col("channel") == "bank"),
        _ab=when(pl.col("u") == pl.col("a")),
    )
    # The pairs and the side tables are collected once each, streaming over the rows so that
    # the rows are never held whole next to what is derived from them: left lazy, home_cells
    # would run once per end of the tie, and every side table would re-read the rows through
    # its own plan.
    if passes == 1:
        wide = _pairs(counted).collect(engine="streaming")
    else:
        wide = pl.concat(
            [
                _pairs(counted.filter(pl.col("a") % passes == k)).collect(engine="streaming")
                for k in range(passes)
            ]
        )
    wide = wide.with_columns(**_pair_measures(window))  # over all pairs: recency's end
    # sorted by one 64-bit key a pair (unique): 0.5 instead of 2 s on 5.4 M pairs
    order = pl.Series(_pair_keys(wide["a"], wide["b"])).arg_sort()
    columns = wide.get_columns()
    del wide
    ties = _gathered(columns, order)
    del order
    counts = _cell_counts(rows).collect(engine="streaming").lazy()
    regular = _regular_flows(rows, settings).collect(engine="streaming")
    return ties.hstack(_side_columns(ties["a"], ties["b"], counts, regular))


def _side_columns(
    a: pl.Series, b: pl.Series, counts: pl.LazyFrame, regular: pl.DataFrame
) -> list[pl.Series]:
    """``home_a``, ``home_b``, ``same_home_cell``, ``shared_rest_cells``, ``bank_regular_ab``
    and ``bank_regular_ba`` of the pairs ``a < b`` (vertex numbers, sorted by ``a, b``).

    A party's home cell and whether its rest-time cells are known are gathered by vertex
    number, and a pair's shared cells and regular flows are placed by a binary search among the
    sorted pairs: no join over the millions of ties (on the 1 M world 7.4 s of joins before).
    """
    n = int(max(a.max(), b.max())) + 1 if a.len() else 0  # type: ignore[arg-type]
    vertex = pl.DataFrame({"node_id": pl.int_range(0, n, dtype=a.dtype, eager=True)})
    homes = _pick_homes(counts).select(pl.col("node_id").cast(a.dtype), "home_cell").collect()
    home = vertex.join(homes, on="node_id", how="left", maintain_order="left")["home_cell"]
    home_a, home_b = home.gather(a).alias("home_a"), home.gather(b).alias("home_b")
    same = (home_a == home_b).alias("same_home_cell")
    # Shared rest-time cells: joined per existing tie, never cell by cell, so a busy cell does
    # not produce all pairs of its users. Co-location at rest times is a softer and more robust
    # sign of a shared home than the equality of two modes estimated from a handful of calls.
    rest = counts.select(node_id=pl.col("u").cast(a.dtype), cell_id="cell_id").unique().collect()
    shared = (
        pl.DataFrame({"a": a, "b": b})
        .lazy()
        .join(rest.lazy().rename({"node_id": "a"}), on="a", how="inner")
        .join(rest.lazy().rename({"node_id": "b"}), on=["b", "cell_id"], how="inner")
        .group_by("a", "b")
        .agg(n=pl.len().cast(pl.Int64))
        .collect()
    )
    keys = _pair_keys(a, b)
    count = np.zeros(len(keys), dtype=np.int64)
    # Searched in sorted order: binary searches in random order miss the cache at every step
    # (3 M pairs among 5.4 M: 2.2 s, against well under a second sorted first).
    from relmine.numbering import argsort_u64

    wanted = _pair_keys(shared["a"], shared["b"])
    order = argsort_u64(wanted)
    count[np.searchsorted(keys, wanted[order])] = shared["n"].to_numpy()[order]
    known = np.zeros(n, dtype=bool)
    known[rest["node_id"].to_numpy()] = True
    both = known[a.to_numpy()] & known[b.to_numpy()]
    columns = [home_a, home_b, same, _where(count, both, "shared_rest_cells")]
    for name, u, v in (("bank_regular_ab", "u", "v"), ("bank_regular_ba", "v", "u")):
        flows = _pair_keys(regular[u].cast(a.dtype), regular[v].cast(a.dtype))
        at = np.minimum(np.searchsorted(keys, flows), max(len(keys) - 1, 0))
        hit = keys[at] == flows if len(keys) else np.zeros(len(flows), dtype=bool)
        monthly = np.zeros(len(keys), dtype=np.float64)
        found = np.zeros(len(keys), dtype=bool)
        monthly[at[hit]] = regular["monthly"].to_numpy()[hit]
        found[at[hit]] = True
        columns.append(_where(monthly, found, name))
    return columns


def _pair_keys(a: pl.Series, b: pl.Series) -> np.ndarray:
    """``a`` and ``b`` (vertex numbers) as one 64-bit key each, ordered as ``a, b``."""
    return (a.to_numpy().astype(np.uint64) << np.uint64(32)) | b.to_numpy().astype(np.uint64)


def _where(values: np.ndarray, keep: np.ndarray, name: str) -> pl.Series:
    """``values`` where ``keep``, else null."""
    frame = pl.DataFrame({"v": values, "k": keep})
    return frame.select(pl.when(pl.col("k")).then(pl.col("v")).alias(name)).to_series()


def _pairs(counted: pl.LazyFrame) -> pl.LazyFrame:
    """The pair group-by of :func:`_aggregate`: sums, extremes and distinct days per pair."""
    aggregated = counted.group_by("a", "b").agg(
        voice_n=pl.col("_voice").sum(),
        voice_s=pl.col("dur").sum(),
        sms_n=pl.col("_sms").sum(),
        bank_n=pl.col("_bank").sum(),
        bank_amount=pl.col("cents").sum() / 100.0,
        events_ab=pl.col("_ab").sum(),
        n=pl.col("n").sum(),
        active_days=pl.col("day").n_unique().cast(pl.Int64),
        first_at=pl.col("first").min(),
        last_at=pl.col("last").max(),
        **{f"_{k}": pl.col(k).sum() for k in _SHARES},
    )
    n_phone = pl.col("voice_n") + pl.col("sms_n")
    return aggregated.with_columns(
        events_ba=pl.col("n") - pl.col("events_ab"),
        **{f"{k}_share": pl.when(n_phone > 0).then(pl.col(f"_{k}") / n_phone) for k in _SHARES},
    ).select(
        "a",
        "b",
        "voice_n",
        "voice_s",
        "sms_n",
        "bank_n",
        "bank_amount",
        "events_ab",
        "events_ba",
        "active_days",
        "first_at",
        "last_at",
        "night_share",
        "evening_share",
        "weekend_share",
        "work_share",
    )


def _gathered(columns: list[pl.Series], order: pl.Series) -> pl.DataFrame:
    """A frame of ``columns`` each gathered at ``order``, freeing each original as it goes.

    The list's entries are replaced two at a time (Polars gathers the columns of a frame in
    parallel), so when the caller holds no other reference to the columns, only two unsorted
    columns exist next to the sorted ones at any time; sorting the frame at once would hold two
    copies of it. Each pair is made one chunk first: a streaming collect leaves hundreds of
    chunks, and gathering from them is about three times slower than copying them and
    gathering from the copy.
    """
    for i in range(0, len(columns), 2):
        pair = pl.DataFrame(columns[i : i + 2]).rechunk()
        columns[i : i + 2] = pair[order].get_columns()
        del pair
    return pl.DataFrame(columns)


def _pair_measures(window: Window) -> dict[str, pl.Expr]:
    """``reciprocity``, ``span_days`` and ``recency_days`` of aggregated ties (both engines)."""
    end = (
        pl.lit(dt.datetime.combine(window.until + dt.timedelta(days=1), dt.time()))
        if window.until is not None
        else pl.col("last_at").max()
    )
    return {
        "reciprocity": (
            pl.min_horizontal("events_ab", "events_ba")
            / pl.max_horizontal("events_ab", "events_ba")
        ),
        "span_days": (pl.col("last_at") - pl.col("first_at")).dt.total_seconds() / 86400.0,
        "recency_days": (end - pl.col("last_at")).dt.total_seconds() / 86400.0,
    }


def _join_homes(ties: pl.LazyFrame, homes: pl.LazyFrame) -> pl.LazyFrame:
    home = homes.select("node_id", "home_cell")
    ties = ties.join(
        home.rename({"node_id": "a", "home_cell": "home_a"}),
        on="a",
        how="left",
        maintain_order="left",
    )
    ties = ties.join(
        home.rename({"node_id": "b", "home_cell": "home_b"}),
        on="b",
        how="left",
        maintain_order="left",
    )
    ties = ties.with_columns(same_home_cell=pl.col("home_a") == pl.col("home_b"))
    return ties


def _weigh(ties: pl.DataFrame, settings: Settings) -> pl.DataFrame:
    """Add ``weight``, ``degree_a/b`` and ``share_a/b`` to ties sorted by ``a, b``.

    ``a`` and ``b`` are vertex numbers here, so degrees and strengths are ``numpy.bincount``s
    gathered back by number: no group-by and no join over the ties. The ties' fixed order fixes
    the order of the floating-point sums, so the strengths do not depend on how they were read.
    """
    a = ties["a"].to_numpy()
    b = ties["b"].to_numpy()
    n = int(max(a.max(), b.max())) + 1 if ties.height else 0
    degree = np.bincount(a, minlength=n) + np.bincount(b, minlength=n)
    ties = ties.with_columns(degree_a=pl.Series(degree[a]), degree_b=pl.Series(degree[b]))

    def damp(col: str) -> pl.Expr:
        ratio = settings.tie_heavy_degree / pl.col(col).cast(pl.Float64)
        return pl.min_horizontal(pl.lit(1.0), ratio.sqrt())

    intensity = (
        settings.tie_voice * pl.col("voice_n").log1p()
        + settings.tie_sms * pl.col("sms_n").log1p()
        + settings.tie_bank * pl.col("bank_n").log1p()
        + settings.tie_days * pl.col("active_days").log1p()
    )
    both = (pl.col("events_ab") > 0) & (pl.col("events_ba") > 0)
    reciprocal = pl.when(both).then(pl.lit(1.0)).otherwise(pl.lit(settings.tie_one_way))
    ties = ties.with_columns(weight=intensity * reciprocal * damp("degree_a") * damp("degree_b"))
    weight = ties["weight"].to_numpy()
    strength = np.bincount(a, weight, minlength=n) + np.bincount(b, weight, minlength=n)
    ties = ties.with_columns(
        share_a=pl.Series(weight / strength[a]), share_b=pl.Series(weight / strength[b])
    )
    first = ["a", "b", "weight"]
    return ties.select(first + [c for c in ties.columns if c not in first])


def _add_home_distance(ties: pl.DataFrame, store: Store) -> pl.DataFrame:
    """Add ``home_distance_km`` (great-circle distance between the home cells) from the cells."""
    cells = store.scan("cells").select("cell_id", "lat", "lon").unique("cell_id").collect().lazy()
    # joined to the two home columns alone: a join copies every column of its left side
    ends = ties.select("home_a", "home_b").lazy()
    lat = {"lat": "_lat_a", "lon": "_lon_a"}
    ends = ends.join(
        cells.rename({"cell_id": "home_a", **lat}), on="home_a", how="left", maintain_order="left"
    )
    lat = {"lat": "_lat_b", "lon": "_lon_b"}
    ends = ends.join(
        cells.rename({"cell_id": "home_b", **lat}), on="home_b", how="left", maintain_order="left"
    )
    rad = np.pi / 180.0
    dlat = (pl.col("_lat_b") - pl.col("_lat_a")) * rad
    dlon = (pl.col("_lon_b") - pl.col("_lon_a")) * rad
    h = (dlat / 2).sin() ** 2 + (pl.col("_lat_a") * rad).cos() * (pl.col("_lat_b") * rad).cos() * (
        dlon / 2
    ).sin() ** 2
    distance = 2 * _EARTH_RADIUS_KM * h.sqrt().arcsin()
    ties = ties.with_columns(ends.select(home_distance_km=distance).collect().to_series())
    order = ties.columns
    at = order.index("same_home_cell") + 1
    order = [*order[:at], "home_distance_km", *order[at:-1]]
    return ties.select(order)


def node_events(events: pl.LazyFrame) -> pl.LazyFrame:
    """Per node: events made and received, and distinct parties contacted and contacted by."""
    out = events.group_by("u").agg(out_events=pl.len(), out_contacts=pl.col("v").n_unique())
    inc = events.group_by("v").agg(in_events=pl.len(), in_contacts=pl.col("u").n_unique())
    return out.rename({"u": "node_id"}).join(
        inc.rename({"v": "node_id"}), on="node_id", how="full", coalesce=True
    )


#: The tie columns :func:`excluded_parties` and :func:`hotline_parties` read.
EXCLUSION_COLUMNS = ("a", "b", "events_ab", "events_ba")


def excluded_parties(
    ties: pl.DataFrame, store: Store, settings: Settings, *, vertices: Vertices | None = None
) -> pl.DataFrame:
    """Parties that cannot be in a household or be an influencer, and why.

    Parameters
    ----------
    ties : DataFrame
        The tie table (:data:`EXCLUSION_COLUMNS` at least).
    store, settings
        The register's companies, and the ``hotline_*`` settings.
    vertices : Vertices, optional
        ``Vertices.of(ties)``, when the caller has it already (numbering 5.4 M ties takes
        about 1.5 s).

    Returns
    -------
    DataFrame
        ``node_id``, ``reason``: companies of the register, and hotline-like parties (many contacts,
        almost none of them contacted back), found from the ties alone, so they are caught even
        without a register. Sorted by ``node_id``.
    """
    vertices = vertices if vertices is not None else Vertices.of(ties)
    hotline = hotline_parties(ties, settings, vertices=vertices)
    companies = (
        store.scan("customers")
        .filter(pl.col("kind").str.to_lowercase() == "company")
        .select("customer_id")
        .unique()
        .collect()
        .select(node_id="customer_id", reason=pl.lit("company in the register"))
        .filter(pl.col("node_id").is_in(vertices.names.implode()))
    )
    return pl.concat([companies, hotline.join(companies, on="node_id", how="anti")]).sort("node_id")


def hotline_parties(
    ties: pl.DataFrame, settings: Settings, *, vertices: Vertices | None = None
) -> pl.DataFrame:
    """Hotline-like parties, from the ties alone: many contacts, almost none contacted back.

    Counted per vertex (:class:`Vertices`, ``Vertices.of(ties)`` unless given) with
    ``np.bincount``: a group-by on the node ids took 1.3 s for 5.4 M ties.

    Returns
    -------
    DataFrame
        ``node_id``, ``reason`` (e.g. ``hotline-like: 228 contacts, 0% contacted back``), for
        every party with at least ``hotline_min_degree`` contacts of whom at most
        ``hotline_max_reciprocity`` were contacted by it; sorted by ``node_id``.
    """
    vertices = vertices if vertices is not None else Vertices.of(ties)
    n = vertices.names.len()
    degree = np.bincount(vertices.a, minlength=n) + np.bincount(vertices.b, minlength=n)
    out = np.bincount(vertices.a, (ties["events_ab"] > 0).to_numpy(), n)
    out += np.bincount(vertices.b, (ties["events_ba"] > 0).to_numpy(), n)
    with np.errstate(invalid="ignore", divide="ignore"):
        called_back = out / degree
    chosen = (degree >= settings.hotline_min_degree) & (
        called_back <= settings.hotline_max_reciprocity
    )
    return pl.DataFrame(
        {
            "node_id": vertices.names.filter(pl.Series(chosen)),
            "degree": degree[chosen],
            "called_back": called_back[chosen],
        }
    ).select(
        "node_id",
        reason=pl.format(
            "hotline-like: {} contacts, {}% contacted back",
            "degree",
            (pl.col("called_back") * 100).round(0).cast(pl.Int64),
        ),
    )


@dataclass(frozen=True)
class Vertices:
    """The tie table's ends as vertex numbers: vertex ``i`` is ``names[i]``.

    The numbering every graph command uses (:func:`vertex_numbers`: the sorted distinct node
    ids, each end's rank among them), made once per command and shared by what needs it.

    Attributes
    ----------
    names : Series
        The sorted distinct node ids.
    a, b : numpy.ndarray
        The vertex number of each tie's ends (int64), row by row.
    """

    names: pl.Series
    a: np.ndarray
    b: np.ndarray

    @classmethod
    def of(cls, ties: pl.DataFrame) -> Vertices:
        """The numbering of ``ties``' ends ``a`` and ``b``."""
        return cls(*vertex_numbers(ties["a"], ties["b"]))

    def subset(self, keep: np.ndarray) -> Vertices:
        """The numbering of the ties where ``keep`` is true, as :meth:`of` would make it.

        The vertices left are renumbered in order, so the names stay sorted: no strings hashed
        or sorted again.
        """
        a, b = self.a[keep], self.b[keep]
        used = np.zeros(self.names.len(), dtype=bool)
        used[a] = True
        used[b] = True
        renumbered = np.cumsum(used) - 1
        return Vertices(self.names.filter(pl.Series(used)), renumbered[a], renumbered[b])


def vertex_numbers(a: pl.Series, b: pl.Series) -> tuple[pl.Series, np.ndarray, np.ndarray]:
    """The sorted distinct ids of ``a`` and ``b``, and each end's rank among them (int64).

    The vertex numbering of every graph command: the same as ``concat([a, b]).unique().sort()``
    followed by binary searches of ``a`` and ``b`` in it, in less than half the time (5.4 M
    ties: 2.3 instead of 5.3 s), by :func:`sorted_ranks`.
    """
    names, ranks = sorted_ranks(pl.concat([a, b]))
    return names, ranks[: a.len()], ranks[a.len() :]


def sorted_ranks(values: pl.Series) -> tuple[pl.Series, np.ndarray]:
    """The sorted distinct ``values``, and each value's rank among them (int64).

    The values are numbered by hash (:func:`relmine.numbering.dense_codes`, exact) and only
    the distinct ones are sorted: no sort of every value, no binary search or join back.
    """
    from relmine.numbering import dense_codes

    codes, distinct = dense_codes(values)
    order = distinct.arg_sort().to_numpy()
    rank = np.empty(order.size, dtype=np.int64)
    rank[order] = np.arange(order.size, dtype=np.int64)
    return distinct.gather(order), rank[codes.to_numpy()]


def to_igraph(
    ties: pl.DataFrame, *, vertices: Vertices | None = None
) -> tuple[igraph.Graph, pl.Series]:
    """An undirected weighted igraph graph straight from the tie table's arrays.

    Vertices are the sorted node ids, so vertex ``i`` is ``names[i]`` and the graph does not
    depend on row order; no Python loop over edges (about 85 bytes per edge).

    Parameters
    ----------
    ties : DataFrame
        ``a``, ``b``, ``weight``.
    vertices : Vertices, optional
        ``Vertices.of(ties)``, when the caller has it already.

    Returns
    -------
    (igraph.Graph, Series)
        The graph with edge attribute ``weight``, and the node id of each vertex.
    """
    vertices = vertices if vertices is not None else Vertices.of(ties)
    names, ia, ib = vertices.names, vertices.a, vertices.b
    graph = igraph_graph(names.len(), ia, ib, directed=False)
    graph.es["weight"] = ties["weight"].to_numpy()
    return graph, names


def igraph_graph(n: int, a: np.ndarray, b: np.ndarray, *, directed: bool) -> igraph.Graph:
    """An igraph graph of ``n`` vertices with the edges ``a[i] - b[i]``.

    igraph takes a NumPy array of pairs one pair at a time, making a Python object of each; with
    the garbage collector paused that costs 2.9 s for 5.4 M ties, against 6.3 s with it running
    and 3.6 s for a list of tuples (which also holds 600 MB while it exists).
    """
    igraph = load_igraph()
    with collector_paused():
        return igraph.Graph(n=n, edges=np.column_stack([a, b]), directed=directed)


def to_networkx(ties: pl.DataFrame, *, attributes: bool = True) -> networkx.Graph:
    """The tie table as a ``networkx.Graph`` (interop; about 530 bytes per edge).

    Nodes are added in sorted order, so algorithms that iterate over nodes are reproducible.
    With ``attributes``, every feature column becomes an edge attribute (nulls left out).
    """
    import networkx as nx

    graph = nx.Graph()
    nodes = pl.concat([ties["a"], ties["b"]]).unique().sort().to_list()
    graph.add_nodes_from(nodes)
    columns = [c for c in ties.columns if c not in ("a", "b")] if attributes else ["weight"]
    records = ties.select(columns).to_dicts()
    for a, b, attrs in zip(ties["a"].to_list(), ties["b"].to_list(), records, strict=True):
        graph.add_edge(a, b, **{k: _plain(v) for k, v in attrs.items() if v is not None})
    return graph


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def graph_summary(ties: pl.DataFrame) -> list[tuple[str, Any]]:
    """Figures about a tie table: nodes, ties, ties by channel, weight quantiles."""
    nodes = pl.concat([ties["a"], ties["b"]]).n_unique()
    return [
        ("nodes", nodes),
        ("ties", ties.height),
        ("ties with calls", int((ties["voice_n"] > 0).sum())),
        ("ties with messages", int((ties["sms_n"] > 0).sum())),
        ("ties with transfers", int((ties["bank_n"] > 0).sum())),
        ("reciprocal ties", int(((ties["events_ab"] > 0) & (ties["events_ba"] > 0)).sum())),
        ("median weight", float(ties["weight"].median() or 0.0)),
        ("90th percentile weight", float(ties["weight"].quantile(0.9) or 0.0)),
    ]


def write_graph(ties: pl.DataFrame, target: str, *, fmt: str | None = None) -> str:
    """Write the tie graph as GraphML or GEXF (for Gephi), atomically; returns the format.

    Written a slice of ties at a time (:mod:`relmine.graphfile`), not through NetworkX, whose
    writers hold 13-17 KB a tie: the 1 M-person world's 5.4 M ties needed more than 24 GB.

    Raises
    ------
    ConfigError
        If the format is neither, or the target is stdout.
    """
    from relmine.graphfile import write_gexf, write_graphml
    from relmine.output import write_table

    fmt = fmt or target.rsplit(".", 1)[-1].lower()
    if fmt not in ("graphml", "gexf"):
        raise ConfigError(f"unknown graph format {fmt!r}; use graphml or gexf")
    if target == "-":
        raise ConfigError(f"{fmt} is written to a file; pass -o FILE.{fmt}")
    save = write_graphml if fmt == "graphml" else write_gexf
    write_table(ties, target, fmt=fmt, writer=lambda path: save(ties, path))
    return fmt
