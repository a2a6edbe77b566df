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
the raw weights, keeps the answer symmetric (a chain is as strong from B to A as from A to B;
the tie's share of a party's contact would differ at its two ends) and makes every
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

import functools
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
    kept_out : int
        How many parties chains were not allowed to pass through (``apart``).
    """

    source: str
    target: str
    answer: str
    hops: pl.DataFrame
    max_hops: int | None = None
    kept_out: int = 0

    def chain_strength(self, chain: str) -> float | None:
        """Product of the normalised strengths of a chain's hops (None if there is none)."""
        rows = self.hops.filter(pl.col("chain") == chain)
        return float(rows["strength"].product()) if rows.height else None

    def summary(self) -> list[tuple[str, Any]]:
        """Figures about the answer, for the terminal."""
        items: list[tuple[str, Any]] = [("from", self.source), ("to", self.target)]
        if self.max_hops is not None:
            items.append(("max hops", self.max_hops))
        if self.kept_out:
            items.append(("not passed through", f"{self.kept_out:,} companies and hotline-like"))
        items.append(("answer", self.answer))
        for chain in ("strongest", "fewest hops"):
            n = self.hops.filter(pl.col("chain") == chain).height
            if n:
                items.append((f"{chain}: hops", n))
                items.append((f"{chain}: strength", self.chain_strength(chain)))
        return items


def strongest_paths(
    ties: pl.DataFrame,
    source: str,
    target: str,
    *,
    max_hops: int | None = None,
    apart: pl.DataFrame | None = None,
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
    apart : DataFrame, optional
        Parties (``node_id``) a chain may start or end at but not pass through, usually
        :func:`relmine.graph.excluded_parties`: two customers of one utility, employer or call
        centre are two hops apart through it, which says nothing about how they know each other.

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
    gone = pl.Series("node_id", [], pl.String)
    if apart is not None:
        gone = apart["node_id"].filter(~apart["node_id"].is_in([source, target]))
        walked = walked.filter(
            ~pl.col("a").is_in(gone.implode()) & ~pl.col("b").is_in(gone.implode())
        )
    answer = functools.partial(PathResult, source, target, max_hops=max_hops, kept_out=gone.len())
    empty = pl.DataFrame(schema=HOP_SCHEMA)
    graph, names = to_igraph(walked)
    wanted = pl.Series([source, target])
    at = names.search_sorted(wanted).clip(0, max(names.len() - 1, 0))
    if names.len() == 0 or not (names.gather(at) == wanted).all():
        # a party without ties in this window and these channels is connected to nobody
        return answer("not connected", empty)
    a, b = int(at[0]), int(at[1])
    from_a = np.asarray(graph.distances(source=a)[0])
    fewest = from_a[b]
    if not np.isfinite(fewest):
        return answer("not connected", empty)
    if max_hops is not None and fewest > max_hops:
        return answer(f"no chain within {max_hops} hops", empty)
    top = float(walked["weight"].max())
    graph.es["cost"] = -np.log(walked["weight"].to_numpy() / top)
    strongest = graph.get_shortest_path(a, b, weights="cost", output="vpath")
    ends = (a, b, from_a, np.asarray(graph.distances(source=b)[0]))
    if max_hops is not None and len(strongest) - 1 > max_hops:
        strongest = _bounded(walked, names, ends, max_hops, top=top, exact=False)
    shortest = _bounded(walked, names, ends, int(fewest), top=top, exact=True)
    chains = [("strongest", strongest), ("fewest hops", shortest)]
    hops = pl.concat([_hops(ties, names, chain, path, top) for chain, path in chains])
    return answer("connected", hops.cast(HOP_SCHEMA))


def _bounded(
    walked: pl.DataFrame,
    names: pl.Series,
    ends: tuple[int, int, np.ndarray, np.ndarray],
    hops: int,
    *,
    top: float,
    exact: bool,
) -> list[int]:
    """The cheapest path from ``a`` to ``b`` with at most ``hops`` edges (Bellman-Ford rounds).

    ``ends`` is ``(a, b, d(a, .), d(., b))`` with breadth-first distances. Only edges
    ``u -> v`` that can lie on such a path are relaxed: ``d(a, u) + 1 + d(v, b)`` at most
    ``hops`` (equal to it with ``exact``, which with ``hops`` the distance from ``a`` to ``b``
    leaves exactly the edges of the shortest paths), and only the ties between vertices near
    enough to both ends are numbered at all. Round ``k`` holds the cheapest cost with at most
    ``k`` edges; each vertex's improvements are kept per round, so the path is read back from
    ``b``. Equal costs go to the smaller vertex number, so the answer does not depend on the
    order of the ties.
    """
    a, b, from_a, to_b = ends
    near = names.gather(np.flatnonzero(from_a + to_b <= hops)).implode()
    ties = walked.filter(pl.col("a").is_in(near) & pl.col("b").is_in(near))
    # vertex numbers are the ranks of the sorted names (relmine.graph.to_igraph)
    first, second = (names.search_sorted(ties[end]).to_numpy().astype(np.int64) for end in "ab")
    cost = -np.log(ties["weight"].to_numpy() / top)
    src = np.concatenate([first, second])
    dst = np.concatenate([second, first])
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
