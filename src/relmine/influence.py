"""Influencers: the customers on whom other customers' communication depends, and the domino.

An operator rewards the customers whose churn would pull others after them. Five measures are
computed for every party of the tie graph and output as columns, and one documented score
combines them with the sixth, the simulated domino:

* ``pagerank`` -- weighted PageRank on the tie graph (igraph's PRPACK solver; Brin & Page 1998),
  the probability of meeting the party on a random walk that follows strong ties;
* ``strength`` -- the party's total tie weight;
* ``reach`` -- the number of distinct *customers* in contact: parties that could follow (in the
  register when one is ingested, neither a company nor hotline-like);
* ``dependence`` -- for each customer ``u`` in contact with ``v``, the share of ``u``'s total tie
  weight that goes to ``v`` (``w(u, v) / strength(u)``), summed over the ``u``; how much of other
  customers' communication runs through ``v``. ``dependence_mean`` is the mean over them and
  ``dependents`` the number whose share reaches ``domino_threshold``;
* ``bridging`` -- Burt's effective size of the party's ego network, ``degree - (degree - 1) *
  clustering``: the number of its contacts that are not in contact with each other (local
  clustering from igraph's triangle count). A party whose contacts only know one another through
  it bridges separate circles (Burt 1992). It replaces betweenness, which is far too slow on
  millions of parties, and participation across communities, which needs a community detection
  run (30 s or more on a million parties);
* ``domino`` -- the expected number of customers lost when the party churns, from the cascade
  model below; simulated for the candidates only (see *Speed*).

Combined score
--------------
Each measure ``x`` is scaled by its mean over the ranked parties and log-compressed,
``x' = ln(1 + x / mean(x))``, so that measures of different units add up and one extreme value
does not dwarf the rest; then ``score = sum(c_x * x')`` with the coefficients
``influence_pagerank``, ``influence_strength``, ``influence_reach``, ``influence_dependence``,
``influence_bridging`` and ``influence_domino`` of :class:`relmine.config.Settings`
(1, 1, 1, 1, 0.5, 1). A party without a simulated domino gets no domino term.

The domino (churn cascade)
--------------------------
A linear-threshold cascade (Granovetter 1978; Kempe, Kleinberg & Tardos 2003) on the dependence
shares: when ``v`` churns, every customer ``u`` whose share of tie weight going to churned
customers reaches ``domino_threshold`` (0.3) follows -- with probability ``domino_probability``
(0.5), decided once per customer and run; one who does not follow stays for the rest of that run.
Followers can pull their own contacts in turn, until no one else passes the threshold. The domino
of ``v`` is the mean number of followers over ``domino_runs`` (100) Monte Carlo runs. The runs'
coin flips are a hash of ``(seed, run, customer)``, so every candidate sees the same random
customers in run ``r`` (common random numbers: differences between candidates are not noise) and
the result does not depend on the order in which candidates are simulated. Companies,
hotline-like parties and non-customers never follow. :func:`what_if` shows one party's cascade:
who follows, at which step, through whom and with what dependence.

Not influencers
---------------
Parties that are not customers when a register is present (their id is not a ``customer_id``),
companies of the register unless ``include_companies``, and hotline-like parties (many contacts,
almost none called back; :func:`relmine.graph.hotline_parties`) even without a register. They are
still in the graph: their ties count in everyone's strength and PageRank.

Speed
-----
Every measure but the domino is a few vector operations or one igraph call over all parties. The
domino is simulated only for the candidates: the ``max(3 * top, domino_candidates)`` best parties
by the score without the domino term; the others get a null ``domino``, which cannot lift them
above a candidate's pre-score, so a party outside the candidates can only be missed from the top
if its domino term alone would outweigh the gap. With ``top = 0`` (every party) every eligible
party is a candidate.

References
----------
Brin, S., Page, L. (1998). The anatomy of a large-scale hypertextual Web search engine. Computer
Networks and ISDN Systems 30, 107-117.
Burt, R. S. (1992). Structural Holes: The Social Structure of Competition. Harvard University
Press.
Granovetter, M. (1978). Threshold models of collective behavior. American Journal of Sociology
83(6), 1420-1443.
Kempe, D., Kleinberg, J., Tardos, E. (2003). Maximizing the spread of influence through a social
network. Proc. KDD 2003, 137-146.
Dasgupta, K. et al. (2008). Social ties and their relevance to churn in mobile telecom networks.
Proc. EDBT 2008, 668-677.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import polars as pl

from relmine.config import Settings
from relmine.errors import ConfigError, UnknownParty
from relmine.graph import Vertices, hotline_parties, igraph_graph, vertex_numbers
from relmine.register import find_party
from relmine.store import Store

__all__ = [
    "INFLUENCER_COLUMNS",
    "TIE_COLUMNS_READ",
    "WHAT_IF_COLUMNS",
    "DominoResult",
    "InfluenceResult",
    "rank_influencers",
    "what_if",
]

#: The tie columns this module reads (:func:`relmine.graph.load_ties` reads only these).
TIE_COLUMNS_READ = ("a", "b", "weight", "events_ab", "events_ba")

#: Columns of ``relmine influencers``, in order.
INFLUENCER_COLUMNS = (
    "rank",
    "node_id",
    "score",
    "pagerank",
    "strength",
    "reach",
    "dependence",
    "dependence_mean",
    "dependents",
    "bridging",
    "domino",
    "explanation",
)

#: Columns of ``relmine domino ID``, in order.
WHAT_IF_COLUMNS = (
    "step",
    "node_id",
    "via",
    "via_share",
    "dependence",
    "probability",
    "explanation",
)

_MIX = np.uint64(0x9E3779B97F4A7C15)
_RUN_MIX = np.uint64(0xD1B54A32D192ED03)
_NODE_MIX = np.uint64(0x94D049BB133111EB)

#: Columns of the tie table this module reads.
_TIE_INPUT = ("a", "b", "weight", "events_ab", "events_ba")


@dataclass(frozen=True)
class InfluenceResult:
    """Ranked influencers.

    Attributes
    ----------
    frame : DataFrame
        :data:`INFLUENCER_COLUMNS`, sorted by ``rank``.
    ranked : int
        Parties that could be ranked (eligible), of which ``frame`` holds the top.
    excluded : DataFrame
        ``node_id``, ``reason`` of the parties that are not influencers.
    candidates : int
        Parties whose domino was simulated.
    """

    frame: pl.DataFrame
    ranked: int
    excluded: pl.DataFrame
    candidates: int


@dataclass(frozen=True)
class DominoResult:
    """One party's churn cascade.

    Attributes
    ----------
    frame : DataFrame
        :data:`WHAT_IF_COLUMNS`, sorted by ``step``, then ``dependence`` (largest first),
        ``node_id``; the party itself is step 0.
    node_id : str
        The party that churns.
    expected : float
        Expected customers lost (its domino): the sum of the followers' probabilities.
    """

    frame: pl.DataFrame
    node_id: str
    expected: float


@dataclass(frozen=True)
class _Graph:
    """The tie graph as arrays: vertex ``i`` is ``names[i]``; arcs carry dependence shares."""

    names: pl.Series
    a: np.ndarray
    b: np.ndarray
    weight: np.ndarray
    strength: np.ndarray
    follower: np.ndarray  # bool: could follow in a cascade (customer, person, not hotline-like)
    indptr: np.ndarray  # CSR by source of the arcs v -> u carrying share_u(v), u a follower
    target: np.ndarray
    share: np.ndarray

    @property
    def n(self) -> int:
        return self.names.len()


# ---------------------------------------------------------------------------------------------
# ranking
# ---------------------------------------------------------------------------------------------


def rank_influencers(
    ties: pl.DataFrame,
    store: Store,
    *,
    top: int | None = None,
    seed: int = 0,
    include_companies: bool = False,
    settings: Settings | None = None,
) -> InfluenceResult:
    """Rank the customers by the combined influence score (see the module's docstring).

    Parameters
    ----------
    ties : DataFrame
        Tie table (:func:`relmine.graph.tie_features`).
    store : Store
        Where the register is read from (customers and companies).
    top : int, optional
        How many to return; 0 for every eligible party. Default ``influence_top`` (100).
    seed : int
        Seed of the domino simulation.
    include_companies : bool
        Rank the register's companies too (hotline-like parties never are).
    settings : Settings, optional
        Coefficients and domino model; the store's by default.

    Returns
    -------
    InfluenceResult

    Raises
    ------
    ConfigError
        If ``top`` is negative.

    Examples
    --------
    >>> result = rank_influencers(tie_features(store), store, top=10)  # doctest: +SKIP
    >>> result.frame["node_id"].to_list()  # doctest: +SKIP
    """
    settings = settings or store.settings
    top = settings.influence_top if top is None else top
    if top < 0:
        raise ConfigError("--top must be 0 (every party) or a positive number")
    graph, excluded, rankable = _build(ties, store, settings, include_companies=include_companies)
    measures = _measures(graph, settings)
    eligible = np.flatnonzero(rankable)
    pre = _pre_score(measures, eligible, settings)
    order = _order(pre[eligible])
    wanted = eligible.size if top == 0 else min(top, eligible.size)
    least = int(settings.domino_candidates)
    n_cand = eligible.size if top == 0 else min(eligible.size, max(3 * top, least))
    candidates = np.sort(eligible[order[:n_cand]])
    domino = np.full(graph.n, np.nan)
    domino[candidates] = _domino(graph, candidates, seed=seed, settings=settings)
    score = pre.copy()
    if candidates.size:
        mean = float(domino[candidates].mean())
        if mean > 0:
            score[candidates] += settings.influence_domino * np.log1p(domino[candidates] / mean)
    order = _order(score[eligible])[:wanted]
    chosen = eligible[order]
    frame = _frame(graph, measures, score, domino, chosen, eligible, settings)
    return InfluenceResult(frame, int(eligible.size), excluded, int(candidates.size))


def _order(score: np.ndarray) -> np.ndarray:
    """Positions by score, largest first, ties broken by the smallest node id.

    ``score`` is given for vertices in increasing order, and vertices are numbered in the order
    of their node ids, so the position is the node id's order.
    """
    return np.lexsort((np.arange(score.size), -np.round(score, 12)))


def _build(
    ties: pl.DataFrame, store: Store, settings: Settings, *, include_companies: bool
) -> tuple[_Graph, pl.DataFrame, np.ndarray]:
    """Number the parties, weigh them, and say who can be ranked and who can follow."""
    missing = [c for c in _TIE_INPUT if c not in ties.columns]
    if missing:
        raise ConfigError(
            f"the tie table has no {', '.join(missing)}; write it with `relmine graph -o FILE`"
        )
    if ties.height == 0:
        raise ConfigError("the tie table is empty; ingest call records or bank statements first")
    ties = ties.select(_TIE_INPUT)
    names, a, b = vertex_numbers(ties["a"], ties["b"])
    n = names.len()
    weight = ties["weight"].to_numpy().astype(np.float64)
    strength = np.bincount(a, weight, n) + np.bincount(b, weight, n)

    register = store.scan("customers").select("customer_id", "kind").collect()
    companies = register.filter(pl.col("kind").str.to_lowercase() == "company")["customer_id"]
    hotlines = hotline_parties(ties, settings, vertices=Vertices(names, a, b))
    frame = pl.DataFrame({"node_id": names})
    company = frame["node_id"].is_in(companies.implode()).to_numpy()
    hotline = frame["node_id"].is_in(hotlines["node_id"].implode()).to_numpy()
    if register.height:
        customer = frame["node_id"].is_in(register["customer_id"].implode()).to_numpy()
    else:
        customer = np.ones(n, dtype=bool)
    follower = customer & ~company & ~hotline
    rankable = customer & ~hotline & (include_companies | ~company)
    reason = (
        frame.with_columns(
            reason=pl.when(pl.Series(hotline))
            .then(pl.lit("hotline-like"))
            .when(pl.Series(company & (not include_companies)))
            .then(pl.lit("company in the register"))
            .when(~pl.Series(customer))
            .then(pl.lit("not a customer"))
        )
        .join(hotlines.rename({"reason": "why"}), on="node_id", how="left")
        .select("node_id", reason=pl.coalesce("why", "reason"))
        .filter(pl.col("reason").is_not_null())
    )
    # arcs v -> u carrying u's share of weight on v, only towards parties that could follow
    src = np.concatenate([a, b])
    dst = np.concatenate([b, a])
    share = np.concatenate([weight / strength[b], weight / strength[a]])
    keep = follower[dst]
    src, dst, share = src[keep], dst[keep], share[keep]
    order = np.argsort(src, kind="stable")
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(src, minlength=n), out=indptr[1:])
    graph = _Graph(
        names, a, b, weight, strength, follower, indptr, dst[order], share[order].astype(np.float64)
    )
    return graph, reason, rankable


def _measures(graph: _Graph, settings: Settings) -> dict[str, np.ndarray]:
    """Every measure but the domino, for every party."""
    n = graph.n
    g = igraph_graph(n, graph.a, graph.b, directed=False)
    g.es["weight"] = graph.weight
    pagerank = np.asarray(
        g.personalized_pagerank(
            weights="weight", damping=settings.influence_damping, implementation="prpack"
        )
    )
    clustering = np.asarray(g.transitivity_local_undirected(mode="zero"))
    degree = np.bincount(graph.a, minlength=n) + np.bincount(graph.b, minlength=n)
    bridging = degree - np.maximum(degree - 1, 0) * clustering
    # the dependence arcs are v -> u with u a follower: sums per source v
    source = np.repeat(np.arange(n), np.diff(graph.indptr))
    reach = np.bincount(source, minlength=n)
    dependence = np.bincount(source, graph.share, n)
    dependents = np.bincount(source, graph.share >= settings.domino_threshold, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(reach > 0, dependence / np.maximum(reach, 1), 0.0)
    return {
        "pagerank": pagerank,
        "strength": graph.strength,
        "reach": reach.astype(np.int64),
        "dependence": dependence,
        "dependence_mean": mean,
        "dependents": dependents.astype(np.int64),
        "bridging": bridging,
    }


def _pre_score(
    measures: dict[str, np.ndarray], eligible: np.ndarray, settings: Settings
) -> np.ndarray:
    """The combined score without the domino term: ``sum(c * ln(1 + x / mean(x)))``."""
    coefficients = {
        "pagerank": settings.influence_pagerank,
        "strength": settings.influence_strength,
        "reach": settings.influence_reach,
        "dependence": settings.influence_dependence,
        "bridging": settings.influence_bridging,
    }
    score = np.zeros(next(iter(measures.values())).size)
    for name, c in coefficients.items():
        x = measures[name].astype(np.float64)
        mean = float(x[eligible].mean()) if eligible.size else 0.0
        if mean > 0 and c:
            score += c * np.log1p(np.maximum(x, 0.0) / mean)
    return score


def _frame(
    graph: _Graph,
    measures: dict[str, np.ndarray],
    score: np.ndarray,
    domino: np.ndarray,
    chosen: np.ndarray,
    eligible: np.ndarray,
    settings: Settings,
) -> pl.DataFrame:
    # PageRank's standing among the ranked parties, for the explanation
    pr = measures["pagerank"]
    sorted_pr = np.sort(pr[eligible])
    above = eligible.size - np.searchsorted(sorted_pr, pr[chosen], side="right")
    top_share = (above + 1) / max(eligible.size, 1) * 100
    frame = pl.DataFrame(
        {
            "rank": np.arange(1, chosen.size + 1, dtype=np.int64),
            "node_id": graph.names.gather(chosen),
            "score": np.round(score[chosen], 6),
            **{k: v[chosen] for k, v in measures.items()},
            "domino": pl.Series(domino[chosen], nan_to_null=True),
            "_top": top_share,
        }
    )
    threshold = round(settings.domino_threshold * 100)
    parts = [
        pl.format("in contact with {} customers", pl.col("reach")),
        pl.when(pl.col("dependents") > 0).then(
            pl.format(
                "{} of them rely on them for at least {}% of their contact",
                pl.col("dependents"),
                pl.lit(threshold),
            )
        ),
        pl.when(pl.col("reach") > 0).then(
            pl.format(
                "gets {}% of their contacts' communication on average",
                (pl.col("dependence_mean") * 100).round(0).cast(pl.Int64),
            )
        ),
        pl.when(pl.col("bridging") >= 2).then(
            pl.format(
                "{} non-redundant contacts (circles linked through them)",
                pl.col("bridging").round(0).cast(pl.Int64),
            )
        ),
        pl.when(pl.col("_top") <= 1)
        .then(pl.lit("PageRank in the top 1%"))
        .when(pl.col("_top") <= 10)
        .then(pl.lit("PageRank in the top 10%")),
        pl.when(pl.col("domino").is_not_null()).then(
            pl.format("their churn would take about {} customers", pl.col("domino").round(1))
        ),
    ]
    frame = frame.with_columns(
        pl.concat_str(parts, separator="; ", ignore_nulls=True).alias("explanation"),
        pl.col("bridging").round(3),
        pl.col("dependence").round(6),
        pl.col("dependence_mean").round(6),
        pl.col("strength").round(6),
        pl.col("domino").round(4),
    )
    return frame.select(INFLUENCER_COLUMNS)


# ---------------------------------------------------------------------------------------------
# the domino
# ---------------------------------------------------------------------------------------------


def _uniform(seed: int, run: np.ndarray, node: np.ndarray) -> np.ndarray:
    """A uniform number in [0, 1) for each ``(run, node)``: splitmix64 of a mixed key.

    A counter-based generator: the number of ``(run, node)`` is the same whatever else is drawn,
    so a candidate's result does not depend on which other candidates are simulated with it.
    """
    base = np.uint64((seed * int(_MIX) + int(_MIX)) % (1 << 64))
    x = base + run.astype(np.uint64) * _RUN_MIX + node.astype(np.uint64) * _NODE_MIX
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    x = x ^ (x >> np.uint64(31))
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))


def _expand(graph: _Graph, nodes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The arcs out of ``nodes``: (index into ``nodes`` of each arc's source, arc position)."""
    start = graph.indptr[nodes]
    count = graph.indptr[nodes + 1] - start
    owner = np.repeat(np.arange(nodes.size), count)
    offset = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count)
    return owner, np.repeat(start, count) + offset


def _cascades(
    graph: _Graph, seeds: np.ndarray, *, runs: int, probability: float, seed: int, threshold: float
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Run the threshold cascade of every ``(seed party, run)``; yield each step's followers.

    Yields ``(column, node, dependence)`` per step: column ``c`` is seed party ``c // runs`` in
    run ``c % runs``; ``dependence`` is the follower's share of weight on the churned parties
    when it crossed the threshold. The churned parties and the dependence gathered so far by
    those below the threshold are kept as sorted keys ``column * n + node``; a step sorts only
    the arcs leaving the last followers and merges them in, so the long tail of a few cascades
    that run for many steps does not re-sort everything at every step.
    """
    n = graph.n
    columns = np.arange(seeds.size * runs, dtype=np.int64)
    churned = columns * n + np.repeat(seeds, runs)  # sorted: columns ascend
    frontier = churned
    pending_keys = np.empty(0, dtype=np.int64)
    pending = np.empty(0, dtype=np.float64)
    eps = 1e-12
    while frontier.size:
        col, node = np.divmod(frontier, n)
        owner, arc = _expand(graph, node)
        col = col[owner]
        follower = graph.target[arc]
        keys = col * n + follower
        willing = _uniform(seed, col % runs, follower) < probability
        keep = willing & ~_member(keys, churned)
        if not keep.any():
            return
        keys, inverse = np.unique(keys[keep], return_inverse=True)
        gained = np.bincount(inverse, graph.share[arc][keep])
        at = np.searchsorted(pending_keys, keys)
        known = _member(keys, pending_keys)
        total = gained.copy()
        total[known] += pending[at[known]]
        crossed = total >= threshold - eps
        # pending: drop those that crossed, update the others, add the new ones below it
        pending[at[known & ~crossed]] = total[known & ~crossed]
        fresh = ~known & ~crossed
        gone = at[known & crossed]
        pending_keys = np.delete(pending_keys, gone)
        pending = np.delete(pending, gone)
        where = np.searchsorted(pending_keys, keys[fresh])
        pending_keys = np.insert(pending_keys, where, keys[fresh])
        pending = np.insert(pending, where, total[fresh])
        frontier = keys[crossed]
        churned = np.insert(churned, np.searchsorted(churned, frontier), frontier)
        if frontier.size:
            col, node = np.divmod(frontier, n)
            yield col, node, total[crossed]


def _member(keys: np.ndarray, sorted_keys: np.ndarray) -> np.ndarray:
    """``keys`` found in the sorted array ``sorted_keys``."""
    if not sorted_keys.size:
        return np.zeros(keys.size, dtype=bool)
    at = np.minimum(np.searchsorted(sorted_keys, keys), sorted_keys.size - 1)
    return sorted_keys[at] == keys


def _model_cascades(
    graph: _Graph, seeds: np.ndarray, settings: Settings, *, seed: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """:func:`_cascades` with the model of the settings (runs, probability, threshold)."""
    return _cascades(
        graph,
        seeds,
        runs=int(settings.domino_runs),
        probability=settings.domino_probability,
        seed=seed,
        threshold=settings.domino_threshold,
    )


def _domino(graph: _Graph, seeds: np.ndarray, *, seed: int, settings: Settings) -> np.ndarray:
    """Expected followers of each seed party, in batches that bound the memory used."""
    runs = int(settings.domino_runs)
    out = np.zeros(seeds.size)
    batch = max(1, int(settings.domino_batch) // runs)
    for start in range(0, seeds.size, batch):
        part = seeds[start : start + batch]
        lost = np.zeros(part.size * runs)
        for col, _, _ in _model_cascades(graph, part, settings, seed=seed):
            lost += np.bincount(col, minlength=lost.size)
        out[start : start + part.size] = lost.reshape(part.size, runs).mean(axis=1)
    return out


def what_if(
    ties: pl.DataFrame,
    store: Store,
    party: str,
    *,
    seed: int = 0,
    settings: Settings | None = None,
) -> DominoResult:
    """Who would follow ``party`` out, in order, and the dependence that carries each step.

    The order is the cascade in which every customer is willing (each step's followers are
    those whose share of weight on the churned parties reaches ``domino_threshold``); it holds
    every follower of every Monte Carlo run. ``probability`` is the share of the
    ``domino_runs`` runs of the model (each customer follows with ``domino_probability`` once
    the threshold is passed) in which the customer follows; their sum is the party's domino.

    Parameters
    ----------
    ties : DataFrame
        Tie table.
    store : Store
        For the register and to resolve ``party``.
    party : str
        A customer id, a phone number in any writing, or an account number.
    seed : int
        Seed of the simulation (the same as ``rank_influencers``' gives the same domino).
    settings : Settings, optional
        The domino model; the store's by default.

    Returns
    -------
    DominoResult

    Raises
    ------
    UnknownParty
        If ``party`` is in no tie of the graph.
    """
    settings = settings or store.settings
    graph, _, _ = _build(ties, store, settings, include_companies=True)
    # a node id of the graph as it is, else what the user typed resolved as ingest would
    node_id = party if graph.names.is_in([party]).any() else find_party(store, party).node_id
    if not graph.names.is_in([node_id]).any():
        raise UnknownParty(
            f"{party!r} is in no relationship of the graph; check --since, --until and "
            "--channels, or give another customer id, phone number or account"
        )
    v = int(graph.names.search_sorted(node_id))
    seeds = np.array([v], dtype=np.int64)
    threshold = settings.domino_threshold
    steps = [(np.array([v]), np.array([0]), np.array([np.nan]))]
    for step, (_, node, dependence) in enumerate(
        _cascades(graph, seeds, runs=1, probability=1.0, seed=seed, threshold=threshold), start=1
    ):
        steps.append((node, np.full(node.size, step), dependence))
    runs = int(settings.domino_runs)
    followed = np.zeros(graph.n)
    for _, node, _ in _model_cascades(graph, seeds, settings, seed=seed):
        followed += np.bincount(node, minlength=graph.n)
    nodes = np.concatenate([s[0] for s in steps])
    step = np.concatenate([s[1] for s in steps])
    probability = followed[nodes] / runs
    probability[0] = 1.0
    via, via_share = _carriers(graph, nodes, step)
    frame = pl.DataFrame(
        {
            "step": step.astype(np.int64),
            "node_id": graph.names.gather(nodes),
            "via": pl.Series(via, dtype=pl.String),
            "via_share": pl.Series(via_share, nan_to_null=True).round(6),
            "dependence": pl.Series(np.concatenate([s[2] for s in steps]), nan_to_null=True).round(
                6
            ),
            "probability": np.round(probability, 6),
        }
    )
    frame = frame.with_columns(
        explanation=pl.when(pl.col("step") == 0)
        .then(pl.lit("churns"))
        .otherwise(
            pl.format(
                "step {}: {}% of their contact went to churned customers, {}% to {}; "
                "follows in {}% of runs",
                "step",
                (pl.col("dependence") * 100).round(0).cast(pl.Int64),
                (pl.col("via_share") * 100).round(0).cast(pl.Int64),
                "via",
                (pl.col("probability") * 100).round(0).cast(pl.Int64),
            )
        )
    ).sort(["step", "dependence", "node_id"], descending=[False, True, False], nulls_last=True)
    expected = float(probability[1:].sum())
    return DominoResult(frame.select(WHAT_IF_COLUMNS), node_id, round(expected, 6))


def _carriers(
    graph: _Graph, nodes: np.ndarray, step: np.ndarray
) -> tuple[list[str | None], np.ndarray]:
    """For each follower, the earlier-churned contact it depends on most, and that share."""
    at_step = np.full(graph.n, -1)
    at_step[nodes] = step
    owner, arc = _expand(graph, nodes)  # arcs out of churned parties
    source = nodes[owner]
    follower = graph.target[arc]
    ok = (at_step[follower] > at_step[source]) & (at_step[source] >= 0)
    source, follower, share = source[ok], follower[ok], graph.share[arc][ok]
    # the largest share per follower, ties to the smallest vertex (= smallest node id)
    order = np.lexsort((source, -share, follower))
    first = np.ones(order.size, dtype=bool)
    first[1:] = follower[order][1:] != follower[order][:-1]
    best = order[first]
    via_vertex = np.full(graph.n, -1)
    via_share = np.full(graph.n, np.nan)
    via_vertex[follower[best]] = source[best]
    via_share[follower[best]] = share[best]
    names = graph.names
    via = [None if via_vertex[x] < 0 else names[int(via_vertex[x])] for x in nodes]
    return via, via_share[nodes]
