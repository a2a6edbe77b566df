"""What a report holds: the figures of each section and its charts, gathered from the store.

:func:`build_report` reads or computes every part once and returns a :class:`Report`, which
:mod:`relmine.report.render` turns into HTML or Markdown. On a large store three parts cost the
most -- communities, households and influencers, each a whole-graph computation of about 40 s on
a million parties -- so each can be handed over as the output of its command (``relmine
communities -o FILE``, as a nightly job writes them) and only what is not given is computed.
Everything else is read from the tie table (degrees, strengths, drawings), the manifest (files
and rejects) and one pass over the relationship events (events per channel, the hour x weekday
grid).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from relmine.config import Settings
from relmine.errors import ConfigError
from relmine.graph import (
    CHANNELS,
    Vertices,
    Window,
    excluded_parties,
    phone_calls,
    relationship_events,
)
from relmine.profile import WEEKDAYS, _scan_output
from relmine.report import charts
from relmine.report.charts import Chart, Drawing
from relmine.store import Store

__all__ = ["INFLUENCER_SHOWN", "Report", "build_report"]

#: Columns of the influencer table shown in a report, where the input has them.
INFLUENCER_SHOWN = (
    "rank",
    "node_id",
    "name",
    "score",
    "reach",
    "dependents",
    "domino",
    "explanation",
)

#: Strength bins per decade of the strength distribution.
_BINS_PER_DECADE = 10


@dataclass(frozen=True)
class Report:
    """The content of a report: one dictionary of figures per section, and the charts.

    Attributes
    ----------
    meta : dict
        ``version``, ``store``, ``store_version``, ``window``, ``channels``, ``seed``,
        ``draw_max_nodes``.
    sources : dict
        For communities, households and influencers: computed (with how) or the file read.
    ingest, events, graph, communities, households, activity : dict
        The figures of each section (JSON-ready).
    influencers : list of dict
        The rows of the influencer table (:data:`INFLUENCER_SHOWN`).
    settings : list of (str, str)
        Every setting in force and its value.
    tem : dict, optional
        The telco expense section (``relmine report --tem TARIFF``): totals, departments,
        destinations, the biggest external partners and the anomalies.
    charts : dict of str to Chart
        By name; ``community_drawing_1``..., ``ego_1``... are the drawings.
    """

    meta: dict[str, Any]
    sources: dict[str, str]
    ingest: dict[str, Any]
    events: dict[str, Any]
    graph: dict[str, Any]
    communities: dict[str, Any]
    households: dict[str, Any]
    influencers: list[dict[str, Any]]
    activity: dict[str, Any]
    settings: list[tuple[str, str]]
    charts: dict[str, Chart] = field(default_factory=dict)
    tem: dict[str, Any] | None = None

    @property
    def drawings(self) -> dict[str, list[Chart]]:
        """The network drawings: ``communities`` and ``egos``, in order."""
        return {
            kind: [c for name, c in self.charts.items() if name.startswith(prefix)]
            for kind, prefix in (("communities", "community_drawing_"), ("egos", "ego_"))
        }


def build_report(
    store: Store,
    ties: pl.DataFrame,
    *,
    window: Window = Window(),
    channels: tuple[str, ...] = CHANNELS,
    settings: Settings | None = None,
    seed: int = 0,
    communities: Path | None = None,
    households: Path | None = None,
    influencers: Path | None = None,
    method: str = "louvain",
    resolution: float | None = None,
    top: int | None = None,
    tem: Any = None,
) -> Report:
    """Gather a report on the store: ingest, graph, communities, households, influencers.

    Parameters
    ----------
    store : Store
        The store.
    ties : DataFrame
        Its tie table for ``window`` and ``channels`` (:func:`relmine.graph.load_ties`).
    window, channels
        Which events count.
    settings : Settings, optional
        The store's by default; ``report_*`` bound the tables and drawings.
    seed : int
        Seed of the communities and the domino when computed, and of the drawings' layout.
    communities, households, influencers : Path, optional
        Outputs of ``relmine communities``, ``households`` and ``influencers`` (Parquet, CSV,
        JSON or NDJSON) to read instead of computing them.
    method, resolution
        Of the communities computed when no file is given (as ``relmine communities``).
    top : int, optional
        Rows of the influencer table [``report_top_influencers``].
    tem : relmine.tem.TemResult, optional
        A company's phone costs by department (:func:`relmine.tem.expense_report` with
        ``by="department"``), for the telco expense section.

    Returns
    -------
    Report

    Raises
    ------
    ConfigError
        If a file is not the output it should be, or ``top`` is below 1.

    Examples
    --------
    >>> report = build_report(store, load_ties(store), seed=0)  # doctest: +SKIP
    >>> report.graph["ties"]  # doctest: +SKIP
    """
    settings = settings or store.settings
    top = settings.report_top_influencers if top is None else top
    if top < 1:
        raise ConfigError("the influencer table needs at least one row (--top must be ≥ 1)")
    _check(settings)
    dpi = settings.report_dpi
    sources: dict[str, str] = {}
    made: dict[str, Chart] = {}
    nodes = _node_table(ties)
    graph = _graph_section(ties, nodes, made, dpi)
    found = _communities(ties, store, settings, communities, method, resolution, seed, sources)
    community_section = _community_section(found, made, dpi)
    homes = _households(ties, store, window, settings, households, sources)
    household_section = _household_section(homes, made, dpi)
    ranked = _influencers(ties, store, settings, influencers, top, seed, sources)
    table = _named(ranked, store)
    events, activity = _activity(store, ties, window, channels, made, settings)
    parts = _Parts(ties, nodes, found, homes, set(ranked["node_id"].to_list()), settings, seed)
    _draw_communities(parts, made)
    _draw_egos(parts, ranked["node_id"].head(settings.report_drawings).to_list(), made)
    meta = {
        "version": _version(),
        "store": str(store.root),
        "store_version": store.manifest["version"],
        "window": {"since": _day(window.since), "until": _day(window.until)},
        "channels": list(channels),
        "seed": seed,
        "draw_max_nodes": settings.report_draw_max_nodes,
    }
    shown = [(f.name, str(getattr(settings, f.name))) for f in dataclasses.fields(settings)]
    tem_section = _tem_section(tem, made, dpi, seed) if tem is not None else None
    return Report(
        meta=meta,
        sources=sources,
        ingest=_ingest_section(store),
        events=events,
        graph=graph,
        communities=community_section,
        households=household_section,
        influencers=table.to_dicts(),
        activity=activity,
        settings=shown,
        charts=made,
        tem=tem_section,
    )


#: Rows of the telco expense tables, and departments drawn in its graph.
_TEM_ROWS = 15


def _tem_section(result: Any, made: dict[str, Chart], dpi: int, seed: int) -> dict[str, Any]:
    """Telco expense figures and charts: cost per department and destination, the department
    graph (calls between departments), the biggest external partners and the anomalies."""
    usage = result.usage.sort(["cost", "department"], descending=[True, False])
    top = usage.head(_TEM_ROWS)
    made["tem_departments"] = charts.bar_chart(
        top["department"].to_list(),
        [round(float(c), 2) for c in top["cost"].to_list()],
        name="tem_departments",
        title=f"cost per department ({result.currency})",
        xlabel="department",
        ylabel=result.currency,
        dpi=dpi,
    )
    kinds = (
        result.destinations.group_by("destination")
        .agg(cost=pl.col("cost").sum())
        .sort(["cost", "destination"], descending=[True, False])
    )
    made["tem_destinations"] = charts.bar_chart(
        kinds["destination"].to_list(),
        [round(float(c), 2) for c in kinds["cost"].to_list()],
        name="tem_destinations",
        title=f"cost per destination class ({result.currency})",
        xlabel="destination class",
        ylabel=result.currency,
        dpi=dpi,
    )
    names = top["department"].to_list()
    number = {d: i for i, d in enumerate(names)}
    links = result.departments.filter(
        pl.col("from_department").is_in(names)
        & pl.col("to_department").is_in(names)
        & (pl.col("from_department") != pl.col("to_department"))
    ).sort("from_department", "to_department")
    ends = links.select(
        pl.col("from_department").replace_strict(number, return_dtype=pl.Int64),
        pl.col("to_department").replace_strict(number, return_dtype=pl.Int64),
    )
    edges = ends.to_numpy().astype(np.int64).reshape(-1, 2)
    cost = top["cost"].to_numpy().astype(float)
    sizes = (
        40 + 400 * cost / cost.max() if cost.size and cost.max() > 0 else np.full(len(names), 60)
    )
    drawing = Drawing(
        labels=names,
        sizes=sizes,
        colours=[charts.ROLE_COLOURS["member"]] * len(names),
        edges=edges,
        weights=links["minutes"].to_numpy().astype(float),
        highlight=list(range(len(names))),
    )
    made["tem_graph"] = charts.network_chart(
        drawing,
        name="tem_graph",
        title="calls between departments (size: cost; shade: minutes)",
        legend={},
        seed=seed,
        dpi=dpi,
    )
    partners = (
        result.partners.group_by("partner", "destination")
        .agg(
            calls=pl.col("calls").sum(), minutes=pl.col("minutes").sum(), cost=pl.col("cost").sum()
        )
        .sort(["cost", "partner"], descending=[True, False])
        .head(_TEM_ROWS)
    )
    anomalies = result.anomalies.select("node_id", "department", "anomaly", "reason")
    return {
        "currency": result.currency,
        "totals": [(k, v) for k, v in result.totals],
        "usage": top.select(
            "department",
            "employees",
            "calls_internal",
            "calls_external",
            "billed_minutes",
            "cost",
            "offhours_share",
        ).to_dicts(),
        "partners": partners.to_dicts(),
        "anomalies": anomalies.head(_TEM_ROWS * 2).to_dicts(),
        "anomaly_count": anomalies.height,
    }


def _check(settings: Settings) -> None:
    """The ``report_*`` settings, or a :class:`ConfigError` naming the one that is off."""
    least = {"report_dpi": 20, "report_draw_max_nodes": 2, "report_drawings": 0}
    for name, low in least.items():
        if getattr(settings, name) < low:
            raise ConfigError(f"setting {name} must be at least {low} (relmine.toml or env)")


def _version() -> str:
    from relmine import __version__

    return __version__


def _day(value: Any) -> str | None:
    return None if value is None else str(value)


# ---------------------------------------------------------------------------------------------
# ingest and events
# ---------------------------------------------------------------------------------------------


def _ingest_section(store: Store) -> dict[str, Any]:
    """The ingested files with their row accounting, and the rejected rows by kind and reason.

    Read from the manifest (the records ``relmine status`` lists as ``files``), so a report on
    a large store does not rescan it.
    """
    keys = ("path", "kind", "rows", "accepted", "rejected", "duplicates")
    files = [{k: f[k] for k in keys} for f in store.files]
    reasons: dict[tuple[str, str], int] = {}
    for f in store.files:  # one loop over files, not rows
        for reason, n in f["rejected_by_reason"].items():
            reasons[(f["kind"], reason)] = reasons.get((f["kind"], reason), 0) + int(n)
    by_reason = [
        {"kind": kind, "reason": reason, "rows": n}
        for (kind, reason), n in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))
    ]
    totals = {k: sum(int(f[k]) for f in files) for k in keys[2:]}
    return {"files": files, "rejected_by_reason": by_reason, "totals": totals}


def _activity(
    store: Store,
    ties: pl.DataFrame,
    window: Window,
    channels: tuple[str, ...],
    made: dict[str, Chart],
    settings: Settings,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Relationship events per channel, and calls and messages by local hour and weekday.

    The events per channel are the tie table's counts (``voice_n``, ``sms_n``, ``bank_n``: a
    transfer shown on two statements once, a person's two SIMs one party). The grid counts the
    calls and messages of :func:`relmine.graph.relationship_events`; transfers are booked by
    date, so they are not in it (and their de-duplication is not paid for).

    The grid is first counted over the stored call records themselves, a pass over two columns.
    The relationship events are those records less the ones between two identifiers of one party
    (a person calling their own second SIM), and the tie table counts every relationship event
    once; so when the records are as many as the tie table's calls and messages, no record was
    left out and the grid is exact. Only otherwise are the events resolved to their parties (two
    joins on the identifiers: 5.4 s instead of 0.2 s for the 9.9 M call records of the 1 M
    world).
    """
    counted = {"voice": "voice_n", "sms": "sms_n", "bank": "bank_n"}
    sums = ties.select(pl.col(counted[c]).sum() for c in channels).row(0) if channels else ()
    events = {c: int(n or 0) for c, n in zip(channels, sums, strict=True)}
    events["total"] = sum(events.values())
    activity: dict[str, Any] = {"calls_and_messages": 0}
    phone_channels = [c for c in channels if c != "bank"]
    if not phone_channels:
        return events, activity

    def by_hour(calls: pl.LazyFrame) -> pl.DataFrame:
        return (
            calls.group_by(
                day=pl.col("ts_local").dt.weekday() - 1, hour=pl.col("ts_local").dt.hour()
            )
            .agg(n=pl.len())
            .collect(engine="streaming")
        )

    counts = by_hour(phone_calls(window.filter(store.scan("cdr")), phone_channels))
    if counts["n"].sum() != sum(events[c] for c in phone_channels):
        counts = by_hour(relationship_events(store, window=window, channels=phone_channels))
    grid = np.zeros((len(WEEKDAYS), 24), dtype=np.int64)
    grid[counts["day"].to_numpy(), counts["hour"].to_numpy()] = counts["n"].to_numpy()
    activity["calls_and_messages"] = int(grid.sum())
    if grid.sum():
        day, hour = np.unravel_index(int(np.argmax(grid)), grid.shape)
        activity["busiest"] = f"{WEEKDAYS[day]} {hour:02d}:00-{hour:02d}:59"
        night = [h for h in range(24) if h >= settings.night_start or h < settings.night_end]
        activity["night_hours"] = f"{settings.night_start:02d}-{settings.night_end:02d}"
        activity["night_share"] = round(float(grid[:, night].sum() / grid.sum()), 4)
        activity["weekend_share"] = round(float(grid[5:].sum() / grid.sum()), 4)
        made["activity"] = charts.heatmap_chart(
            grid,
            list(WEEKDAYS),
            name="activity",
            title="calls and messages by local hour and weekday",
            dpi=settings.report_dpi,
        )
    return events, activity


# ---------------------------------------------------------------------------------------------
# graph
# ---------------------------------------------------------------------------------------------


def _node_table(ties: pl.DataFrame) -> pl.DataFrame:
    """Per node of the tie graph: ``degree`` (ties) and ``strength`` (sum of tie weights)."""
    ends = pl.concat(
        [ties.lazy().select(node_id="a", w="weight"), ties.lazy().select(node_id="b", w="weight")]
    )
    return ends.group_by("node_id").agg(degree=pl.len(), strength=pl.col("w").sum()).collect()


def _graph_section(
    ties: pl.DataFrame, nodes: pl.DataFrame, made: dict[str, Chart], dpi: int
) -> dict[str, Any]:
    degree = nodes["degree"]
    section: dict[str, Any] = {
        "nodes": nodes.height,
        "ties": ties.height,
        "total_weight": round(float(ties["weight"].sum()), 2) if ties.height else 0.0,
    }
    if nodes.height:
        section |= {
            "mean_degree": round(float(degree.mean()), 2),  # type: ignore[arg-type]
            "median_degree": float(degree.median()),  # type: ignore[arg-type]
            "max_degree": int(degree.max()),  # type: ignore[arg-type]
            "p99_degree": float(degree.quantile(0.99, "nearest")),  # type: ignore[arg-type]
            "median_strength": round(float(nodes["strength"].median()), 3),  # type: ignore[arg-type]
        }
    degrees = nodes.group_by(x="degree").agg(count=pl.len()).sort("x")
    made["degree"] = charts.loglog_chart(
        degrees,
        name="degree",
        title="degree distribution",
        xlabel="ties of a party (degree)",
        ylabel="parties",
        dpi=dpi,
    )
    bins = (pl.col("strength").log10() * _BINS_PER_DECADE).floor()
    strengths = (
        nodes.filter(pl.col("strength") > 0)
        .group_by(bin=bins)
        .agg(count=pl.len())
        .select(x=10 ** (pl.col("bin") / _BINS_PER_DECADE), count="count")
        .sort("x")
    )
    made["strength"] = charts.loglog_chart(
        strengths,
        name="strength",
        title="strength distribution",
        xlabel="sum of tie weights of a party (strength, log bins)",
        ylabel="parties",
        dpi=dpi,
    )
    return section


# ---------------------------------------------------------------------------------------------
# communities, households, influencers: read or computed
# ---------------------------------------------------------------------------------------------


def _communities(
    ties: pl.DataFrame,
    store: Store,
    settings: Settings,
    path: Path | None,
    method: str,
    resolution: float | None,
    seed: int,
    sources: dict[str, str],
) -> pl.DataFrame:
    if path is not None:
        sources["communities"] = f"read from {path}"
        frame = _scan_output(path, "communities")
        return frame.select("node_id", "community_id", "community_size").collect()
    from relmine.communities import detect_communities

    vertices = Vertices.of(ties)
    apart = excluded_parties(ties, store, settings, vertices=vertices)
    found = detect_communities(
        ties,
        method=method,
        resolution=resolution,
        seed=seed,
        apart=apart,
        vertices=vertices,
        leiden_iterations=settings.leiden_iterations,
    )
    sources["communities"] = (
        f"computed: {found.method}, resolution {found.resolution}, seed {seed}, "
        f"modularity {found.modularity:.4f}"
    )
    return found.frame


def _households(
    ties: pl.DataFrame,
    store: Store,
    window: Window,
    settings: Settings,
    path: Path | None,
    sources: dict[str, str],
) -> pl.DataFrame:
    if path is not None:
        sources["households"] = f"read from {path}"
        frame = _scan_output(path, "households")
        return frame.select("node_id", "household_id", "household_size").collect()
    from relmine.households import detect_households

    sources["households"] = f"computed: at most {settings.household_max_size} members"
    found = detect_households(ties, store, window=window, settings=settings)
    return found.select("node_id", "household_id", "household_size")


def _influencers(
    ties: pl.DataFrame,
    store: Store,
    settings: Settings,
    path: Path | None,
    top: int,
    seed: int,
    sources: dict[str, str],
) -> pl.DataFrame:
    if path is not None:
        frame = _scan_output(path, "influencers").collect()
        sources["influencers"] = (
            f"read from {path} (top {min(top, frame.height)} of {frame.height:,})"
        )
        return frame.sort("rank").head(top)
    from relmine.influence import rank_influencers

    result = rank_influencers(ties, store, top=top, seed=seed, settings=settings)
    sources["influencers"] = (
        f"computed: top {result.frame.height} of {result.ranked:,} ranked, seed {seed}"
    )
    return result.frame


def _named(ranked: pl.DataFrame, store: Store) -> pl.DataFrame:
    """The influencer table with each customer's name from the register, in rank order."""
    names = (
        store.scan("customers")
        .filter(pl.col("customer_id").is_in(ranked["node_id"].implode()))
        .group_by(node_id="customer_id")
        .agg(pl.col("name").drop_nulls().sort().first())
        .collect()
    )
    table = ranked.join(names, on="node_id", how="left").sort("rank")
    cols = [c for c in INFLUENCER_SHOWN if c in table.columns]
    return table.select(cols).with_columns(pl.col(pl.Float64).round(4))


def _community_section(found: pl.DataFrame, made: dict[str, Chart], dpi: int) -> dict[str, Any]:
    sizes = found.unique("community_id").select("community_size")
    counts = sizes.group_by(x="community_size").agg(count=pl.len()).sort("x")
    made["community_sizes"] = charts.loglog_chart(
        counts,
        name="community_sizes",
        title="community size distribution",
        xlabel="members of a community",
        ylabel="communities",
        dpi=dpi,
    )
    size = sizes["community_size"]
    section: dict[str, Any] = {"communities": sizes.height, "parties": found.height}
    if sizes.height:
        section |= {
            "largest": int(size.max()),  # type: ignore[arg-type]
            "median_size": float(size.median()),  # type: ignore[arg-type]
            "singletons": int((size == 1).sum()),
            "in_largest_10": int(size.sort(descending=True).head(10).sum()),
        }
    return section


def _household_section(homes: pl.DataFrame, made: dict[str, Chart], dpi: int) -> dict[str, Any]:
    per_size = (
        homes.group_by("household_size")
        .agg(people=pl.len())
        .with_columns(households=pl.col("people") // pl.col("household_size"))
        .sort("household_size")
    )
    rows = per_size.to_dicts()
    made["household_sizes"] = charts.bar_chart(
        [str(r["household_size"]) for r in rows],
        [int(r["households"]) for r in rows],
        name="household_sizes",
        title="household size distribution",
        xlabel="members of a household (1 = a party in no household)",
        ylabel="households",
        dpi=dpi,
        log=True,
    )
    grouped = per_size.filter(pl.col("household_size") > 1)
    return {
        "sizes": rows,
        "households": int(grouped["households"].sum()),
        "people_in_households": int(grouped["people"].sum()),
        "singletons": int(per_size.filter(pl.col("household_size") == 1)["people"].sum()),
    }


# ---------------------------------------------------------------------------------------------
# drawings
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Parts:
    """What the drawings read: ties, per-node strength, groups, the influencers listed."""

    ties: pl.DataFrame
    nodes: pl.DataFrame
    communities: pl.DataFrame
    households: pl.DataFrame
    influencers: set[str]
    settings: Settings
    seed: int


def _drawing(parts: _Parts, members: pl.DataFrame, colour: pl.Series, focus: list[str]) -> Drawing:
    """A drawing of ``members`` (``node_id``, sorted) and the ties among them."""
    ids = members["node_id"]
    wanted = ids.implode()
    among = parts.ties.lazy().filter(pl.col("a").is_in(wanted) & pl.col("b").is_in(wanted))
    edges = among.select("a", "b", "weight").sort("a", "b").collect()
    ea = ids.search_sorted(edges["a"]).to_numpy()
    eb = ids.search_sorted(edges["b"]).to_numpy()
    strength = members["strength"].fill_null(0).to_numpy()
    top = strength.max() if strength.size and strength.max() > 0 else 1.0
    sizes = 8 + 80 * np.sqrt(strength / top)
    labels = ids.to_list()
    return Drawing(
        labels=labels,
        sizes=sizes,
        colours=colour.to_list(),
        edges=np.column_stack([ea, eb]).astype(np.int64) if edges.height else np.zeros((0, 2)),
        weights=edges["weight"].to_numpy(),
        highlight=[labels.index(f) for f in focus if f in labels],
    )


def _core(parts: _Parts, members: pl.DataFrame, limit: int) -> pl.DataFrame:
    """At most ``limit`` members, grown from the strongest one along the strongest ties.

    The strongest members of a community of thousands are mostly not tied to one another, so
    their drawing would be a cloud of dots. Instead the drawing grows like Prim's algorithm in
    batches: each round adds the members not yet drawn with the most tie weight to those drawn
    (``limit / 10`` at a time, largest first, ties by node id), and a new start from the next
    strongest member when no tie leads out. Returns ``node_id``, ``strength``, sorted by node id.
    """
    ranked = members.join(parts.nodes.select("node_id", "strength"), on="node_id", how="left")
    ranked = ranked.sort(["strength", "node_id"], descending=[True, False], nulls_last=True)
    if ranked.height <= limit:
        return ranked.sort("node_id")
    ids = ranked["node_id"].implode()
    inside = parts.ties.lazy().filter(pl.col("a").is_in(ids) & pl.col("b").is_in(ids))
    inside = inside.select("a", "b", "weight").collect()
    arcs = pl.concat(
        [inside.select(u="a", v="b", w="weight"), inside.select(u="b", v="a", w="weight")]
    )
    batch = max(1, limit // 10)
    chosen = ranked.head(1).select("node_id")
    while chosen.height < limit:  # a round per batch (about ten), not per member
        leads = arcs.join(chosen, left_on="u", right_on="node_id", how="semi").join(
            chosen, left_on="v", right_on="node_id", how="anti"
        )
        if leads.height:
            added = (
                leads.group_by(node_id="v")
                .agg(w=pl.col("w").sum())
                .sort(["w", "node_id"], descending=[True, False])
                .head(min(batch, limit - chosen.height))
                .select("node_id")
            )
        else:
            added = ranked.join(chosen, on="node_id", how="anti").head(1).select("node_id")
        chosen = pl.concat([chosen, added])
    return chosen.join(ranked, on="node_id", how="left").sort("node_id")


def _draw_communities(parts: _Parts, made: dict[str, Chart]) -> None:
    """The largest communities (at least three members), each by its core (:func:`_core`).

    Members of one household share a colour; parties in no household are grey; influencers of
    the table are red and labelled.
    """
    settings = parts.settings
    largest = (
        parts.communities.filter(pl.col("community_size") >= 3)
        .unique("community_id")
        .sort("community_id")
        .head(settings.report_drawings)
    )
    for cid, size in largest.select("community_id", "community_size").iter_rows():
        members = parts.communities.filter(pl.col("community_id") == cid).select("node_id")
        members = _core(parts, members, settings.report_draw_max_nodes)
        groups = members.join(parts.households, on="node_id", how="left").sort("node_id")
        order = groups.filter(pl.col("household_size") > 1)["household_id"].unique().sort()
        palette = charts.GROUP_COLOURS
        cycled = [palette[i % len(palette)] for i in range(order.len())]  # groups, not rows
        index = pl.DataFrame({"household_id": order, "_c": cycled})
        coloured = groups.join(index, on="household_id", how="left").with_columns(
            colour=pl.when(
                pl.col("node_id").is_in(
                    pl.Series(sorted(parts.influencers), dtype=pl.String).implode()
                )
            )
            .then(pl.lit(charts.ROLE_COLOURS["focus"]))
            .otherwise(pl.col("_c").fill_null(charts.ROLE_COLOURS["other"]))
        )
        focus = [n for n in members["node_id"].to_list() if n in parts.influencers]
        shown = f"{members.height} shown" if members.height < size else "all shown"
        made[f"community_drawing_{cid}"] = charts.network_chart(
            _drawing(parts, members, coloured["colour"], focus),
            name=f"community_drawing_{cid}",
            title=f"community {cid}: {size:,} members ({shown})",
            legend={
                charts.ROLE_COLOURS["focus"]: "influencer",
                palette[0]: "a household (one colour each)",
                charts.ROLE_COLOURS["other"]: "in no household",
            },
            seed=parts.seed,
            dpi=settings.report_dpi,
        )


def _draw_egos(parts: _Parts, egos: list[str], made: dict[str, Chart]) -> None:
    """Each top influencer with its strongest contacts and the ties among them."""
    settings = parts.settings
    households = parts.households.select("node_id", "household_id", "household_size")
    for i, ego in enumerate(egos, start=1):
        mine = parts.ties.lazy().filter((pl.col("a") == ego) | (pl.col("b") == ego))
        contacts = (
            mine.select(
                node_id=pl.when(pl.col("a") == ego).then("b").otherwise("a"), weight="weight"
            )
            .sort(["weight", "node_id"], descending=[True, False])
            .head(settings.report_draw_max_nodes - 1)
            .collect()
        )
        degree = parts.nodes.filter(pl.col("node_id") == ego)["degree"]
        everyone = pl.concat([pl.DataFrame({"node_id": [ego]}), contacts.select("node_id")])
        members = everyone.join(
            parts.nodes.select("node_id", "strength"), on="node_id", how="left"
        ).sort("node_id")
        home = households.filter(pl.col("node_id") == ego)
        same_home = (
            households.filter(
                pl.col("household_id").is_in(home["household_id"].implode())
                & (pl.col("household_size") > 1)
            )["node_id"]
            if home.height
            else pl.Series([], dtype=pl.String)
        )
        circle = parts.communities.filter(pl.col("node_id") == ego)["community_id"]
        same_circle = parts.communities.filter(pl.col("community_id").is_in(circle.implode()))[
            "node_id"
        ]
        colour = members.select(
            pl.when(pl.col("node_id") == ego)
            .then(pl.lit(charts.ROLE_COLOURS["focus"]))
            .when(pl.col("node_id").is_in(same_home.implode()))
            .then(pl.lit(charts.GROUP_COLOURS[0]))
            .when(pl.col("node_id").is_in(same_circle.implode()))
            .then(pl.lit(charts.ROLE_COLOURS["member"]))
            .otherwise(pl.lit(charts.ROLE_COLOURS["other"]))
        ).to_series()
        ties_of_ego = int(degree[0]) if degree.len() else 0
        shown = (
            f"{contacts.height} strongest of {ties_of_ego:,} contacts"
            if contacts.height < ties_of_ego
            else f"all {ties_of_ego:,} contacts"
        )
        made[f"ego_{i}"] = charts.network_chart(
            _drawing(parts, members, colour, [ego]),
            name=f"ego_{i}",
            title=f"influencer #{i} {ego}: {shown}",
            legend={
                charts.ROLE_COLOURS["focus"]: "the influencer",
                charts.GROUP_COLOURS[0]: "same household",
                charts.ROLE_COLOURS["member"]: "same community",
                charts.ROLE_COLOURS["other"]: "elsewhere",
            },
            seed=parts.seed,
            dpi=settings.report_dpi,
        )
