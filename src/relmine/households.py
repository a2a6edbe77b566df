"""Households: who lives with whom, decided from everyday-life signals together.

Two steps.

1. **Pair score.** Every tie between two persons gets a household score ``p`` in 0-1, a logistic
   function of the signals of shared everyday life (:data:`HOUSEHOLD_MODEL`): a shared home cell
   (and, against it, two different known home cells), the share of contact outside working hours
   and at night, how much of each party's contact the tie is (its smaller ``share``), the amount
   of phone contact, money between them (any, and regular monthly flows such as allowances and
   rent shares) and reciprocity. No single signal decides: best friends who call every evening
   have no shared home cell and a small share of each other's life; a landlord gets a standing
   order but no calls.
2. **Grouping.** Pairs with ``p >= household_threshold`` are merged greedily, strongest first
   (constrained agglomerative clustering), but two groups are only merged when the result has at
   most ``household_max_size`` members, they are co-located (a home cell of one is among the
   rest-time cells of the other) unless one has no known cell, and at least
   ``household_min_density`` of the pairs across them are in contact at all: household members
   nearly all call or pay each other, while the evening caller is the friend of one member only.
   So one friend who calls every evening does not merge two families, which a
   connected-components rule would do.

Companies (register ``kind = company``) and hotline-like parties (at least
``hotline_min_degree`` contacts, at most ``hotline_max_reciprocity`` of them called back) are in
no household.

The coefficients of :data:`HOUSEHOLD_MODEL` were fitted by logistic regression on the pairs of a
synthetic world of another seed than the bundled sample (``make_world(people=2000, seed=1)``),
then rounded; the sample is only used to measure the result.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from relmine._gc import collector_paused
from relmine.config import Settings
from relmine.graph import (
    EXCLUSION_COLUMNS,
    Vertices,
    Window,
    excluded_parties,
    party_cells,
)
from relmine.store import Store

__all__ = [
    "HOUSEHOLD_MODEL",
    "TIE_COLUMNS_READ",
    "detect_households",
    "household_pairs",
    "household_scores",
]

#: The tie columns this module reads (:func:`relmine.graph.load_ties` reads only these).
TIE_COLUMNS_READ = (
    *EXCLUSION_COLUMNS,
    "voice_n",
    "sms_n",
    "bank_n",
    "reciprocity",
    "active_days",
    "night_share",
    "work_share",
    "home_a",
    "same_home_cell",
    "home_distance_km",
    "shared_rest_cells",
    "bank_regular_ab",
    "bank_regular_ba",
    "share_a",
    "share_b",
)

#: Logistic model of "a and b live together": ``p = 1 / (1 + exp(-(const + sum(c * x))))``.
HOUSEHOLD_MODEL: dict[str, float] = {
    "const": -5.2,
    "home_same": 2.7,  # both home cells known and equal
    "home_differ": -2.1,  # both known and different
    "colocated": 1.7,  # both called from one cell at rest times (night, evening, weekend)
    "apart": -1.1,  # both have known rest-time cells, none shared
    "rest": 2.0,  # share of calls and messages outside working hours
    "night": 1.1,  # share at night
    "share": 2.2,  # the tie's share of the weight of the party for whom it matters least
    "contact": 2.1,  # log(1 + calls + messages)
    "regular": 0.6,  # a regular monthly transfer either way
    "money": 1.1,  # any transfer
    "reciprocity": 0.3,
}


def household_scores(
    ties: pl.DataFrame, excluded: pl.DataFrame, *, evidence: bool = True
) -> pl.DataFrame:
    """The household score of every tie between two persons.

    Returns
    -------
    DataFrame
        ``a``, ``b``, ``score`` (0-1) and, with ``evidence``, the signals in words, for every tie
        whose parties are both not in ``excluded``.
    """
    columns = {"evidence": _evidence_expr()} if evidence else {}
    # score first, then drop the excluded: filtering or joining the wide tie table would copy
    # every one of its columns
    scored = ties.select("a", "b", score=_score_expr(), **columns)
    out = excluded["node_id"].implode()
    persons = ~pl.col("a").is_in(out) & ~pl.col("b").is_in(out)
    return scored.filter(persons).sort("a", "b")


def _score_expr() -> pl.Expr:
    """The household score of a tie (:data:`HOUSEHOLD_MODEL`)."""
    m = HOUSEHOLD_MODEL
    phone_n = pl.col("voice_n") + pl.col("sms_n")
    regular = pl.col("bank_regular_ab").is_not_null() | pl.col("bank_regular_ba").is_not_null()
    z = (
        m["const"]
        + m["home_same"] * pl.col("same_home_cell").fill_null(False).cast(pl.Float64)
        + m["home_differ"] * (~pl.col("same_home_cell")).fill_null(False).cast(pl.Float64)
        + m["colocated"] * (pl.col("shared_rest_cells") > 0).fill_null(False).cast(pl.Float64)
        + m["apart"] * (pl.col("shared_rest_cells") == 0).fill_null(False).cast(pl.Float64)
        + m["rest"] * (1.0 - pl.col("work_share")).fill_null(0.0)
        + m["night"] * pl.col("night_share").fill_null(0.0)
        + m["share"] * pl.min_horizontal("share_a", "share_b")
        + m["contact"] * phone_n.cast(pl.Float64).log1p()
        + m["regular"] * regular.cast(pl.Float64)
        + m["money"] * (pl.col("bank_n") > 0).cast(pl.Float64)
        + m["reciprocity"] * pl.col("reciprocity")
    )
    return 1.0 / (1.0 + (-z).exp())


def _evidence_expr() -> pl.Expr:
    """The signals of a tie in words, e.g. ``shared home cell C17; 64% of contact evenings...``."""
    phone_n = pl.col("voice_n") + pl.col("sms_n")
    rest_pct = ((1.0 - pl.col("work_share")) * 100).round(0).cast(pl.Int64)
    monthly = pl.coalesce("bank_regular_ab", "bank_regular_ba")
    parts = [
        pl.when(pl.col("same_home_cell")).then(pl.format("shared home cell {}", "home_a")),
        pl.when(pl.col("same_home_cell").not_() & (pl.col("shared_rest_cells") > 0)).then(
            pl.lit("both call from one cell evenings/nights/weekends")
        ),
        pl.when(~pl.col("same_home_cell")).then(
            pl.format("different home cells ({} km apart)", pl.col("home_distance_km").round(1))
        ),
        pl.when(phone_n > 0).then(
            pl.format("{} calls, {} messages on {} days", "voice_n", "sms_n", "active_days")
        ),
        pl.when(phone_n > 0).then(pl.format("{}% evenings/nights/weekends", rest_pct)),
        pl.when(monthly.is_not_null()).then(
            pl.format("monthly transfer {}", monthly.round(2).cast(pl.String))
        ),
        pl.when((pl.col("bank_n") > 0) & monthly.is_null()).then(
            pl.format("{} transfers", "bank_n")
        ),
        pl.when(pl.col("reciprocity") > 0).then(pl.lit("both ways")).otherwise(pl.lit("one way")),
    ]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True)


def detect_households(
    ties: pl.DataFrame,
    store: Store,
    *,
    window: Window = Window(),
    settings: Settings | None = None,
) -> pl.DataFrame:
    """Group the graph's nodes into households.

    Parameters
    ----------
    ties : DataFrame
        The tie table of :func:`relmine.graph.tie_features`.
    store : Store
        For the register (companies) and the parties' cells.
    window : Window, optional
        The window the ties were built on (for the parties' cells).
    settings : Settings, optional
        ``household_threshold``, ``household_max_size``, ``household_min_density``,
        ``hotline_*``; the store's by default.

    Returns
    -------
    DataFrame
        One row per node of the graph, singletons included, sorted by ``household_id`` and
        ``node_id``: ``node_id``, ``household_id`` (1 = largest, ties by smallest node id),
        ``household_size``, ``confidence`` (0-1) and ``evidence``. A member's confidence is the
        score of its strongest household tie inside its household; a singleton's is one minus
        the score of its strongest candidate tie.

    Examples
    --------
    >>> households = detect_households(tie_features(store), store)  # doctest: +SKIP
    """
    settings = settings or store.settings
    vertices = Vertices.of(ties)
    excluded = excluded_parties(ties, store, settings, vertices=vertices)
    nodes, ia, ib = vertices.names, vertices.a, vertices.b
    del vertices
    n = nodes.len()
    index = pl.DataFrame({"node_id": nodes, "i": pl.int_range(0, n, eager=True)})
    # Vertex numbers are ranks among the sorted node ids: no join on the strings. The scored
    # ties are numbers only (ends and score, 16 bytes a tie), sorted by their ends' numbers,
    # which is the order of their node ids; the excluded are dropped by a mask over the
    # vertices.
    out = np.zeros(n, dtype=bool)
    out[nodes.search_sorted(excluded["node_id"]).to_numpy()] = True
    persons = ~(out[ia] | out[ib])
    score = ties.select(_score_expr()).to_series().to_numpy()
    scores = pl.DataFrame({"ia": ia[persons], "ib": ib[persons], "score": score[persons]}).sort(
        "ia", "ib"
    )
    del out, persons, score
    candidates = scores.filter(pl.col("score") >= settings.household_threshold).sort(
        ["score", "ia", "ib"], descending=[True, False, False]
    )
    # Who is tied to whom, as CSR arrays (the ties of vertex i are indices[indptr[i]:indptr[i+1]]):
    # two arrays and a sort instead of a million Python sets filled in a loop over the ties.
    # Each tie's two directions packed as end << 32 | other and sorted as plain integers (half
    # the time of a stable arg-sort of the ends); a vertex's ties come out by neighbour number.
    packed = np.concatenate([ia, ib]).astype(np.uint64) << np.uint64(32)
    packed |= np.concatenate([ib, ia]).astype(np.uint64)
    del ia, ib
    packed.sort()
    indices = (packed & np.uint64(0xFFFF_FFFF)).astype(np.int32)
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount((packed >> np.uint64(32)).astype(np.int64), minlength=n), out=indptr[1:])
    del packed
    # Cells only of the parties a candidate pair can merge
    involved = pl.concat([candidates["ia"], candidates["ib"]]).unique().to_frame("i")
    cells = (
        party_cells(store, window=window, settings=settings)
        .join(index, on="node_id")
        .join(involved, on="i", how="semi")
    )
    # the parties' cells and the merge make a set or a list per party
    with collector_paused():
        parties, home_cells, rest_cells = (
            cells[c].to_list() for c in ("i", "home_cell", "rest_cells")
        )
        homes = {i: {h} for i, h in zip(parties, home_cells, strict=True) if h is not None}
        rest = {i: c for i, c in zip(parties, rest_cells, strict=True) if c is not None}
        root = _agglomerate(
            candidates.select("ia", "ib").rows(),
            (indptr, indices),
            homes,
            rest,
            max_size=settings.household_max_size,
            min_density=settings.household_min_density,
        )
        del homes, rest, cells, candidates, indices, indptr  # hundreds of MB on a large graph
    frame = index.with_columns(group=pl.Series(root, dtype=pl.Int64))
    return _finish(frame, scores, excluded, ties)


def _agglomerate(
    pairs: list[tuple[int, int]],
    neighbours: tuple[np.ndarray, np.ndarray],
    homes: dict[int, set[str]],
    rest: dict[int, list[str]],
    *,
    max_size: int,
    min_density: float,
) -> list[int]:
    """Constrained greedy merging of household ties, strongest first.

    Two groups merge only when (1) the result has at most ``max_size`` members, (2) they are
    co-located: a home cell of one is among the rest-time cells of the other, or one of them has
    no known home cell, and (3) at least ``min_density`` of the pairs across them are tied at
    all (household members nearly all contact each other; a friend of one member does not).
    ``neighbours`` is ``(indptr, indices)``: the ties of vertex ``i`` are
    ``indices[indptr[i]:indptr[i + 1]]``. Returns the group (root vertex) of every vertex.

    The merging is a sequence (each merge changes what the next pair may do), so it is a loop
    over the candidate pairs; most of them meet two single parties, so a party's members, home
    cells and rest-time cells are only copied into a group of its own when it first merges.
    """
    indptr, indices = neighbours
    n = len(indptr) - 1
    parent = list(range(n))
    size = [1] * n
    # Of groups of two or more, by root: members, home cells, rest-time cells.
    members: dict[int, list[int]] = {}
    home: dict[int, set[str]] = {}
    cells: dict[int, set[str]] = {}
    nothing: set[str] = set()

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for a, b in pairs:
        ra, rb = find(a), find(b)
        if ra == rb:
            continue
        sa, sb = size[ra], size[rb]
        if sa + sb > max_size:
            continue
        ha = home[ra] if sa > 1 else homes.get(ra, nothing)
        hb = home[rb] if sb > 1 else homes.get(rb, nothing)
        if ha and hb:
            ca = cells[ra] if sa > 1 else rest.get(ra, ())
            cb = cells[rb] if sb > 1 else rest.get(rb, ())
            if ha.isdisjoint(cb) and hb.isdisjoint(ca):
                continue
        ma = members[ra] if sa > 1 else [ra]
        mb = members[rb] if sb > 1 else [rb]
        small, large = (ma, mb) if sa <= sb else (mb, ma)
        if len(large) == 1:
            tied = 1  # two single parties: the candidate pair is their one tie
        else:
            others = set(large)
            tied = sum(
                x in others for m in small for x in indices[indptr[m] : indptr[m + 1]].tolist()
            )
        if tied < min_density * len(small) * len(large):
            continue
        keep, gone = (ra, rb) if sa >= sb else (rb, ra)
        s_keep, s_gone = (sa, sb) if keep == ra else (sb, sa)
        parent[gone] = keep
        size[keep] = sa + sb
        group = members.pop(keep) if s_keep > 1 else [keep]
        group.extend(members.pop(gone) if s_gone > 1 else (gone,))
        members[keep] = group
        home[keep] = ha | hb  # a new set: a party's own set is never changed
        home.pop(gone, None)
        here = cells.pop(keep) if s_keep > 1 else set(rest.get(keep, ()))
        here.update(cells.pop(gone) if s_gone > 1 else rest.get(gone, ()))
        cells[keep] = here
    return [find(x) for x in range(n)]


def _finish(
    frame: pl.DataFrame, scores: pl.DataFrame, excluded: pl.DataFrame, ties: pl.DataFrame
) -> pl.DataFrame:
    """Number the households and give every node its confidence and evidence.

    ``frame`` holds ``node_id``, ``i`` (the node's number, in ``node_id`` order) and ``group``;
    ``scores`` the scored ties with their ends' numbers ``ia``, ``ib``. Work is on the numbers:
    the scored ties are millions, the household ties among them far fewer.
    """
    frame = frame.with_columns(household_size=pl.len().over("group").cast(pl.Int64))
    order = (
        frame.group_by("group")
        .agg(size=pl.len(), first=pl.col("node_id").min())
        .sort(["size", "first"], descending=[True, False])
        .with_columns(household_id=pl.int_range(1, pl.len() + 1, dtype=pl.Int64))
    )
    frame = frame.join(order.select("group", "household_id"), on="group", how="left")
    group = frame["group"].to_numpy()
    ia, ib = scores["ia"].to_numpy(), scores["ib"].to_numpy()
    score = scores["score"].to_numpy()
    same = group[ia] == group[ib]
    both = pl.DataFrame(
        {
            "i": np.concatenate([ia[same], ib[same]]),
            "other": np.concatenate([ib[same], ia[same]]),
            "inside_score": np.concatenate([score[same], score[same]]),
        }
    )
    # each member's strongest tie inside its household; numbers sort like the node ids
    inside = (
        both.sort(["i", "inside_score", "other"], descending=[False, True, False])
        .group_by("i", maintain_order=True)
        .first()
    )
    names = frame["node_id"]
    i, other = inside["i"].to_numpy(), inside["other"].to_numpy()
    pair = inside.with_columns(
        a=names.gather(np.minimum(i, other)), b=names.gather(np.maximum(i, other))
    )
    # evidence in words only for the ties it is shown for, not for millions of candidates
    words = ties.join(pair.select("a", "b").unique(), on=["a", "b"], how="semi").select(
        "a", "b", inside_evidence=_evidence_expr()
    )
    inside = pair.join(words, on=["a", "b"], how="left").select(
        "i", "inside_score", "inside_evidence"
    )
    ends = pl.DataFrame({"i": np.concatenate([ia, ib]), "score": np.concatenate([score, score])})
    best = ends.group_by("i").agg(best=pl.col("score").max())
    frame = (
        frame.join(inside, on="i", how="left")
        .join(best, on="i", how="left")
        .join(excluded, on="node_id", how="left")
    )
    single = pl.col("household_size") == 1
    confidence = (
        pl.when(pl.col("reason").is_not_null())
        .then(pl.lit(1.0))
        .when(single)
        .then(1.0 - pl.col("best").fill_null(0.0))
        .otherwise(pl.col("inside_score"))
    )
    evidence = (
        pl.when(pl.col("reason").is_not_null())
        .then(pl.col("reason"))
        .when(single & pl.col("best").is_null())
        .then(pl.lit("no tie to a person"))
        .when(single)
        .then(pl.format("no household tie (strongest candidate {})", pl.col("best").round(2)))
        .otherwise(pl.col("inside_evidence"))
    )
    return frame.select(
        "node_id",
        "household_id",
        "household_size",
        confidence=confidence.round(4),
        evidence=evidence,
    ).sort("household_id", "node_id")


def household_pairs(households: pl.DataFrame, *, column: str = "household_id") -> set[Any]:
    """The unordered pairs of nodes that share a household (for pairwise precision/recall)."""
    groups = households.filter(pl.len().over(column) > 1).group_by(column).agg("node_id")
    pairs: set[Any] = set()
    for members in groups["node_id"].to_list():
        ordered = sorted(members)
        pairs.update((x, y) for i, x in enumerate(ordered) for y in ordered[i + 1 :])
    return pairs
