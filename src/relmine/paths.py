"""The strongest chain of relationships between two parties, and the one of fewest hops.

"How is A connected to B?" has two useful answers. The **strongest chain** maximises the product
of the normalised strengths of its ties: a chain is as good as the trust passed along it, and a
product is what multiplies down at every introduction. Taking ``-log``, it is the shortest path
with edge length ``-log s`` (Dijkstra 1959), which igraph runs on the whole graph. The **fewest
hops** chain is the breadth-first shortest path ("six degrees"; Milgram 1967); of all chains
with that few hops it is the strongest one.

Normalisation
-------------
A tie's strength is ``s = weight / max(weight)`` over the tie table searched, in (0, 1]. Dividing
by one number keeps the ranking of chains with equally many hops exactly that of the product of
the raw weights, keeps the answer symmetric (the chain from B to A is the chain from A to B
reversed: the tie's share of a party's contact would differ at its two ends) and makes every
hop cost ``-log s >= 0``, so each extra hop weakens a chain unless its tie is the strongest of
the graph. Ties of weight 0 or less carry no strength and are not walked.

``max_hops`` bounds both chains. When the strongest chain has more hops, the strongest chain
within the bound is found exactly by ``max_hops`` rounds of Bellman-Ford relaxation over the ties
that can lie on such a chain at all (``d(A, u) + 1 + d(v, B) <= max_hops``, with breadth-first
distances from both ends), in arrays, not per-edge Python objects.

References
----------
Dijkstra, E. W. (1959). A note on two problems in connexion with graphs. Numerische
Mathematik 1, 269-271.
Bellman, R. (1958). On a routing problem. Quarterly of Applied Mathematics 16, 87-90.
Milgram, S. (1967). The small-world problem. Psychology Today 1(1), 61-67.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from relmine.errors import ConfigError
from relmine.graph import to_igraph
from relmine.households import _evidence_expr

__all__ = ["HOP_SCHEMA", "PathResult", "strongest_paths"]

#: Columns of the hops table (``relmine path -o FILE``).
HOP_SCHEMA: dict[str, pl.DataType] = {
    "chain": pl.String(),
    "hop": pl.Int64(),
    "from": pl.String(),
    "to": pl.String(),
    "weight": pl.Float64(),
    "strength": pl.Float64(),
    "voice_n": pl.Int64(),
    "sms_n": pl.Int64(),
    "bank_n": pl.Int64(),
    "evidence": pl.String(),
}


@dataclass(frozen=True)
class PathResult:
    """The chains between two parties.

    Attributes
    ----------
    source, target : str
        The two node ids.
    answer : str
        ``connected``, ``not connected`` (no chain at all in the ties searched) or ``no chain
        within N hops``.
    hops : DataFrame
        One row per hop of each chain (:data:`HOP_SCHEMA`), ``chain`` = ``strongest`` then
        ``fewest hops``, ``hop`` from 1; empty unless connected within the bound.
    max_hops : int or None
        The bound searched with.
    """

    source: str
    target: str
    answer: str
    hops: pl.DataFrame
    max_hops: int | None = None

    def chain_strength(self, chain: str) -> float | None:
        """Product of the normalised strengths of a chain's hops (None if there is none)."""
        rows = self.hops.filter(pl.col("chain") == chain)
        return float(rows["strength"].product()) if rows.height else None

    def summary(self) -> list[tuple[str, Any]]:
        """Figures about the answer, for the terminal."""
        items: list[tuple[str, Any]] = [("from", self.source), ("to", self.target)]
        if self.max_hops is not None:
            items.append(("max hops", self.max_hops))
        items.append(("answer", self.answer))
        for chain in ("strongest", "fewest hops"):
            n = self.hops.filter(pl.col("chain") == chain).height
            if n:
                items.append((f"{chain}: hops", n))
                items.append((f"{chain}: strength", self.chain_strength(chain)))
        return items


def strongest_paths(
    ties: pl.DataFrame, source: str, target: str, *, max_hops: int | None = None
) -> PathResult:
    """The strongest and the fewest-hops chain of ties from ``source`` to ``target``.

    Parameters
    ----------
    ties : DataFrame
        The tie table (:func:`relmine.graph.load_ties`), the whole graph.
    source, target : str
        Node ids (:func:`relmine.register.find_party`).
    max_hops : int, optional
        Longest chain wanted; unbounded by default.

    Returns
    -------
    PathResult
        "Not connected" is an answer, not an error.

    Raises
    ------
    ConfigError
        If the two are the same party or ``max_hops`` is below 1.

    Examples
    --------
    >>> strongest_paths(load_ties(store), "C10000971", "C27734446").summary()  # doctest: +SKIP
    """
    if source == target:
        raise ConfigError("the two parties are the same node; name two different parties")
    if max_hops is not None and max_hops < 1:
        raise ConfigError("--max-hops must be at least 1")
    walked = ties.select("a", "b", "weight").filter(pl.col("weight") > 0)
    empty = pl.DataFrame(schema=HOP_SCHEMA)
    graph, names = to_igraph(walked)
    wanted = pl.Series([source, target])
    ends = names.search_sorted(wanted).clip(0, max(names.len() - 1, 0))
    if names.len() == 0 or not (names.gather(ends) == wanted).all():
        # a party without ties in this window and these channels is connected to nobody
        return PathResult(source, target, "not connected", empty, max_hops)
    a, b = int(ends[0]), int(ends[1])
    from_a = np.asarray(graph.distances(source=a)[0])
    fewest = from_a[b]
    if not np.isfinite(fewest):
        return PathResult(source, target, "not connected", empty, max_hops)
    if max_hops is not None and fewest > max_hops:
        return PathResult(source, target, f"no chain within {max_hops} hops", empty, max_hops)
    weight = walked["weight"].to_numpy()
    cost = -np.log(weight / weight.max())
    graph.es["cost"] = cost
    strongest = graph.get_shortest_path(a, b, weights="cost", output="vpath")
    # the graph's edges in the tie table's order, as vertex numbers (names are sorted)
    edges = np.column_stack(
        [names.search_sorted(walked[end]).to_numpy().astype(np.int64) for end in ("a", "b")]
    )
    to_b = np.asarray(graph.distances(source=b)[0])
    if max_hops is not None and len(strongest) - 1 > max_hops:
        strongest = _bounded(edges, cost, (from_a, to_b), a, b, max_hops, exact=False)
    shortest = _bounded(edges, cost, (from_a, to_b), a, b, int(fewest), exact=True)
    chains = [("strongest", strongest), ("fewest hops", shortest)]
    hops = pl.concat([_hops(ties, names, chain, path, weight.max()) for chain, path in chains])
    return PathResult(source, target, "connected", hops.cast(HOP_SCHEMA), max_hops)


def _bounded(
    edges: np.ndarray,
    cost: np.ndarray,
    distances: tuple[np.ndarray, np.ndarray],
    a: int,
    b: int,
    hops: int,
    *,
    exact: bool,
) -> list[int]:
    """The cheapest path from ``a`` to ``b`` with at most ``hops`` edges (Bellman-Ford rounds).

    Only edges ``u -> v`` that can lie on such a path are relaxed: ``d(a, u) + 1 + d(v, b)``
    at most ``hops`` (equal to it with ``exact``, which with ``hops`` the breadth-first distance
    leaves exactly the edges of the shortest paths). Round ``k`` holds the cheapest cost with at
    most ``k`` edges; each vertex's improvements are kept per round, so the path is read back
    from ``b``. Equal costs go to the smaller vertex number, so the answer does not depend on the
    order of the ties.
    """
    from_a, to_b = distances
    src = np.concatenate([edges[:, 0], edges[:, 1]])
    dst = np.concatenate([edges[:, 1], edges[:, 0]])
    length = np.concatenate([cost, cost])
    span = from_a[src] + 1 + to_b[dst]
    keep = span == hops if exact else span <= hops
    src, dst, length = src[keep], dst[keep], length[keep]
    best = np.full(len(from_a), np.inf)
    best[a] = 0.0
    rounds: list[tuple[np.ndarray, np.ndarray]] = []
    for _ in range(hops):
        reach = np.isfinite(best[src])
        s, d, c = src[reach], dst[reach], best[src[reach]] + length[reach]
        order = np.lexsort((s, c, d))
        d, first = np.unique(d[order], return_index=True)
        s, c = s[order][first], c[order][first]
        better = c < best[d]
        best = best.copy()
        best[d[better]] = c[better]
        rounds.append((d[better], s[better]))
    path, v, k = [b], b, hops
    while v != a:
        k -= 1
        targets, sources = rounds[k]
        at = int(np.searchsorted(targets, v))
        if at < len(targets) and targets[at] == v:
            v = int(sources[at])
            path.append(v)
    return path[::-1]


def _hops(
    ties: pl.DataFrame, names: pl.Series, chain: str, path: list[int], top: float
) -> pl.DataFrame:
    """The hops of one chain with each tie's weight, strength and evidence in words."""
    ids = names.gather(path)
    steps = pl.DataFrame({"from": ids[:-1], "to": ids[1:]}).with_columns(
        chain=pl.lit(chain),
        hop=pl.int_range(1, pl.len() + 1, dtype=pl.Int64),
        a=pl.min_horizontal("from", "to"),
        b=pl.max_horizontal("from", "to"),
    )
    pairs = ties.join(steps.select("a", "b"), on=["a", "b"], how="semi")
    described = pairs.select(
        "a", "b", "weight", "voice_n", "sms_n", "bank_n", evidence=_evidence_expr()
    )
    return (
        steps.join(described, on=["a", "b"], how="left")
        .with_columns(strength=pl.col("weight") / top)
        .select(list(HOP_SCHEMA))
        .sort("hop")
    )
