"""Benchmark of ``detect_communities`` on LFR graphs with a planted partition.

    python benchmarks/lfr.py                            # n = 10,000, mu = 0.3 and 0.5
    python benchmarks/lfr.py --resolution 1 1.5 2 3 4   # the same graphs at several resolutions
    python benchmarks/lfr.py --n 1000 --mu 0.1          # quicker

Each graph is drawn by NetworkX's ``LFR_benchmark_graph`` (Lancichinetti, Fortunato & Radicchi
2008) with the parameters of :data:`LFR` and a seed; when the generator gives up (it cannot
always find a degree sequence, community sizes or an assignment within its iteration budget),
the next seed is tried, up to ``--tries`` seeds, and the seed used is printed. The graph becomes
a tie table (node ids ``n00042`` zero-padded so that ``a < b`` as strings, weight 1, self-loops
dropped) and goes through :func:`relmine.communities.detect_communities` with Louvain and Leiden
on the igraph engine. Reported per run: normalised mutual information (NMI) against the planted
partition (node attribute ``community``), modularity, number of communities and the median wall
time of ``--repeat`` in-process calls (the tie table to communities, graph building included).

NetworkX's generator overshoots the degrees and the mixing it is asked for (networkx issues
#6762 and #6809: a node's intra-community quota counts the edges other communities already gave
it), so the realised average degree and the realised mixing -- the share of edges between
planted communities -- are printed beside the nominal ``mu``.

References
----------
Lancichinetti, A., Fortunato, S., Radicchi, F. (2008). Benchmark graphs for testing community
detection algorithms. Phys. Rev. E 78, 046110.
Danon, L., Diaz-Guilera, A., Duch, J., Arenas, A. (2005). Comparing community structure
identification. J. Stat. Mech. P09008.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import igraph
import networkx as nx
import numpy as np
import polars as pl
from networkx.generators.community import LFR_benchmark_graph

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))
from _measure import machine

from relmine.communities import CPM_RESOLUTION, detect_communities, nmi
from relmine.graph import to_igraph

#: LFR parameters besides ``n`` and ``mu``: degree exponent 3 and community-size exponent 1.5
#: (NetworkX's documented example), average degree 20, maximum degree 50, communities of 20 to
#: 100 nodes (the "big communities" set of Lancichinetti & Fortunato 2009).
LFR = {
    "tau1": 3.0,
    "tau2": 1.5,
    "average_degree": 20,
    "max_degree": 50,
    "min_community": 20,
    "max_community": 100,
}

METHODS = ("louvain", "leiden")  # modularity, at each --resolution; cpm runs at its default


@dataclass
class Planted:
    """An LFR graph as relmine sees it, with its planted partition."""

    ties: pl.DataFrame
    planted: pl.DataFrame
    seed: int
    mixing: float
    average_degree: float
    graph: igraph.Graph
    membership: list[int]

    def modularity(self, resolution: float) -> float:
        """Modularity of the planted partition at ``resolution``, as relmine computes it."""
        return float(
            self.graph.modularity(self.membership, weights="weight", resolution=resolution)
        )


@dataclass
class Found:
    mu: float
    method: str
    resolution: float
    communities: int
    nmi: float
    modularity: float
    planted_modularity: float
    seconds: float


def lfr_graph(n: int, mu: float, *, seed: int = 0, tries: int = 10) -> tuple[nx.Graph, int]:
    """An LFR graph with :data:`LFR`'s parameters, and the seed that produced it.

    Raises
    ------
    SystemExit
        If ``tries`` consecutive seeds from ``seed`` all fail, or the parameters are invalid.
    """
    for attempt in range(seed, seed + tries):
        try:
            return LFR_benchmark_graph(n, mu=mu, seed=attempt, **LFR), attempt
        except nx.ExceededMaxIterations as exc:
            print(f"LFR n={n} mu={mu} seed={attempt}: {exc}; trying the next seed", file=sys.stderr)
        except nx.NetworkXError as exc:  # parameters no seed can satisfy
            raise SystemExit(f"LFR n={n} mu={mu}: {exc}") from None
    raise SystemExit(f"LFR n={n} mu={mu}: no graph with seeds {seed}..{seed + tries - 1}")


def planted_graph(n: int, mu: float, *, seed: int = 0, tries: int = 10) -> Planted:
    """The LFR graph as a tie table plus its planted partition (``node_id``, ``planted``)."""
    graph, used = lfr_graph(n, mu, seed=seed, tries=tries)
    width = len(str(n - 1))

    def name(col: str) -> pl.Expr:
        return pl.format("n{}", pl.col(col).cast(pl.String).str.zfill(width))

    ends = np.array(graph.edges(), dtype=np.int64).reshape(-1, 2)
    ties = (
        pl.DataFrame({"u": ends.min(axis=1), "v": ends.max(axis=1)})
        .filter(pl.col("u") != pl.col("v"))
        .select(a=name("u"), b=name("v"), weight=pl.lit(1.0))
        .sort("a", "b")
    )
    # the attribute is the set of nodes of the community: its smallest node names it
    nodes = np.array(graph.nodes(), dtype=np.int64)
    label = np.array([min(graph.nodes[v]["community"]) for v in nodes], dtype=np.int64)
    planted = pl.DataFrame({"node": nodes, "planted": label}).select(
        node_id=name("node"), planted="planted"
    )
    crossing = (
        ties.join(planted.rename({"node_id": "a", "planted": "pa"}), on="a")
        .join(planted.rename({"node_id": "b", "planted": "pb"}), on="b")
        .select((pl.col("pa") != pl.col("pb")).mean())
        .item()
    )
    igraph_graph, names = to_igraph(ties)
    membership = (
        pl.DataFrame({"node_id": names})
        .join(planted, on="node_id", how="left", maintain_order="left")["planted"]
        .rank("dense")
        .cast(pl.Int64)
        - 1
    )
    return Planted(
        ties=ties,
        planted=planted,
        seed=used,
        mixing=float(crossing),
        average_degree=2 * ties.height / n,
        graph=igraph_graph,
        membership=membership.to_list(),
    )


def run(graph: Planted, mu: float, method: str, resolution: float, *, repeat: int) -> Found:
    """Detect communities ``repeat`` times (same seed, same result); median wall time."""
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        result = detect_communities(graph.ties, method=method, resolution=resolution, seed=0)
        seconds.append(time.perf_counter() - start)
    found = result.frame.select("node_id", "community_id")
    return Found(
        mu=mu,
        method=method,
        resolution=resolution,
        communities=result.frame["community_id"].n_unique(),
        nmi=nmi(graph.planted, found),
        modularity=result.modularity,
        planted_modularity=graph.modularity(1.0 if method == "cpm" else resolution),
        seconds=statistics.median(seconds),
    )


def markdown(graphs: dict[float, Planted], results: list[Found]) -> str:
    lines = [
        "| mu | realised mixing | method | resolution | communities (planted) | NMI "
        "| modularity at the resolution (planted) | wall s |",
        "|---:|---:|---|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        g = graphs[r.mu]
        planted = g.planted["planted"].n_unique()
        lines.append(
            f"| {r.mu} | {g.mixing:.3f} | {r.method} | {r.resolution:g} "
            f"| {r.communities} ({planted}) | {r.nmi:.4f} "
            f"| {r.modularity:.4f} ({r.planted_modularity:.4f}) | {r.seconds:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000, help="nodes per graph")
    parser.add_argument("--mu", type=float, nargs="+", default=[0.3, 0.5], help="mixing")
    parser.add_argument("--seed", type=int, default=0, help="first seed of the generator")
    parser.add_argument("--tries", type=int, default=10, help="seeds to try per graph")
    parser.add_argument("--resolution", type=float, nargs="+", default=[1.0])
    parser.add_argument("--repeat", type=int, default=3, help="timed runs per figure")
    args = parser.parse_args()

    # warm up the imports (igraph, leidenalg) so the first timing is not theirs
    warm = pl.DataFrame({"a": ["x", "x"], "b": ["y", "z"], "weight": [1.0, 1.0]})
    for method in METHODS:
        detect_communities(warm, method=method)

    print(f"machine: {machine()}")
    print(f"polars {pl.__version__}, networkx {nx.__version__}")
    params = ", ".join(f"{k}={v}" for k, v in LFR.items())
    print(f"LFR n={args.n}, {params}\n")
    graphs: dict[float, Planted] = {}
    results: list[Found] = []
    for mu in args.mu:
        start = time.perf_counter()
        graph = planted_graph(args.n, mu, seed=args.seed, tries=args.tries)
        graphs[mu] = graph
        print(
            f"mu={mu}: seed {graph.seed}, {graph.ties.height:,} ties, realised average degree "
            f"{graph.average_degree:.1f}, realised mixing {graph.mixing:.3f}, "
            f"generated in {time.perf_counter() - start:.1f} s",
            file=sys.stderr,
        )
        for resolution in args.resolution:
            for method in METHODS:
                results.append(run(graph, mu, method, resolution, repeat=args.repeat))
        results.append(run(graph, mu, "cpm", CPM_RESOLUTION, repeat=args.repeat))
    seeds = ", ".join(f"mu={mu}: seed {g.seed}" for mu, g in graphs.items())
    degrees = ", ".join(f"mu={mu}: {g.average_degree:.1f}" for mu, g in graphs.items())
    print(f"generator seeds used: {seeds}; realised average degree: {degrees}\n")
    print(markdown(graphs, results))


if __name__ == "__main__":
    main()
