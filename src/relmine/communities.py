"""Communities: groups of parties more tied to each other than to the rest.

Louvain (Blondel et al. 2008) by default, Leiden (Traag et al. 2019) with ``method="leiden"``,
both maximising weighted modularity with a resolution parameter (Reichardt & Bornholdt 2006).
Modularity has a resolution limit (Fortunato & Barthelemy 2007): on a large graph it merges
groups smaller than about the square root of the total weight, so on a million subscribers
circles of thirty friends come out glued together in communities of thousands.
``method="cpm"`` runs Leiden on the constant Potts model (Traag, Van Dooren & Nesterov 2011),
which has no such limit: ``resolution`` is then the least internal tie weight per pair of
members a community must have (default ``community_cpm_resolution``, 0.02), the same at every
graph size.
The compute graph is built in igraph straight from the tie table's arrays; the ``networkx``
engine (python-louvain on a ``networkx.Graph``) is the reference path for small graphs, about
25 times slower.

Companies of the register and hotline-like parties (:func:`relmine.graph.excluded_parties`)
are left out of the graph the algorithm sees and each forms a community of its own: an employer
paying hundreds of salaries or a call centre called by thousands is not a member of anyone's
social circle, and with them in, modularity happily glues unrelated circles together through
them.

Determinism: vertices are the sorted node ids (so the input order of ties does not matter) and
the algorithms draw from a random generator seeded with ``seed`` -- igraph's is set to a private
``random.Random(seed)`` for the call, python-louvain gets ``random_state=seed``. Communities are
numbered by size, largest first, ties broken by the smallest node id (SPEC §4).

References
----------
Blondel, V. D., Guillaume, J.-L., Lambiotte, R., Lefebvre, E. (2008). Fast unfolding of
communities in large networks. J. Stat. Mech. P10008.
Traag, V. A., Waltman, L., van Eck, N. J. (2019). From Louvain to Leiden: guaranteeing
well-connected communities. Scientific Reports 9, 5233.
Reichardt, J., Bornholdt, S. (2006). Statistical mechanics of community detection. Phys. Rev. E
74, 016110.
Fortunato, S., Barthelemy, M. (2007). Resolution limit in community detection. PNAS 104(1), 36-41.
Traag, V. A., Van Dooren, P., Nesterov, Y. (2011). Narrow scope for resolution-limit-free
community detection. Phys. Rev. E 84, 016114.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

import numpy as np
import polars as pl

from relmine.errors import ConfigError
from relmine.graph import Vertices, load_igraph, to_igraph, to_networkx

__all__ = [
    "METHODS",
    "TIE_COLUMNS_READ",
    "CommunityResult",
    "community_stats",
    "detect_communities",
    "nmi",
]

#: The tie columns this module reads (:func:`relmine.graph.load_ties` reads only these).
TIE_COLUMNS_READ = ("a", "b", "weight")

METHODS = ("louvain", "leiden", "cpm")

#: Default resolution of the constant Potts model: least internal weight per pair of members.
CPM_RESOLUTION = 0.02
ENGINES = ("igraph", "networkx")


@dataclass(frozen=True)
class CommunityResult:
    """Communities of a graph.

    Attributes
    ----------
    frame : DataFrame
        ``node_id``, ``community_id``, ``community_size``, sorted by community then node.
    modularity : float
        Weighted modularity of the partition of the social graph (without the parties kept
        apart) at the resolution used (at 1 for ``cpm``).
    method, engine : str
        What found it.
    resolution : float
        The resolution used.
    """

    frame: pl.DataFrame
    modularity: float
    method: str
    engine: str
    resolution: float = 1.0

    @property
    def sizes(self) -> pl.DataFrame:
        """``community_size`` -> number of communities of that size."""
        return (
            self.frame.unique("community_id")
            .group_by("community_size")
            .agg(communities=pl.len())
            .sort("community_size", descending=True)
        )


def detect_communities(
    ties: pl.DataFrame,
    *,
    method: str = "louvain",
    resolution: float | None = None,
    seed: int = 0,
    engine: str = "igraph",
    apart: pl.DataFrame | None = None,
    vertices: Vertices | None = None,
    leiden_iterations: int = 2,
) -> CommunityResult:
    """Partition the tie graph into communities.

    Parameters
    ----------
    ties : DataFrame
        Tie table with ``a``, ``b``, ``weight`` (:func:`relmine.graph.tie_features`).
    method : {"louvain", "leiden", "cpm"}
        Louvain (multilevel) or Leiden, both on weighted modularity, or Leiden on the constant
        Potts model (no resolution limit; for large graphs).
    resolution : float, optional
        Larger gives more, smaller communities. Modularity: 1 (classic) by default; CPM: the
        least internal weight per pair of members, :data:`CPM_RESOLUTION` by default.
    seed : int
        Seed of the algorithm's random choices.
    engine : {"igraph", "networkx"}
        igraph (fast, default) or networkx + python-louvain (reference; Louvain only).
    apart : DataFrame, optional
        Parties (``node_id``) kept out of the algorithm, each its own community; usually
        :func:`relmine.graph.excluded_parties`.
    vertices : Vertices, optional
        ``Vertices.of(ties)``, when the caller has it already (for ``apart``, say): the ties
        are numbered once, and the graph of the ties kept is numbered from it.
    leiden_iterations : int
        Passes of Leiden over the partition (``leiden_iterations`` of the settings); -1 for as
        many as improve it, which on millions of ties can take many minutes for little gain.

    Returns
    -------
    CommunityResult

    Raises
    ------
    ConfigError
        For an unknown method or engine, Leiden on networkx, or a resolution that is not
        positive.

    Examples
    --------
    >>> result = detect_communities(tie_features(store), seed=0)  # doctest: +SKIP
    >>> result.modularity  # doctest: +SKIP
    """
    if method not in METHODS:
        raise ConfigError(f"unknown method {method!r}; use louvain, leiden or cpm")
    if resolution is None:
        resolution = CPM_RESOLUTION if method == "cpm" else 1.0
    if engine not in ENGINES:
        raise ConfigError(f"unknown engine {engine!r}; use igraph or networkx")
    if not math.isfinite(resolution) or resolution <= 0:
        raise ConfigError("--resolution must be a positive number")
    if leiden_iterations == 0 or leiden_iterations < -1:
        raise ConfigError("leiden_iterations must be at least 1, or -1 (as many as improve)")
    if engine == "networkx" and method != "louvain":
        raise ConfigError(f"--method {method} needs --engine igraph")
    social = ties.select("a", "b", "weight")  # not a copy of the wide tie table
    set_apart = social.clear()
    vertices = vertices if vertices is not None else Vertices.of(social)
    if apart is not None and apart.height:
        gone = vertices.names.is_in(apart["node_id"].implode()).to_numpy()
        kept = ~(gone[vertices.a] | gone[vertices.b])
        if not kept.all():
            social, set_apart = social.filter(kept), social.filter(~kept)
            vertices = vertices.subset(kept)
    names: list[str] = []
    membership: list[int] = []
    modularity = 0.0
    if social.height:
        if engine == "networkx":
            names, membership, modularity = _networkx_louvain(social, resolution, seed)
        else:
            names, membership, modularity = _igraph(
                social, vertices, method, resolution, seed, leiden_iterations
            )
    found = pl.DataFrame(
        {"node_id": names, "label": membership}, schema={"node_id": pl.String, "label": pl.Int64}
    )
    # A node whose every tie was set apart is a community of its own. Only the ends of those
    # ties can be such a node: listing every node of the table instead took 1.7 s (5.4 M ties).
    ends = pl.concat([set_apart["a"], set_apart["b"]]).unique().sort()
    alone = ends.to_frame("node_id").join(found, on="node_id", how="anti", maintain_order="left")
    offset = (max(membership) + 1) if membership else 0
    alone = alone.with_columns(label=pl.int_range(offset, offset + pl.len(), dtype=pl.Int64))
    frame = _number(pl.concat([found, alone]))
    return CommunityResult(frame, modularity, method, engine, resolution)


def _igraph(
    ties: pl.DataFrame,
    vertices: Vertices,
    method: str,
    resolution: float,
    seed: int,
    leiden_iterations: int,
) -> tuple[list[str], list[int], float]:
    igraph = load_igraph()

    graph, names = to_igraph(ties, vertices=vertices)
    igraph.set_random_number_generator(random.Random(seed))
    try:
        if method == "louvain":
            clustering = graph.community_multilevel(weights="weight", resolution=resolution)
        else:
            # igraph's own Leiden: the same partitions as leidenalg here, 5-20x faster
            clustering = graph.community_leiden(
                objective_function="CPM" if method == "cpm" else "modularity",
                weights="weight",
                resolution=resolution,
                n_iterations=leiden_iterations,
            )
    finally:
        igraph.set_random_number_generator(random)
    membership = list(clustering.membership)
    gamma = 1.0 if method == "cpm" else resolution  # CPM's partition is reported by modularity
    modularity = graph.modularity(membership, weights="weight", resolution=gamma)
    return names.to_list(), membership, float(modularity)


def _networkx_louvain(
    ties: pl.DataFrame, resolution: float, seed: int
) -> tuple[list[str], list[int], float]:
    import community as community_louvain  # python-louvain

    graph = to_networkx(ties, attributes=False)
    import networkx as nx

    part = community_louvain.best_partition(
        graph, weight="weight", resolution=resolution, random_state=seed
    )
    names = list(graph.nodes)
    groups: dict[int, set[str]] = {}
    for node, label in part.items():
        groups.setdefault(label, set()).add(node)
    # at the resolution used, as the igraph engine reports it (python-louvain's ignores it)
    modularity = nx.community.modularity(
        graph, groups.values(), weight="weight", resolution=resolution
    )
    return names, [part[n] for n in names], float(modularity)


def _number(frame: pl.DataFrame) -> pl.DataFrame:
    """Replace raw labels by ids numbered by size, largest first, ties by smallest node id."""
    order = (
        frame.group_by("label")
        .agg(community_size=pl.len().cast(pl.Int64), first=pl.col("node_id").min())
        .sort(["community_size", "first"], descending=[True, False])
        .with_columns(community_id=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    )
    return (
        frame.join(order, on="label", how="left")
        .select("node_id", "community_id", "community_size")
        .sort("community_id", "node_id")
    )


def community_stats(ties: pl.DataFrame, communities: pl.DataFrame) -> pl.DataFrame:
    """Per community: size, internal weight, cut weight, volume and conductance.

    Conductance is ``cut / min(volume, total volume - volume)`` (Kannan, Vempala & Vetta 2004):
    0 for a community with no tie outside, towards 1 for one that is no community at all.
    """
    label = communities.select("node_id", "community_id")
    edges = (
        ties.select("a", "b", "weight")
        .join(
            label.rename({"node_id": "a", "community_id": "ca"}),
            on="a",
            how="left",
            maintain_order="left",
        )
        .join(
            label.rename({"node_id": "b", "community_id": "cb"}),
            on="b",
            how="left",
            maintain_order="left",
        )
        .drop_nulls(["ca", "cb"])
    )
    # Sums by bincount, in the ties' order: a parallel group-by adds each community's weights
    # in an order that changes from run to run, and so do the figures' last digits.
    ca, cb = edges["ca"].to_numpy(), edges["cb"].to_numpy()
    weight = edges["weight"].to_numpy()
    ids = communities["community_id"]
    k = int(ids.max()) + 1 if ids.len() else 1
    inside = ca == cb
    cut = np.bincount(ca[~inside], weight[~inside], minlength=k) + np.bincount(
        cb[~inside], weight[~inside], minlength=k
    )
    sums = pl.DataFrame(
        {
            "community_id": np.arange(k, dtype=np.int64),
            "internal_weight": np.bincount(ca[inside], weight[inside], minlength=k),
            "internal_ties": np.bincount(ca[inside], minlength=k).astype(np.int64),
            "cut_weight": cut,
        }
    )
    sizes = communities.unique("community_id").select("community_id", "community_size")
    stats = sizes.join(sums, on="community_id", how="left").with_columns(
        volume=2 * pl.col("internal_weight") + pl.col("cut_weight")
    )
    total = stats["volume"].sum()
    denominator = pl.min_horizontal(pl.col("volume"), total - pl.col("volume"))
    return stats.with_columns(
        conductance=pl.when(denominator > 0).then(pl.col("cut_weight") / denominator).otherwise(0.0)
    ).sort("community_id")


def nmi(first: pl.DataFrame, second: pl.DataFrame, *, on: str = "node_id") -> float:
    """Normalised mutual information of two partitions over the nodes they share.

    Each frame has ``on`` and one label column (its second column). Uses igraph's
    ``compare_communities(method="nmi")`` (Danon et al. 2005).
    """
    igraph = load_igraph()

    left = first.select(on, pl.nth(1).alias("x"))
    right = second.select(on, pl.nth(1).alias("y"))
    both = left.join(right, on=on, how="inner").sort(on)
    if both.height == 0:
        raise ConfigError("the two partitions share no node")
    x = both["x"].rank("dense").cast(pl.Int64).to_list()
    y = both["y"].rank("dense").cast(pl.Int64).to_list()
    return float(igraph.compare_communities(x, y, method="nmi"))
