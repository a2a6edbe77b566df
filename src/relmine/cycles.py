"""Money cycles: intra-group financing and round-tripping, ``A -> B -> ... -> A``.

A *cycle* is a sequence of 2 to 6 transfers ``e1, ..., ek`` between distinct parties in which each
transfer's payee pays the next one and the last one pays the first payer back, where

* each hop is booked at most ``max_gap`` days after the previous one (never before it): the
  money visibly moves on (a *time-respecting* or *temporal* cycle, Kumar & Calders 2018);
* each hop's amount is within ``amount_tolerance`` of the **previous hop's** amount
  (``|a_i - a_(i-1)| <= amount_tolerance * a_(i-1)``). The previous hop, not the first, is the
  reference because every layer of a round trip typically keeps a fee or pays a charge: six hops
  each 1 % smaller are one cycle, while a hop of a third of the previous one is a different
  payment.

How it is found without enumerating every simple cycle of the graph (Johnson 1975 is exponential
in the number of cycles, and a bank's payment graph has astronomically many):

1. Only transfers inside one **strongly connected component** of the directed payment graph can
   lie on a cycle; the components come from igraph (Tarjan's algorithm, linear time), and every
   other transfer -- salaries, invoices to utilities, card payments -- is dropped at once.
2. **Time-respecting path search** by Polars joins, hop by hop: the paths of ``h`` hops are joined
   with the candidate transfers leaving their last party; the gap and amount filters prune the
   expansion at every hop, a path may not visit a party twice, and a path that returns to its
   first party is a cycle. At the last hop only transfers back to the start are joined.
3. A set of transfers is reported **once**: rotations of one cycle (possible only when hops share a
   booking time) are folded onto the one that starts with the earliest transfer.

``any_order`` drops the "after" of the first rule -- consecutive hops within ``max_gap`` days of
each other in either order -- for data whose booking dates do not follow the flow of money (value
dates, batch bookings, simulators such as AMLSim). Then every rotation would qualify, so paths
start at the cycle's smallest party and close only when the last and first hops also meet the gap
and amount rules.

References
----------
Johnson, D. B. (1975). Finding all the elementary circuits of a directed graph. SIAM J. Comput.
4(1), 77-84.
Tarjan, R. (1972). Depth-first search and linear graph algorithms. SIAM J. Comput. 1(2), 146-160.
Kumar, R., Calders, T. (2018). 2SCENT: an efficient algorithm for enumerating all simple temporal
cycles. Proc. VLDB Endowment 11(11), 1441-1453.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from relmine.config import Settings
from relmine.errors import ConfigError, StoreError
from relmine.graph import Window, igraph_graph, relationship_events
from relmine.store import Store

__all__ = ["CycleResult", "cycle_members", "find_cycles", "transfers"]

_DAY_US = 86_400_000_000  # microseconds in a day: ts_local is Datetime("us")
_LONGEST = 12  # longer chains of hops are layering, not a cycle to review by hand


@dataclass(frozen=True)
class CycleResult:
    """Money cycles found in a store.

    Attributes
    ----------
    frame : DataFrame
        One row per hop, sorted by ``cycle_id`` and ``position``: ``cycle_id`` (1 = the earliest
        cycle), ``node_id`` (the payer of the hop), ``position`` (1 = first hop), ``amount``,
        ``booked_at`` (local time), ``to_node_id`` (the payee), ``cycle_length`` (hops),
        ``total_amount`` (sum of the hops), ``span_days`` (first to last hop).
    transfers : int
        Transfers between two parties in the window.
    candidates : int
        Transfers inside a strongly connected component (the ones searched).
    components : int
        Strongly connected components of two or more parties.
    """

    frame: pl.DataFrame
    transfers: int
    candidates: int
    components: int

    def summary(self) -> list[tuple[str, object]]:
        """Figures for the terminal: what was searched and what was found."""
        lengths = self.frame.unique("cycle_id").get_column("cycle_length")
        members = self.frame.get_column("node_id").n_unique()
        return [
            ("transfers", self.transfers),
            ("in strongly connected components", self.candidates),
            ("components of 2+ parties", self.components),
            ("cycles", lengths.len()),
            *((f"cycles of {k} hops", int((lengths == k).sum())) for k in sorted(set(lengths))),
            ("parties in a cycle", members),
        ]


def transfers(store: Store, *, window: Window = Window()) -> tuple[pl.DataFrame, pl.Series]:
    """The store's transfers between two parties as numbered, directed edges.

    Read through :func:`relmine.graph.relationship_events`, so a transfer shown on two of our
    statements is one transfer and identifiers are resolved to nodes through the register.

    Returns
    -------
    (DataFrame, Series)
        ``edge`` (UInt32, numbered by booking time, payer, payee, amount), ``u`` (payer) and
        ``v`` (payee) as vertex numbers, ``t`` (local booking time), ``amount``; and the node id
        of every vertex number.

    Raises
    ------
    StoreError
        If the window holds no transfer between two parties.
    """
    events, names = relationship_events(store, window=window, channels=("bank",), coded=True)
    if events.height == 0:
        raise StoreError(
            f"no transfers between two parties in {store.root}; ingest bank statements first"
        )
    edges = (
        events.select("u", "v", t="ts_local", amount="value")
        .sort("t", "u", "v", "amount")
        .with_row_index("edge")
    )
    return edges, names


def _strong_components(edges: pl.DataFrame, n: int) -> tuple[np.ndarray, int]:
    """The strongly connected component of every vertex, and the number of 2+ vertex ones."""
    pairs = edges.select("u", "v").unique().to_numpy().astype(np.int64)
    graph = igraph_graph(n, pairs[:, 0], pairs[:, 1], directed=True)
    membership = np.asarray(graph.connected_components(mode="strong").membership)
    sizes = np.bincount(membership)
    return membership, int((sizes >= 2).sum())


def find_cycles(
    store: Store,
    *,
    window: Window = Window(),
    settings: Settings | None = None,
    max_gap: float | None = None,
    amount_tolerance: float | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    min_amount: float | None = None,
    any_order: bool = False,
    read: tuple[pl.DataFrame, pl.Series] | None = None,
) -> CycleResult:
    """Find the money cycles among the store's transfers.

    Parameters
    ----------
    store : Store
        The store to read the transfers and the register from.
    window : Window, optional
        Local-date window of the transfers; open by default.
    settings : Settings, optional
        Defaults of the options below (``cycle_*``); the store's by default.
    max_gap : float, optional
        Largest number of days between a hop and the previous one (``cycle_max_gap``, 30).
    amount_tolerance : float, optional
        Largest relative difference between a hop's amount and the previous hop's
        (``cycle_amount_tolerance``, 0.1 = 10 %).
    min_length, max_length : int, optional
        Fewest and most hops (= parties) of a cycle (``cycle_min_length``, ``cycle_max_length``:
        2 and 6).
    min_amount : float, optional
        Transfers smaller than this take no part (``cycle_min_amount``, 0: all).
    any_order : bool
        Allow consecutive hops in either time order (still within ``max_gap`` days).
    read : (DataFrame, Series), optional
        The window's :func:`transfers`, when the caller has read them already.

    Returns
    -------
    CycleResult
        The cycles hop by hop (see :class:`CycleResult`) and what was searched.

    Raises
    ------
    ConfigError
        If a parameter is out of range.
    StoreError
        If the window holds no transfers.

    Examples
    --------
    >>> result = find_cycles(Store.open(Path("relmine-store")), max_gap=10)  # doctest: +SKIP
    >>> result.frame.filter(pl.col("cycle_length") >= 4)  # doctest: +SKIP
    """
    settings = settings or store.settings
    max_gap = settings.cycle_max_gap if max_gap is None else max_gap
    tolerance = settings.cycle_amount_tolerance if amount_tolerance is None else amount_tolerance
    min_length = settings.cycle_min_length if min_length is None else min_length
    max_length = settings.cycle_max_length if max_length is None else max_length
    min_amount = settings.cycle_min_amount if min_amount is None else min_amount
    if not 2 <= min_length <= max_length:
        raise ConfigError("--min-length must be at least 2 and at most --max-length")
    if max_length > _LONGEST:
        raise ConfigError(f"--max-length must be at most {_LONGEST}")
    if not (max_gap >= 0 and tolerance >= 0 and min_amount >= 0):
        raise ConfigError("--max-gap, --amount-tolerance and --min-amount must not be negative")
    edges, names = read if read is not None else transfers(store, window=window)
    searched = edges.filter(pl.col("amount") >= min_amount) if min_amount > 0 else edges
    membership, components = _strong_components(searched, names.len())
    component = pl.Series(membership, dtype=pl.UInt32)
    inside = searched.filter(component.gather(searched["u"]) == component.gather(searched["v"]))
    found = _search(
        inside,
        gap_us=round(max_gap * _DAY_US),
        tolerance=tolerance,
        min_length=min_length,
        max_length=max_length,
        any_order=any_order,
    )
    frame = _hops(found, edges, names)
    return CycleResult(frame, edges.height, inside.height, components)


def _search(
    edges: pl.DataFrame,
    *,
    gap_us: int,
    tolerance: float,
    min_length: int,
    max_length: int,
    any_order: bool,
) -> pl.DataFrame:
    """Closed paths of candidate transfers: ``edges`` (list of edge numbers, in hop order)."""
    step = edges.select(
        cur="u", nxt="v", t_next="t", a_next="amount", e_next="edge"
    ).lazy()  # a hop leaving the path's last party
    paths = edges.select(
        start="u",
        cur="v",
        t0="t",
        a0="amount",
        t_last="t",
        a_last="amount",
        nodes=pl.concat_list("u"),
        edges=pl.concat_list("edge"),
    )
    if any_order:  # every cycle once: from its smallest party
        paths = paths.filter(pl.col("cur") > pl.col("start"))
    closed: list[pl.DataFrame] = []
    for hops in range(1, max_length):
        dt = pl.col("t_next") - pl.col("t_last")
        ok_time = dt.abs() <= gap_us if any_order else (dt >= 0) & (dt <= gap_us)
        ok_amount = (pl.col("a_next") - pl.col("a_last")).abs() <= tolerance * pl.col("a_last")
        if hops + 1 >= min_length:  # close: a hop back to the first party
            back = paths.lazy().join(
                step, left_on=["cur", "start"], right_on=["cur", "nxt"], how="inner"
            )
            back = back.filter(ok_time & ok_amount)
            if any_order:  # the last and the first hop are consecutive too
                wrap = (pl.col("t0") - pl.col("t_next")).abs() <= gap_us
                back = back.filter(
                    wrap & ((pl.col("a0") - pl.col("a_next")).abs() <= tolerance * pl.col("a_next"))
                )
            closed.append(
                back.select(edges=pl.col("edges").list.concat(pl.col("e_next"))).collect()
            )
        if hops + 1 == max_length:
            break
        grown = paths.lazy().join(step, on="cur", how="inner").filter(ok_time & ok_amount)
        grown = grown.filter(
            (pl.col("nxt") != pl.col("start")) & ~pl.col("nodes").list.contains(pl.col("nxt"))
        )
        if any_order:
            grown = grown.filter(pl.col("nxt") > pl.col("start"))
        paths = grown.select(
            "start",
            "t0",
            "a0",
            cur="nxt",
            t_last="t_next",
            a_last="a_next",
            nodes=pl.col("nodes").list.concat(pl.col("cur")),
            edges=pl.col("edges").list.concat(pl.col("e_next")),
        ).collect()
        if paths.height == 0:
            break
    found = pl.concat(closed) if closed else pl.DataFrame(schema={"edges": pl.List(pl.UInt32)})
    # one row per set of transfers: rotations (hops sharing a booking time) start at the
    # smallest edge number among those found
    return (
        found.with_columns(key=pl.col("edges").list.sort(), first=pl.col("edges").list.first())
        .sort("first", "key")
        .unique("key", keep="first", maintain_order=True)
        .select("edges")
    )


def _hops(found: pl.DataFrame, edges: pl.DataFrame, names: pl.Series) -> pl.DataFrame:
    """One row per hop, cycles numbered by first booking, then payer sequence, then edges."""
    if found.height == 0:
        return pl.DataFrame(
            schema={
                "cycle_id": pl.Int64,
                "node_id": pl.String,
                "position": pl.Int64,
                "amount": pl.Float64,
                "booked_at": pl.Datetime("us"),
                "to_node_id": pl.String,
                "cycle_length": pl.Int64,
                "total_amount": pl.Float64,
                "span_days": pl.Float64,
            }
        )
    long = (
        found.with_row_index("_c")
        .explode("edges")
        .rename({"edges": "edge"})
        .with_columns(position=pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("_c"))
        .join(edges, on="edge", how="left")
    )
    long = long.with_columns(
        node_id=pl.Series(names.gather(long["u"])), to_node_id=pl.Series(names.gather(long["v"]))
    )
    per_cycle = long.group_by("_c").agg(
        first_at=pl.col("t").min(),
        first_edge=pl.col("edge").sort_by("position").first(),
        payers=pl.col("node_id").sort_by("position").str.join(" "),
        cycle_length=pl.len().cast(pl.Int64),
        total_amount=(pl.col("amount") * 100).round(0).sum() / 100,
        span_days=(pl.col("t").max() - pl.col("t").min()).dt.total_seconds() / 86400.0,
    )
    per_cycle = per_cycle.sort("first_at", "payers", "first_edge").with_columns(
        cycle_id=pl.int_range(1, pl.len() + 1, dtype=pl.Int64)
    )
    return (
        long.join(per_cycle, on="_c", how="left")
        .select(
            "cycle_id",
            "node_id",
            "position",
            "amount",
            booked_at="t",
            to_node_id="to_node_id",
            cycle_length="cycle_length",
            total_amount="total_amount",
            span_days="span_days",
        )
        .sort("cycle_id", "position")
    )


def cycle_members(cycles: pl.DataFrame) -> pl.DataFrame:
    """Per party in a cycle: ``node_id``, ``cycles`` (how many), ``cycle_amount`` (largest total).

    The input is :attr:`CycleResult.frame`; risk (:mod:`relmine.risk`) flags these parties.
    """
    return (
        cycles.group_by("node_id")
        .agg(
            cycles=pl.col("cycle_id").n_unique().cast(pl.Int64),
            cycle_amount=pl.col("total_amount").max(),
        )
        .sort("node_id")
    )
