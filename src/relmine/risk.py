"""Banking network risk: credit capacity from a client's network, exposure to defaults, B2B ties.

A bank can lend to a "low-profile" client more safely when the client is strongly tied to solid
clients, and less safely when the client's network is full of defaults or when money just goes
round inside a group of companies. Per customer of the register, :func:`network_risk` gives:

Network credit capacity
    ``own = income + risk_assets_rate * assets`` (register; a month's income plus a monthly
    share of the assets), and

    ``network_capacity = own + risk_household_share * sum(own of the other household members)
    + risk_tie_share * sum over the risk_top_ties strongest ties w of share(v, w) * own(w)``

    where households come from :func:`relmine.households.detect_households` and ``share(v, w)``
    is the tie's share of ``v``'s total tie weight (0-1), so the tie term is a weighted mean of
    the strongest contacts' capacity. Household members pool income (hence a sum); friends only
    vouch for each other (hence a small share of a weighted mean). Companies and hotline-like
    parties are left out of both terms: an employer's assets guarantee nobody's loan.
Negative information (exposure to defaults)
    ``exposure(v)`` is the probability that a random walk on the weighted tie graph, started at
    ``v`` and stopped at each step with probability ``1 - risk_damping``, stops at a defaulted
    customer: ``x = (1 - d) * 1_D + d * P x`` with ``P = W / strength`` (a personalised PageRank
    seen from the client, Haveliwala 2002). By reversibility of the walk on an undirected graph
    it is ``vol(D) * PPR_r(v) / strength(v)`` with the reset ``r`` proportional to strength on
    the defaulted set ``D``: one PageRank call (igraph, PRPACK) for all customers. It lies in
    0-1, a defaulted customer has at least ``1 - d``, a customer tied to nobody 0.
    ``exposure_via`` is the contact carrying most of it (largest ``d * P[v, w] * x[w]``) and
    ``exposure_path`` follows those contacts to the defaulted customer, at most
    ``risk_path_hops`` steps.
Flags
    ``in_cycle``: the customer pays in a money cycle (:mod:`relmine.cycles`, the store's
    ``cycle_*`` settings); ``single_counterparty``: at least ``risk_dependence_share`` of the
    customer's money to and from other parties (at least ``risk_dependence_min_transfers``
    transfers) is with one counterparty.

:func:`company_ties` (``relmine risk --companies``) describes the companies: register
``kind = company`` or parties with regular monthly flows with at least
``risk_company_min_counterparties`` others; supplier -> customer relations are regular monthly
payments one way (the customer pays the supplier, nothing regular comes back); company groups
are Louvain communities of the tie graph among companies; a group *finances itself in cycles*
when a money cycle runs among its members only.

References
----------
Page, L., Brin, S., Motwani, R., Winograd, T. (1999). The PageRank citation ranking: bringing
order to the web. Stanford InfoLab.
Haveliwala, T. H. (2002). Topic-sensitive PageRank. Proc. WWW 2002, 517-526.
Blondel, V. D., Guillaume, J.-L., Lambiotte, R., Lefebvre, E. (2008). Fast unfolding of
communities in large networks. J. Stat. Mech. P10008.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from relmine.communities import detect_communities
from relmine.config import Settings
from relmine.cycles import find_cycles, transfers
from relmine.errors import ConfigError
from relmine.graph import Window, excluded_parties, to_igraph
from relmine.households import detect_households
from relmine.store import Store

__all__ = [
    "company_summary",
    "company_ties",
    "default_exposure",
    "network_risk",
    "register_finances",
    "risk_summary",
]

#: The risk columns shown on a terminal; ``-o`` writes them all.
TERMINAL_COLUMNS = (
    "exposure_rank",
    "node_id",
    "defaulted",
    "network_capacity",
    "exposure",
    "exposure_path",
    "in_cycle",
    "single_counterparty",
)


def register_finances(store: Store, settings: Settings) -> pl.DataFrame:
    """One row per customer: ``node_id``, ``kind``, ``income``, ``assets``, ``defaulted``, ``own``.

    The register has a row per phone or account of a customer; the figures are the customer's
    (the largest written, so a blank on one row does not hide them). ``own`` is the customer's
    own monthly capacity, ``income + risk_assets_rate * assets``.
    """
    register = (
        store.scan("customers")
        .group_by("customer_id")
        .agg(
            kind=pl.col("kind").drop_nulls().min(),
            income=pl.col("income").max(),
            assets=pl.col("assets").max(),
            defaulted=pl.col("defaulted").any(),
        )
        .collect()
    )
    own = pl.col("income").fill_null(0.0) + settings.risk_assets_rate * pl.col("assets").fill_null(
        0.0
    )
    return (
        register.rename({"customer_id": "node_id"}).with_columns(own=own.round(2)).sort("node_id")
    )


def _check(settings: Settings) -> None:
    """Raise :class:`ConfigError` for a ``risk_*`` setting out of its range."""
    if not 0.0 < settings.risk_damping < 1.0:
        raise ConfigError("setting risk_damping must be between 0 and 1 (exclusive)")
    shares = ("risk_assets_rate", "risk_household_share", "risk_tie_share")
    for name in shares:
        if getattr(settings, name) < 0:
            raise ConfigError(f"setting {name} must not be negative")
    for name in ("risk_top_ties", "risk_path_hops", "risk_company_min_counterparties"):
        if getattr(settings, name) < 1:
            raise ConfigError(f"setting {name} must be at least 1")
    if not 0.0 < settings.risk_dependence_share <= 1.0:
        raise ConfigError("setting risk_dependence_share must be above 0 and at most 1")


def _both_ways(ties: pl.DataFrame) -> pl.DataFrame:
    """Every tie from each end: ``node_id``, ``other``, ``weight``, ``share`` (of node's weight)."""
    return pl.concat(
        [
            ties.select(node_id="a", other="b", weight="weight", share="share_a"),
            ties.select(node_id="b", other="a", weight="weight", share="share_b"),
        ]
    )


def _capacity(
    ties: pl.DataFrame,
    finances: pl.DataFrame,
    households: pl.DataFrame,
    excluded: pl.DataFrame,
    settings: Settings,
) -> pl.DataFrame:
    """``household_capacity``, ``household_members``, ``ties_capacity``, ``capacity_via``."""
    own = finances.select("node_id", "own")
    persons = own.join(excluded, on="node_id", how="anti")
    house = (
        households.filter(pl.col("household_size") > 1)
        .select("node_id", "household_id")
        .join(persons, on="node_id", how="left")
        .with_columns(own=pl.col("own").fill_null(0.0))
        .sort("household_id", "node_id")  # a fixed order of the sums below
    )
    house = house.with_columns(
        household_members=(pl.len().over("household_id") - 1).cast(pl.Int64),
        household_capacity=settings.risk_household_share
        * (pl.col("own").sum().over("household_id") - pl.col("own")),
    ).select("node_id", "household_members", "household_capacity")
    same_house = households.filter(pl.col("household_size") > 1).select("node_id", "household_id")
    strongest = (
        _both_ways(ties)
        .join(persons.rename({"node_id": "other"}), on="other", how="inner")
        .join(same_house, on="node_id", how="left")
        .join(
            same_house.rename({"node_id": "other", "household_id": "h_other"}),
            on="other",
            how="left",
        )
        .filter(pl.col("household_id").is_null() | (pl.col("household_id") != pl.col("h_other")))
        .sort(["node_id", "weight", "other"], descending=[False, True, False])
        .group_by("node_id", maintain_order=True)
        .head(settings.risk_top_ties)
        .with_columns(part=settings.risk_tie_share * pl.col("share") * pl.col("own"))
    )
    ties_capacity = (
        strongest.sort(["node_id", "part", "other"], descending=[False, True, False])
        .group_by("node_id", maintain_order=True)
        .agg(
            ties_capacity=pl.col("part").sum(),
            capacity_via=pl.col("other").filter(pl.col("part") > 0).first(),
        )
    )
    return house.join(ties_capacity, on="node_id", how="full", coalesce=True)


def default_exposure(
    ties: pl.DataFrame, defaulted: pl.Series, *, damping: float, path_hops: int
) -> pl.DataFrame:
    """Exposure of every node of the tie graph to the defaulted nodes (see the module docstring).

    Parameters
    ----------
    ties : DataFrame
        The tie table (``a``, ``b``, ``weight``).
    defaulted : Series
        Node ids of the defaulted customers.
    damping : float
        Probability that the walk goes on at each step (``risk_damping``).
    path_hops : int
        Longest ``exposure_path`` shown.

    Returns
    -------
    DataFrame
        ``node_id``, ``exposure`` (0-1), ``exposure_via`` (the contact carrying most of it) and
        ``exposure_path`` (``A > B > C (defaulted)``), sorted by ``node_id``.
    """
    graph, names = to_igraph(ties)
    n = names.len()
    weight = np.asarray(graph.es["weight"], dtype=np.float64)
    strength = np.asarray(graph.strength(weights="weight"), dtype=np.float64)
    bad = names.is_in(defaulted.implode()).to_numpy()
    if not bad.any():
        return pl.DataFrame(
            {
                "node_id": names,
                "exposure": np.zeros(n),
                "exposure_via": pl.Series([None] * n, dtype=pl.String),
                "exposure_path": pl.Series([None] * n, dtype=pl.String),
            }
        )
    reset = np.where(bad, strength, 0.0)
    ppr = np.asarray(
        graph.personalized_pagerank(
            directed=False, damping=damping, reset=reset.tolist(), weights="weight"
        )
    )
    exposure = np.clip(reset.sum() * ppr / strength, 0.0, 1.0)
    # who carries it: the neighbour w with the largest d * w(v, w) / strength(v) * x(w)
    ends = np.asarray(graph.get_edgelist(), dtype=np.int64).reshape(-1, 2)
    src = np.concatenate([ends[:, 0], ends[:, 1]])
    dst = np.concatenate([ends[:, 1], ends[:, 0]])
    part = np.concatenate([weight, weight]) * exposure[dst] / strength[src]
    order = np.lexsort((dst, -part, src))  # per node: largest part first, then smallest id
    first = order[np.r_[True, src[order][1:] != src[order][:-1]]]
    via = np.full(n, -1, dtype=np.int64)
    via[src[first]] = np.where(part[first] > 0, dst[first], -1)
    # the path: follow the carriers until a defaulted customer, at most path_hops steps
    steps = [np.arange(n)]
    for _ in range(path_hops):
        last = steps[-1]
        going = (last >= 0) & ~bad[np.maximum(last, 0)]
        steps.append(np.where(going, via[np.maximum(last, 0)], -1))
    ends_bad = np.zeros(n, dtype=bool)
    for step in steps[1:]:
        ends_bad |= (step >= 0) & bad[np.maximum(step, 0)]
    hops = [_names_at(names, step) for step in steps[1:]]
    path = pl.concat_str([pl.lit(h) for h in hops], separator=" > ", ignore_nulls=True)
    frame = pl.DataFrame(
        {
            "node_id": names,
            "exposure": exposure.round(6),
            "exposure_via": _names_at(names, via),
            "_bad": bad,
            "_ends_bad": ends_bad,
        }
    ).with_columns(_path=path)
    return frame.select(
        "node_id",
        "exposure",
        exposure_via=pl.when(~pl.col("_bad")).then(pl.col("exposure_via")),
        exposure_path=pl.when(pl.col("_bad"))
        .then(pl.lit("own default"))
        .when(pl.col("_ends_bad"))
        .then(pl.col("_path") + " (defaulted)")
        .when(pl.col("exposure") > 0)
        .then(pl.col("_path") + " ..."),
    ).sort("node_id")


def _names_at(names: pl.Series, index: np.ndarray) -> pl.Series:
    """``names[index]`` (vertex numbers), null where ``index`` is -1.

    A Polars gather with null indices, not a NumPy object array of names and ``None``: Polars
    guesses such an array's type from its first values, and a column whose first hundred
    values are ``None`` became an ``Object`` column that cannot be a string one (a large graph
    whose first nodes by id have no path to a default).
    """
    return names.gather(pl.Series(index, dtype=pl.Int64).replace(-1, None))


def _dependence(edges: pl.DataFrame, names: pl.Series, settings: Settings) -> pl.DataFrame:
    """``top_counterparty``, ``top_counterparty_share`` of each party's money to and from others."""
    sides = pl.concat(
        [
            edges.select(node="u", other="v", amount="amount"),
            edges.select(node="v", other="u", amount="amount"),
        ]
    ).with_columns(amount=(pl.col("amount") * 100).round(0).cast(pl.Int64))  # exact sums in cents
    per_pair = sides.group_by("node", "other").agg(amount=pl.col("amount").sum(), n=pl.len())
    per_node = (
        per_pair.with_columns(
            total=pl.col("amount").sum().over("node"), transfers=pl.col("n").sum().over("node")
        )
        .sort(["node", "amount", "other"], descending=[False, True, False])
        .group_by("node", maintain_order=True)
        .first()
    )
    return per_node.select(
        node_id=names.gather(per_node["node"]),
        top_counterparty=names.gather(per_node["other"]),
        top_counterparty_share=(per_node["amount"] / per_node["total"]).round(4),
        single_counterparty=(
            per_node["amount"] / per_node["total"] >= settings.risk_dependence_share
        )
        & (per_node["transfers"] >= settings.risk_dependence_min_transfers),
    )


def network_risk(
    ties: pl.DataFrame,
    store: Store,
    *,
    window: Window = Window(),
    settings: Settings | None = None,
) -> pl.DataFrame:
    """Network credit capacity, exposure to defaults and flags, per customer of the register.

    Parameters
    ----------
    ties : DataFrame
        The tie table of :func:`relmine.graph.tie_features` for the window.
    store : Store
        For the register, the households' cells and the transfers.
    window : Window, optional
        The window the ties were built on.
    settings : Settings, optional
        ``risk_*``, ``household_*`` and ``cycle_*`` settings; the store's by default.

    Returns
    -------
    DataFrame
        One row per customer, sorted by ``exposure_rank`` (1 = most exposed; ties by node id):
        ``exposure_rank``, ``node_id``, ``kind``, ``defaulted``, ``income``, ``assets``,
        ``own_capacity``, ``household_id``, ``household_members``, ``household_capacity``,
        ``ties_capacity``, ``capacity_via``, ``network_capacity``, ``exposure``,
        ``exposure_via``, ``exposure_path``, ``in_cycle``, ``cycles``,
        ``top_counterparty``, ``top_counterparty_share``, ``single_counterparty``,
        ``explanation``.

    Examples
    --------
    >>> risk = network_risk(tie_features(store), store)  # doctest: +SKIP
    >>> risk.filter(pl.col("in_cycle"))  # doctest: +SKIP
    """
    settings = settings or store.settings
    _check(settings)
    finances = register_finances(store, settings)
    excluded = excluded_parties(ties, store, settings)
    households = detect_households(ties, store, window=window, settings=settings)
    capacity = _capacity(ties, finances, households, excluded, settings)
    defaulted = finances.filter(pl.col("defaulted").fill_null(False))["node_id"]
    exposure = default_exposure(
        ties, defaulted, damping=settings.risk_damping, path_hops=settings.risk_path_hops
    )
    edges, names = transfers(store, window=window)
    cycles = find_cycles(store, window=window, settings=settings, read=(edges, names)).frame
    in_cycles = cycles.group_by("node_id").agg(cycles=pl.col("cycle_id").n_unique().cast(pl.Int64))
    frame = (
        finances.join(households.select("node_id", "household_id"), on="node_id", how="left")
        .join(capacity, on="node_id", how="left")
        .join(exposure, on="node_id", how="left")
        .join(in_cycles, on="node_id", how="left")
        .join(_dependence(edges, names, settings), on="node_id", how="left")
        .with_columns(
            household_members=pl.col("household_members").fill_null(0),
            household_capacity=pl.col("household_capacity").fill_null(0.0).round(2),
            ties_capacity=pl.col("ties_capacity").fill_null(0.0).round(2),
            exposure=pl.col("exposure").fill_null(0.0),
            cycles=pl.col("cycles").fill_null(0),
            single_counterparty=pl.col("single_counterparty").fill_null(False),
        )
        .with_columns(
            network_capacity=(
                pl.col("own") + pl.col("household_capacity") + pl.col("ties_capacity")
            ).round(2),
            in_cycle=pl.col("cycles") > 0,
        )
        .sort(["exposure", "node_id"], descending=[True, False])
        .with_columns(exposure_rank=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    )
    return frame.select(
        "exposure_rank",
        "node_id",
        "kind",
        "defaulted",
        "income",
        "assets",
        own_capacity="own",
        household_id="household_id",
        household_members="household_members",
        household_capacity="household_capacity",
        ties_capacity="ties_capacity",
        capacity_via="capacity_via",
        network_capacity="network_capacity",
        exposure="exposure",
        exposure_via="exposure_via",
        exposure_path="exposure_path",
        in_cycle="in_cycle",
        cycles="cycles",
        top_counterparty="top_counterparty",
        top_counterparty_share="top_counterparty_share",
        single_counterparty="single_counterparty",
        explanation=_explanation(),
    )


def _money(col: str) -> pl.Expr:
    return pl.col(col).round(0).cast(pl.Int64).cast(pl.String)


def _explanation() -> pl.Expr:
    """The measures of a customer in words."""
    parts = [
        pl.format(
            "capacity {} = own {} + household {} ({} others) + ties {}",
            _money("network_capacity"),
            _money("own"),
            _money("household_capacity"),
            "household_members",
            _money("ties_capacity"),
        ),
        pl.when(pl.col("ties_capacity") >= 1).then(pl.format("most from {}", "capacity_via")),
        pl.when(pl.col("exposure") > 0).then(
            pl.format(
                "exposure to defaults {}: {}",
                pl.col("exposure").round(3),
                pl.col("exposure_path"),
            )
        ),
        pl.when(pl.col("in_cycle")).then(pl.format("pays in {} money cycles", "cycles")),
        pl.when(pl.col("single_counterparty")).then(
            pl.format(
                "{}% of money to and from others with {}",
                (pl.col("top_counterparty_share") * 100).round(0).cast(pl.Int64),
                "top_counterparty",
            )
        ),
    ]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True)


def company_ties(
    ties: pl.DataFrame,
    store: Store,
    *,
    window: Window = Window(),
    settings: Settings | None = None,
    seed: int = 0,
) -> pl.DataFrame:
    """Companies, their supplier/customer relations and groups, and groups financed in cycles.

    Parameters
    ----------
    ties : DataFrame
        The tie table of :func:`relmine.graph.tie_features` for the window.
    store : Store
        For the register and the transfers.
    window : Window, optional
        The window the ties were built on.
    settings : Settings, optional
        ``risk_company_min_counterparties`` and ``cycle_*``; the store's by default.
    seed : int
        Seed of the Louvain run that finds the company groups.

    Returns
    -------
    DataFrame
        One row per company, sorted by ``company_group`` then ``node_id``: ``node_id``,
        ``source`` (``register`` or ``regular flows``), ``company_group`` (1 = largest; null
        for a company in no group), ``group_size``, ``suppliers`` and ``customers`` (companies
        it pays, or is paid by, regularly one way), ``paying_parties`` (all parties paying it
        regularly), ``in_cycle``, ``group_cycles`` (money cycles among the group's members
        only), ``group_cycle_amount``, ``group_finances_in_cycles``, ``explanation``.
    """
    settings = settings or store.settings
    regular = pl.concat(
        [
            ties.filter(pl.col("bank_regular_ab").is_not_null()).select(
                payer="a", payee="b", back=pl.col("bank_regular_ba").is_not_null()
            ),
            ties.filter(pl.col("bank_regular_ba").is_not_null()).select(
                payer="b", payee="a", back=pl.col("bank_regular_ab").is_not_null()
            ),
        ]
    )
    # a party paid regularly by many, or paying many regularly (invoices, salaries) is a company
    counterparties = pl.concat(
        [
            regular.group_by(node_id="payee").agg(n=pl.col("payer").n_unique()),
            regular.group_by(node_id="payer").agg(n=pl.col("payee").n_unique()),
        ]
    )
    inferred = (
        counterparties.filter(pl.col("n") >= settings.risk_company_min_counterparties)
        .select("node_id")
        .unique()
    )
    finances = register_finances(store, settings)
    registered = finances.filter(pl.col("kind") == "company").select("node_id")
    persons = finances.filter(pl.col("kind") != "company").select("node_id")
    inferred = inferred.join(persons, on="node_id", how="anti")  # the register knows better
    nodes = pl.concat([ties["a"], ties["b"]]).unique().to_frame("node_id")
    companies = pl.concat(
        [
            registered.join(nodes, on="node_id", how="semi").with_columns(
                source=pl.lit("register")
            ),
            inferred.select("node_id", source=pl.lit("regular flows")),
        ]
    ).unique("node_id", keep="first", maintain_order=True)
    ids = companies.select("node_id")
    among = ties.join(ids.rename({"node_id": "a"}), on="a", how="semi").join(
        ids.rename({"node_id": "b"}), on="b", how="semi"
    )
    # group ties: money between two companies that is not a supplier's regular invoice
    invoice_ab = pl.col("bank_regular_ab").is_not_null() & (pl.col("events_ba") == 0)
    invoice_ba = pl.col("bank_regular_ba").is_not_null() & (pl.col("events_ab") == 0)
    among = among.filter((pl.col("bank_n") > 0) & ~invoice_ab & ~invoice_ba)
    groups = detect_communities(among, seed=seed).frame if among.height else None
    if groups is None:
        groups = pl.DataFrame(
            schema={"node_id": pl.String, "community_id": pl.Int64, "community_size": pl.Int64}
        )
    groups = groups.filter(pl.col("community_size") > 1).select(
        "node_id", company_group="community_id", group_size="community_size"
    )
    one_way = regular.filter(~pl.col("back"))
    b2b = one_way.join(ids.rename({"node_id": "payer"}), on="payer", how="semi").join(
        ids.rename({"node_id": "payee"}), on="payee", how="semi"
    )
    suppliers = (
        b2b.group_by("payer").agg(suppliers=pl.col("payee").sort()).rename({"payer": "node_id"})
    )
    customers = (
        b2b.group_by("payee").agg(customers=pl.col("payer").sort()).rename({"payee": "node_id"})
    )
    paying = (
        regular.group_by("payee")
        .agg(paying_parties=pl.len().cast(pl.Int64))
        .rename({"payee": "node_id"})
    )
    cycles = find_cycles(store, window=window, settings=settings).frame
    member_group = cycles.join(groups, on="node_id", how="left")
    per_cycle = member_group.group_by("cycle_id").agg(
        group=pl.col("company_group").first(),
        whole=pl.col("company_group").is_not_null().all()
        & (pl.col("company_group").n_unique() == 1),
        amount=pl.col("total_amount").first(),
    )
    financed = (
        per_cycle.filter("whole")
        .group_by("group")
        .agg(
            group_cycles=pl.len().cast(pl.Int64), group_cycle_amount=pl.col("amount").sum().round(2)
        )
        .rename({"group": "company_group"})
    )
    in_cycle = cycles.select("node_id").unique().with_columns(in_cycle=pl.lit(True))
    frame = (
        companies.join(groups, on="node_id", how="left")
        .join(suppliers, on="node_id", how="left")
        .join(customers, on="node_id", how="left")
        .join(paying, on="node_id", how="left")
        .join(in_cycle, on="node_id", how="left")
        .join(financed, on="company_group", how="left")
        .with_columns(
            suppliers=pl.col("suppliers").fill_null(pl.lit([], pl.List(pl.String))),
            customers=pl.col("customers").fill_null(pl.lit([], pl.List(pl.String))),
            paying_parties=pl.col("paying_parties").fill_null(0),
            in_cycle=pl.col("in_cycle").fill_null(False),
            group_cycles=pl.col("group_cycles").fill_null(0),
            group_cycle_amount=pl.col("group_cycle_amount").fill_null(0.0),
        )
        .with_columns(group_finances_in_cycles=pl.col("group_cycles") > 0)
    )
    explanation = pl.concat_str(
        [
            pl.format("company ({})", "source"),
            pl.when(pl.col("company_group").is_not_null()).then(
                pl.format("group {} of {}", "company_group", "group_size")
            ),
            pl.when(pl.col("suppliers").list.len() > 0).then(
                pl.format("pays {} companies regularly", pl.col("suppliers").list.len())
            ),
            pl.when(pl.col("paying_parties") > 0).then(
                pl.format("paid regularly by {} parties", "paying_parties")
            ),
            pl.when(pl.col("group_finances_in_cycles")).then(
                pl.format(
                    "its group moved {} round in {} money cycles",
                    _money("group_cycle_amount"),
                    "group_cycles",
                )
            ),
        ],
        separator="; ",
        ignore_nulls=True,
    )
    return frame.select(
        "node_id",
        "source",
        "company_group",
        "group_size",
        "suppliers",
        "customers",
        "paying_parties",
        "in_cycle",
        "group_cycles",
        "group_cycle_amount",
        "group_finances_in_cycles",
        explanation=explanation,
    ).sort("company_group", "node_id", nulls_last=True)


def risk_summary(risk: pl.DataFrame) -> list[tuple[str, object]]:
    """Figures about :func:`network_risk`'s table for the terminal."""
    capacity = risk["network_capacity"]
    return [
        ("customers", risk.height),
        ("defaulted", int(risk["defaulted"].fill_null(False).sum())),
        ("median own capacity", float(risk["own_capacity"].median() or 0.0)),
        ("median network capacity", float(capacity.median() or 0.0)),
        (
            "exposure >= 0.05, not defaulted",
            int(
                risk.filter(
                    (pl.col("exposure") >= 0.05) & ~pl.col("defaulted").fill_null(False)
                ).height
            ),
        ),
        ("pay in a money cycle", int(risk["in_cycle"].sum())),
        ("depend on a single counterparty", int(risk["single_counterparty"].sum())),
    ]


def company_summary(companies: pl.DataFrame) -> list[tuple[str, object]]:
    """Figures about :func:`company_ties`'s table for the terminal."""
    groups = companies.filter(pl.col("company_group").is_not_null()).unique("company_group")
    return [
        ("companies", companies.height),
        ("from the register", int((companies["source"] == "register").sum())),
        ("company groups", groups.height),
        ("groups financing themselves in cycles", int(groups["group_finances_in_cycles"].sum())),
        ("supplier -> customer relations", int(companies["suppliers"].list.len().sum())),
    ]
