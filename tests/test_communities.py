"""Communities: recovery of planted partitions, engines agreeing, the output contract, the CLI."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import networkx as nx
import numpy as np
import polars as pl
import pytest
from networkx.generators.community import LFR_benchmark_graph
from polars.testing import assert_frame_equal

from conftest import ROOT, run_cli
from relmine.communities import detect_communities, nmi
from relmine.errors import ConfigError
from relmine.graph import excluded_parties, tie_features
from relmine.store import Store

#: (method, engine) pairs the CLI offers.
COMBINATIONS = [
    ("louvain", "igraph"),
    ("leiden", "igraph"),
    ("cpm", "igraph"),
    ("louvain", "networkx"),
]


def _lfr_ties(n: int, mu: float, *, seed: int) -> tuple[pl.DataFrame, pl.DataFrame]:
    """An LFR graph (small, seeded) as a tie table, and its planted partition.

    NetworkX's generator may give up for a seed (``ExceededMaxIterations``); the next seed is
    tried, so the test does not depend on the generator's internals staying the same.
    """
    for attempt in range(seed, seed + 10):
        try:
            graph = LFR_benchmark_graph(
                n,
                tau1=3,
                tau2=1.5,
                mu=mu,
                average_degree=20,
                max_degree=50,
                min_community=20,
                max_community=100,
                seed=attempt,
            )
            break
        except nx.ExceededMaxIterations:
            continue
    else:
        pytest.fail(f"no LFR graph for seeds {seed}..{seed + 9}")
    width = len(str(n - 1))

    def name(col: str) -> pl.Expr:
        return pl.format("n{}", pl.col(col).cast(pl.String).str.zfill(width))

    ends = np.array(graph.edges(), dtype=np.int64).reshape(-1, 2)
    ties = (
        pl.DataFrame({"u": ends.min(axis=1), "v": ends.max(axis=1)})
        .filter(pl.col("u") != pl.col("v"))  # the generator draws self-loops
        .select(a=name("u"), b=name("v"), weight=pl.lit(1.0))
    )
    nodes = np.array(graph.nodes(), dtype=np.int64)
    label = [min(graph.nodes[v]["community"]) for v in nodes]
    planted = pl.DataFrame({"node": nodes, "planted": label}).select(
        node_id=name("node"), planted="planted"
    )
    return ties, planted


@pytest.mark.parametrize("method", ["louvain", "leiden"])
def test_lfr_planted_partition_is_recovered(method: str) -> None:
    ties, planted = _lfr_ties(1000, 0.2, seed=0)
    result = detect_communities(ties, method=method, seed=0)
    assert result.frame.height == planted.height
    assert nmi(planted, result.frame.select("node_id", "community_id")) >= 0.9
    assert 0 < result.modularity < 1


def _two_triangles() -> pl.DataFrame:
    """Two triangles joined by a weak tie, a hub tied to both, and a party tied to the hub only."""
    pairs = [
        ("a1", "a2", 1.0),
        ("a1", "a3", 1.0),
        ("a2", "a3", 1.0),
        ("b1", "b2", 1.0),
        ("b1", "b3", 1.0),
        ("b2", "b3", 1.0),
        ("a3", "b1", 0.1),
        ("a1", "h", 1.0),
        ("b3", "h", 1.0),
        ("h", "z", 1.0),
    ]
    return pl.DataFrame(pairs, schema=["a", "b", "weight"], orient="row")


@pytest.mark.parametrize(("method", "engine"), COMBINATIONS)
def test_parties_kept_apart_are_communities_of_their_own(method: str, engine: str) -> None:
    ties = _two_triangles()
    apart = pl.DataFrame({"node_id": ["h"]})
    result = detect_communities(ties, method=method, engine=engine, apart=apart, seed=0)
    # equal sizes: the community holding the smaller node id comes first; the hub is apart,
    # and z, whose only tie was to the hub, is left alone
    expected = pl.DataFrame(
        {
            "node_id": ["a1", "a2", "a3", "b1", "b2", "b3", "h", "z"],
            "community_id": [1, 1, 1, 2, 2, 2, 3, 4],
            "community_size": [3, 3, 3, 3, 3, 3, 1, 1],
        }
    )
    assert_frame_equal(result.frame, expected)
    assert (result.method, result.engine) == (method, engine)


def test_the_order_of_the_ties_does_not_matter() -> None:
    ties = _two_triangles()
    first = detect_communities(ties, seed=3)
    second = detect_communities(ties.reverse(), seed=3)
    assert_frame_equal(first.frame, second.frame)
    assert first.modularity == second.modularity


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"method": "leiden", "engine": "networkx"}, "needs --engine igraph"),
        ({"resolution": 0.0}, "must be a positive number"),
        ({"resolution": -1.0}, "must be a positive number"),
        ({"method": "walktrap"}, "unknown method"),
        ({"engine": "graph-tool"}, "unknown engine"),
    ],
)
def test_invalid_options_raise_config_error(options: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        detect_communities(_two_triangles(), **options)


@pytest.mark.parametrize("resolution", [math.nan, math.inf])
def test_resolution_must_be_finite(resolution: float) -> None:
    try:
        detect_communities(_two_triangles(), resolution=resolution)  # igraph engine only
    except ConfigError:
        return
    raise AssertionError(f"resolution {resolution} was accepted")


def test_nmi_of_a_partition_with_itself_and_a_relabelling_is_one() -> None:
    first = pl.DataFrame({"node_id": ["a", "b", "c", "d"], "x": [1, 1, 2, 2]})
    second = pl.DataFrame({"node_id": ["d", "c", "b", "a"], "y": ["p", "p", "q", "q"]})
    assert nmi(first, first) == pytest.approx(1.0)
    assert nmi(first, second) == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="share no node"):
        nmi(first, second.with_columns(node_id=pl.lit("e")))


# The bundled sample (conftest's session store), and communities found on it by the CLI.


@pytest.fixture(scope="module")
def found(sample_store: Path) -> dict[tuple[str, str], Path]:
    """``relmine communities -o FILE`` for every method and engine, seed 0."""
    paths = {}
    for method, engine in COMBINATIONS:
        path = sample_store.parent / f"{method}-{engine}.parquet"
        run = run_cli(
            "communities",
            "--store",
            sample_store,
            "--method",
            method,
            "--engine",
            engine,
            "-o",
            path,
        )
        assert run.exit_code == 0, run.stderr
        paths[method, engine] = path
    return paths


@pytest.fixture(scope="module")
def sample_ties(sample_store: Path) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The sample's tie table and the parties kept apart, as the CLI builds them."""
    store = Store.open(sample_store)
    ties = tie_features(store)
    return ties, excluded_parties(ties, store, store.settings)


def test_engines_agree_on_the_sample(
    found: dict[tuple[str, str], Path], sample_ties: tuple[pl.DataFrame, pl.DataFrame]
) -> None:
    by_igraph = pl.read_parquet(found["louvain", "igraph"]).select("node_id", "community_id")
    by_networkx = pl.read_parquet(found["louvain", "networkx"]).select("node_id", "community_id")
    assert by_igraph.height == by_networkx.height
    assert nmi(by_igraph, by_networkx) >= 0.9

    ties, apart = sample_ties
    igraph_q = detect_communities(ties, engine="igraph", apart=apart).modularity
    networkx_q = detect_communities(ties, engine="networkx", apart=apart).modularity
    assert igraph_q > 0.3
    assert networkx_q == pytest.approx(igraph_q, rel=0.01)


@pytest.mark.parametrize(("method", "engine"), COMBINATIONS)
def test_output_contract(
    found: dict[tuple[str, str], Path],
    sample_ties: tuple[pl.DataFrame, pl.DataFrame],
    method: str,
    engine: str,
) -> None:
    frame = pl.read_parquet(found[method, engine])
    assert frame.schema == pl.Schema(
        {"node_id": pl.String, "community_id": pl.Int64, "community_size": pl.Int64}
    )
    ties, apart = sample_ties
    nodes = pl.concat([ties["a"], ties["b"]]).unique().sort()
    # every node of the tie table exactly once, and nothing else
    assert frame["node_id"].is_unique().all()
    assert frame["node_id"].sort().equals(nodes)
    # sorted by community, then node
    assert_frame_equal(frame, frame.sort("community_id", "node_id"))
    # community_size is the number of rows with that id
    counted = frame.group_by("community_id").agg(
        size=pl.len().cast(pl.Int64),
        declared=pl.col("community_size").unique(),
        smallest=pl.col("node_id").min(),
    )
    assert (counted["declared"].list.len() == 1).all()
    assert (counted["declared"].list.first() == counted["size"]).all()
    # ids 1..k, largest first, equal sizes by the smallest node id
    ranked = counted.sort(["size", "smallest"], descending=[True, False])
    assert ranked["community_id"].to_list() == list(range(1, counted.height + 1))
    # a party kept apart is a community of its own
    alone = frame.join(apart.select("node_id"), on="node_id", how="semi")
    assert alone.height == apart.height
    assert (alone["community_size"] == 1).all()


@pytest.mark.parametrize("method", ["louvain", "leiden"])
def test_same_seed_gives_the_same_bytes(
    found: dict[tuple[str, str], Path], sample_store: Path, tmp_path: Path, method: str
) -> None:
    again = tmp_path / "again.parquet"
    run = run_cli("communities", "--store", sample_store, "--method", method, "-o", again, "-q")
    assert run.exit_code == 0, run.stderr
    assert again.read_bytes() == found[method, "igraph"].read_bytes()


def test_same_bytes_in_another_process_with_another_hash_seed(
    found: dict[tuple[str, str], Path], sample_store: Path, tmp_path: Path
) -> None:
    # python-louvain walks dicts and sets of node ids: string hashing must not leak into results
    again = tmp_path / "again.parquet"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONHASHSEED": "1234"}
    args = ["communities", "--store", sample_store, "--engine", "networkx", "-o", again, "-q"]
    proc = subprocess.run(
        [sys.executable, "-m", "relmine", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert again.read_bytes() == found["louvain", "networkx"].read_bytes()


def test_stats_has_one_row_per_community(sample_store: Path, tmp_path: Path) -> None:
    out, stats = tmp_path / "c.parquet", tmp_path / "stats.csv"
    run = run_cli("communities", "--store", sample_store, "-o", out, "--stats", stats, "-q")
    assert run.exit_code == 0, run.stderr
    frame = pl.read_parquet(out)
    table = pl.read_csv(stats)
    assert table.height == frame["community_id"].n_unique()
    assert table["community_id"].to_list() == list(range(1, table.height + 1))
    sizes = frame.unique("community_id").sort("community_id")["community_size"]
    assert table["community_size"].to_list() == sizes.to_list()
    assert table["conductance"].is_between(0.0, 1.0).all()
    assert table["conductance"].null_count() == 0


def test_cli_leiden_on_networkx_exits_1_with_one_line(sample_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "never.parquet"
    run = run_cli(
        "communities",
        "--store",
        sample_store,
        "--method",
        "leiden",
        "--engine",
        "networkx",
        "-o",
        out,
    )
    assert run.exit_code == 1
    assert run.stderr.strip().splitlines() == [
        "relmine: error: --method leiden needs --engine igraph"
    ]
    assert run.stdout == ""
    assert not out.exists()


@pytest.mark.parametrize("method", ["leiden", "cpm"])
def test_leiden_makes_the_passes_the_settings_ask_for(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, method: str
) -> None:
    """``leiden_iterations``: 2 passes by default, 1, or as many as improve (-1).

    On the sample the three give three different partitions, so each run is checked against
    the library asked for that many passes.
    """
    store = Store.open(sample_store)
    ties = tie_features(store)
    apart = excluded_parties(ties, store, store.settings)
    found = {}
    for passes in ("1", "2", "-1", None):
        if passes is None:
            monkeypatch.delenv("RELMINE_LEIDEN_ITERATIONS", raising=False)
        else:
            monkeypatch.setenv("RELMINE_LEIDEN_ITERATIONS", passes)
        out = tmp_path / f"{passes}.parquet"
        run = run_cli("communities", "--store", sample_store, "--method", method, "-o", out, "-q")
        assert run.exit_code == 0, run.stderr
        found[passes] = pl.read_parquet(out)
        expected = detect_communities(
            ties, method=method, apart=apart, leiden_iterations=int(passes or 2)
        ).frame
        assert_frame_equal(found[passes], expected)
    assert_frame_equal(found[None], found["2"])
    assert not found["1"].equals(found["2"]) and not found["1"].equals(found["-1"])
    monkeypatch.setenv("RELMINE_LEIDEN_ITERATIONS", "0")
    run = run_cli("communities", "--store", sample_store, "--method", method)
    assert run.exit_code == 1
    assert run.stderr.strip().splitlines() == [
        "relmine: error: setting leiden_iterations must be at least 1, or -1 (as many as improve)"
    ]


@pytest.mark.parametrize("resolution", ["0", "-0.5"])
def test_cli_rejects_a_resolution_that_is_not_positive(
    sample_store: Path, tmp_path: Path, resolution: str
) -> None:
    out = tmp_path / "never.parquet"
    run = run_cli("communities", "--store", sample_store, "--resolution", resolution, "-o", out)
    assert run.exit_code in (1, 2)
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--resolution must be a positive number" in lines[0]
    assert not out.exists()


def test_a_graph_command_starts_without_matplotlib(sample_store: Path, tmp_path: Path) -> None:
    # igraph would import matplotlib.pyplot as it is imported (about a second of every start);
    # the command line hides it for that moment and matplotlib stays importable for the report.
    out = tmp_path / "communities.parquet"
    argv = ["relmine", "communities", "--store", str(sample_store), "-q", "-o", str(out)]
    code = (
        "import runpy, sys\n"
        f"sys.argv = {argv!r}\n"
        "try:\n"
        "    runpy.run_module('relmine', run_name='__main__')\n"
        "except SystemExit as end:\n"
        "    assert not end.code, end.code\n"
        "assert 'igraph' in sys.modules and 'matplotlib' not in sys.modules\n"
        "import matplotlib.figure\n"
        "print('ok')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1] / "src")}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr
    assert pl.read_parquet(out).height > 0
    # as a library, igraph is imported as it comes, drawing included
    code = (
        "import sys\n"
        "from relmine.graph import load_igraph\n"
        "load_igraph()\n"
        "assert 'matplotlib' in sys.modules\n"
        "print('ok')\n"
    )
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600
    )
    assert run.returncode == 0 and run.stdout.strip() == "ok", run.stderr
