"""``relmine graph``: the tie table, its features and weight, windows, channels and exports."""

from __future__ import annotations

import io
import os
from pathlib import Path

import networkx as nx
import numpy as np
import polars as pl
import pyarrow.parquet as pq
import pytest

from conftest import SAMPLE, run_cli, run_process, status
from relmine.graph import Vertices, excluded_parties, tie_features, to_igraph, to_networkx
from relmine.output import neutralise_formulas
from relmine.store import Store

# A tiny world: C1 has two SIMs and an account, C2 one SIM and an account; a "hotline" number is
# called once by each of 60 strangers and by C1, and never calls back.
C1_SIM1, C1_SIM2, C2_SIM = "+421905000001", "+421905000002", "+421905000003"
HOTLINE = "+421911000000"


def _tiny_world(folder: Path) -> list[Path]:
    customers = folder / "customers.csv"
    customers.write_text(
        "customer_id,phone,account,name,kind\n"
        f"C1,{C1_SIM1},,Peter,person\n"
        "C1,0905 000 002,,Peter,person\n"
        "C1,,SK3112000000198742637541,Peter,person\n"
        f"C2,{C2_SIM},SK0809000000000123123123,Jana,person\n"
    )
    rows = [
        # 22:30 UTC is 23:30 in Bratislava (CET): a night call, Monday.
        f"{C1_SIM1},{C2_SIM},2026-03-02T22:30:00Z,60,voice,X1",
        # Saturday morning, local time: a weekend message from C2 to C1's second SIM.
        f"{C2_SIM},{C1_SIM2},2026-03-07 10:00:00,0,sms,X2",
        # C1 calling their own second SIM is not a relationship.
        f"{C1_SIM1},{C1_SIM2},2026-03-03 12:00:00,30,voice,X1",
        f"{C1_SIM1},{HOTLINE},2026-03-03 10:00:00,120,voice,X1",
    ]
    rows += [
        f"+4219060000{i:02d},{HOTLINE},2026-03-03 10:{i:02d}:00,60,voice,X3" for i in range(60)
    ]
    calls = folder / "calls.csv"
    calls.write_text("caller,callee,start_time,duration_s,type,cell_id\n" + "\n".join(rows) + "\n")
    bank = folder / "bank.csv"
    # One transfer C1 -> C2, booked on both statements, and a card payment.
    bank.write_text(
        "account,counterparty,amount,currency,booked_at,description\n"
        "SK31 1200 0000 1987 4263 7541,SK0809000000000123123123,-100.50,EUR,2026-03-01,rent\n"
        "sk0809000000000123123123,SK3112000000198742637541,100.50,EUR,2026-03-01,rent\n"
        "SK3112000000198742637541,,-20.00,EUR,2026-03-02,card payment\n"
    )
    cells = folder / "cells.csv"
    cells.write_text("cell_id,lat,lon\nX1,48.1486,17.1077\nX2,48.1500,17.1100\nX3,48.7,21.2\n")
    return [customers, calls, bank, cells]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    store = tmp_path / "store"
    run = run_cli("ingest", *_tiny_world(tmp_path), "--store", store)
    assert run.exit_code == 0, run.stderr
    return store


def _graph(store: Path, tmp_path: Path, *extra: str) -> pl.DataFrame:
    out = tmp_path / "ties.parquet"
    run = run_cli("graph", "--store", store, "-o", out, *extra)
    assert run.exit_code == 0, run.stderr
    return pl.read_parquet(out)


def _pair(ties: pl.DataFrame, a: str, b: str) -> dict:
    a, b = sorted((a, b))
    rows = ties.filter((pl.col("a") == a) & (pl.col("b") == b)).to_dicts()
    assert len(rows) == 1, f"no single tie {a}-{b}"
    return rows[0]


def test_features_of_a_tie_across_sims_channels_and_local_time(tiny: Path, tmp_path: Path) -> None:
    ties = _graph(tiny, tmp_path)
    assert (ties["a"] < ties["b"]).all()
    assert not ties.filter(pl.col("a") == pl.col("b")).height
    c12 = _pair(ties, "C1", "C2")
    # one call + one message (to C1's other SIM) + one transfer booked on both statements
    assert (c12["voice_n"], c12["sms_n"], c12["bank_n"]) == (1, 1, 1)
    assert c12["voice_s"] == 60
    assert c12["bank_amount"] == pytest.approx(100.5)
    assert (c12["events_ab"], c12["events_ba"]) == (2, 1)
    assert c12["reciprocity"] == pytest.approx(0.5)
    assert c12["night_share"] == pytest.approx(0.5)  # the 22:30Z call is 23:30 local
    assert c12["weekend_share"] == pytest.approx(0.5)
    assert c12["active_days"] == 3
    assert c12["weight"] > 0


def test_a_hotline_is_nobodys_strong_tie(tiny: Path, tmp_path: Path) -> None:
    ties = _graph(tiny, tmp_path)
    c12 = _pair(ties, "C1", "C2")
    hotline = _pair(ties, "C1", HOTLINE)
    assert hotline["weight"] < c12["weight"] / 2
    assert hotline["degree_a"] == 61  # "+421..." sorts before "C1"
    store = Store.open(tiny)
    excluded = excluded_parties(tie_features(store), store, store.settings)
    assert excluded["node_id"].to_list() == [HOTLINE]
    assert "hotline-like: 61 contacts, 0% contacted back" in excluded["reason"].to_list()


def test_window_and_channels_restrict_the_events(tiny: Path, tmp_path: Path) -> None:
    before_saturday = _pair(_graph(tiny, tmp_path, "--until", "2026-03-05"), "C1", "C2")
    assert (before_saturday["voice_n"], before_saturday["sms_n"]) == (1, 0)
    voice_only = _graph(tiny, tmp_path, "--channels", "voice")
    c12 = _pair(voice_only, "C1", "C2")
    assert (c12["voice_n"], c12["sms_n"], c12["bank_n"]) == (1, 0, 0)
    empty = run_cli("graph", "--store", tiny, "--since", "2027-01-01")
    assert empty.exit_code == 1
    assert "no calls, messages or transfers" in empty.stderr
    bad = run_cli("graph", "--store", tiny, "--channels", "fax")
    assert bad.exit_code == 1 and "unknown channel fax" in bad.stderr


def test_sample_graph_has_every_node_and_one_row_per_pair(
    sample_store: Path, tmp_path: Path
) -> None:
    ties = _graph(sample_store, tmp_path)
    nodes = pl.concat([ties["a"], ties["b"]]).n_unique()
    assert nodes == status(sample_store)["nodes"]
    assert ties.select(pl.struct("a", "b").is_unique().all()).item()
    assert ties["weight"].min() > 0
    assert ties.columns[:3] == ["a", "b", "weight"]
    for share in ("night_share", "evening_share", "weekend_share", "work_share"):
        assert ties[share].drop_nulls().is_between(0, 1).all()
    # the register resolves identifiers: no tie touches a phone or account of a customer
    registered = pl.read_csv(SAMPLE / "customers.csv", infer_schema=False)
    assert not ties.filter(pl.col("a").is_in(registered["phone"].drop_nulls().implode())).height


def test_same_store_gives_the_same_bytes(sample_store: Path, tmp_path: Path) -> None:
    first, second = tmp_path / "1.parquet", tmp_path / "2.parquet"
    for out in (first, second):
        assert run_cli("graph", "--store", sample_store, "-o", out, "-q").exit_code == 0
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_exports_for_gephi(tiny: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"ties.{fmt}"
    run = run_cli("graph", "--store", tiny, "-o", out)
    assert run.exit_code == 0, run.stderr
    graph = nx.read_graphml(out) if fmt == "graphml" else nx.read_gexf(out)
    ties = _graph(tiny, tmp_path)
    assert graph.number_of_edges() == ties.height
    assert float(graph.edges["C1", "C2"]["weight"]) == pytest.approx(
        _pair(ties, "C1", "C2")["weight"]
    )


@pytest.mark.parametrize("fmt", ["graphml", "gexf"])
def test_exports_read_back_as_the_tie_graph(sample_store: Path, tmp_path: Path, fmt: str) -> None:
    """Every tie and every feature, with its type, as ``to_networkx`` has them; the same bytes
    twice (no date in the file). Written a slice at a time, not through NetworkX's writers."""
    ties = _graph(sample_store, tmp_path, "-q")
    files = [tmp_path / f"1.{fmt}", tmp_path / f"2.{fmt}"]
    for out in files:
        run = run_cli("graph", "--store", sample_store, "-o", out, "-q")
        assert run.exit_code == 0, run.stderr
    assert files[0].read_bytes() == files[1].read_bytes()
    graph = nx.read_graphml(files[0]) if fmt == "graphml" else nx.read_gexf(files[0])
    expected = to_networkx(ties)
    assert sorted(graph.nodes) == sorted(expected.nodes)
    assert graph.number_of_edges() == expected.number_of_edges() == ties.height
    for a, b, features in expected.edges(data=True):
        read = {k: v for k, v in graph.edges[a, b].items() if k not in ("id", "label")}
        assert read == features, (a, b)
        assert {k: type(v) for k, v in read.items()} == {k: type(v) for k, v in features.items()}


def test_exports_escape_what_xml_would_misread(tmp_path: Path) -> None:
    """Register ids are free text: ``&``, ``<``, ``>`` and quotes in them stay text."""
    odd = ['A&B "one"', "<C2>"]
    (tmp_path / "customers.csv").write_text(
        "customer_id,phone,name,kind\n"
        f'"{odd[0].replace(chr(34), chr(34) * 2)}",+421905000001,X,person\n'
        f"{odd[1]},+421905000002,Y,person\n"
    )
    (tmp_path / "calls.csv").write_text(
        "caller,callee,start_time,duration_s,type\n"
        "+421905000001,+421905000002,2026-03-02 18:00:00,60,voice\n"
        "+421905000002,+421905000001,2026-03-03 18:00:00,60,voice\n"
    )
    store = tmp_path / "store"
    files = [tmp_path / "customers.csv", tmp_path / "calls.csv"]
    assert run_cli("ingest", *files, "--store", store, "-q").exit_code == 0
    for fmt in ("graphml", "gexf"):
        out = tmp_path / f"odd.{fmt}"
        run = run_cli("graph", "--store", store, "-o", out, "-q")
        assert run.exit_code == 0, run.stderr
        graph = nx.read_graphml(out) if fmt == "graphml" else nx.read_gexf(out)
        assert sorted(graph.nodes) == sorted(odd)
        assert graph.has_edge(*odd)


@pytest.mark.parametrize("fmt", ["json", "ndjson"])
def test_json_outputs_written_in_slices_are_one_encoding_of_the_table(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    """JSON and NDJSON are encoded some rows at a time (their text is several times the
    table); the file is byte for byte what encoding the whole table at once gives."""
    from relmine import output

    ties = _graph(sample_store, tmp_path, "-q")
    monkeypatch.setattr(output, "JSON_SLICE", 1_000)  # the sample's 10,857 ties: 11 slices
    out = tmp_path / f"ties.{fmt}"
    run = run_cli("graph", "--store", sample_store, "-o", out, "-q")
    assert run.exit_code == 0, run.stderr
    whole = io.BytesIO()
    (ties.write_json if fmt == "json" else ties.write_ndjson)(whole)
    assert ties.height > 10_000 and out.read_bytes() == whole.getvalue()
    piped = run_cli("graph", "--store", sample_store, "-o", "-", "--format", fmt, "-q")
    assert piped.exit_code == 0 and piped.stdout == whole.getvalue().decode()


def test_parquet_to_stdout_is_readable_from_a_pipe(tiny: Path) -> None:
    proc = run_process("graph", "--store", tiny, "-o", "-", text=False)
    assert proc.returncode == 0, proc.stderr
    table = pq.read_table(io.BytesIO(proc.stdout))
    assert table.num_rows == 62
    assert b"graph" in proc.stderr  # the summary goes to stderr, never into the data


def test_csv_output_neutralises_formulas_but_keeps_phone_numbers() -> None:
    frame = pl.DataFrame({"x": ["=HYPERLINK(1)", "+421905000001", "@SUM(A1)", "-1.5", "ok", None]})
    assert neutralise_formulas(frame)["x"].to_list() == [
        "'=HYPERLINK(1)",
        "+421905000001",
        "'@SUM(A1)",
        "-1.5",
        "ok",
        None,
    ]


def test_library_graphs_match_the_tie_table(tiny: Path) -> None:
    ties = tie_features(Store.open(tiny))
    graph, names = to_igraph(ties)
    assert graph.ecount() == ties.height and graph.vcount() == names.len()
    assert names.to_list() == sorted(names.to_list())
    nxg = to_networkx(ties)
    assert nxg.number_of_edges() == ties.height
    assert nxg.edges["C1", "C2"]["voice_n"] == 1


def test_tie_cache_gives_the_same_table_and_follows_the_store(
    tiny: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cache = tiny / "cache"

    def graph_bytes(name: str, *extra: str) -> bytes:
        out = tmp_path / name
        run = run_cli("graph", "--store", tiny, "-o", out, "-q", *extra)
        assert run.exit_code == 0, run.stderr
        return out.read_bytes()

    built = graph_bytes("built.parquet")
    assert len(list(cache.glob("ties-*.parquet"))) == 1
    assert graph_bytes("cached.parquet") == built
    # the cached table is copied to the output: a file of the user's (the umask's permissions,
    # not the store's owner-only ones), and the same bytes down a pipe
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "cached.parquet").stat().st_mode & 0o777 == 0o666 & ~umask
    assert next(cache.glob("ties-*.parquet")).stat().st_mode & 0o777 == 0o600
    piped = run_process("graph", "--store", tiny, "-o", "-", "-q", text=False)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == built
    monkeypatch.setenv("RELMINE_TIE_CACHE", "false")
    assert graph_bytes("uncached.parquet") == built
    monkeypatch.delenv("RELMINE_TIE_CACHE")
    # a setting the ties do not depend on keeps the table; one they depend on makes another
    monkeypatch.setenv("RELMINE_HOUSEHOLD_MAX_SIZE", "5")
    assert graph_bytes("households-setting.parquet") == built
    assert len(list(cache.glob("ties-*.parquet"))) == 1
    monkeypatch.setenv("RELMINE_TIE_ONE_WAY", "0.25")
    assert graph_bytes("tie-setting.parquet") != built
    assert len(list(cache.glob("ties-*.parquet"))) == 2
    monkeypatch.delenv("RELMINE_TIE_ONE_WAY")
    monkeypatch.delenv("RELMINE_HOUSEHOLD_MAX_SIZE")

    # another window is another table, cached beside the others
    assert graph_bytes("window.parquet", "--since", "2026-03-03") != built
    assert len(list(cache.glob("ties-*.parquet"))) == 3

    # a damaged cache file is rebuilt, not trusted
    for path in cache.glob("ties-*.parquet"):
        path.write_bytes(b"PAR1 not really")
    assert graph_bytes("rebuilt.parquet") == built

    # new data in the store: the cached table is not used for it
    more = tmp_path / "more.csv"
    more.write_text(
        "caller,callee,start_time,duration_s,type,cell_id\n"
        f"{C2_SIM},+421905999999,2026-03-09 20:00:00,42,voice,X2\n"
    )
    assert run_cli("ingest", more, "--store", tiny, "-q").exit_code == 0
    ties = pl.read_parquet(io.BytesIO(graph_bytes("more.parquet")))
    assert _pair(ties, "C2", "+421905999999")["voice_s"] == 42


def test_each_command_reads_only_its_tie_columns_and_gives_what_the_whole_table_gives(
    sample_store: Path, tmp_path: Path
) -> None:
    """households, communities, influencers and domino read only their ``TIE_COLUMNS_READ``
    from the cached tie table; their outputs equal the library's on the whole table."""
    from relmine import communities, households, influence
    from relmine.graph import EXCLUSION_COLUMNS, load_ties

    store = Store.open(sample_store)
    whole = tie_features(store)
    narrow = load_ties(store, columns=influence.TIE_COLUMNS_READ)
    assert narrow.columns == list(influence.TIE_COLUMNS_READ)
    assert narrow.equals(whole.select(influence.TIE_COLUMNS_READ))

    def cli(*args: str | Path) -> pl.DataFrame:
        out = tmp_path / f"{args[0]}.parquet"
        run = run_cli(*args, "--store", sample_store, "-o", out, "-q")
        assert run.exit_code == 0, run.stderr
        return pl.read_parquet(out)

    expected = households.detect_households(whole, store)
    assert cli("households").equals(expected)
    apart = excluded_parties(whole, store, store.settings)
    expected = communities.detect_communities(whole, seed=0, apart=apart).frame
    stats = tmp_path / "stats.parquet"
    assert cli("communities", "--stats", stats).equals(expected)
    assert pl.read_parquet(stats).equals(communities.community_stats(whole, expected))
    ranked = influence.rank_influencers(whole, store, seed=0).frame
    assert cli("influencers").equals(ranked)
    hub = ranked["node_id"][0]
    assert cli("domino", hub).equals(influence.what_if(whole, store, hub, seed=0).frame)
    # the columns each reads are all it needs: the library runs on them alone
    households.detect_households(whole.select(households.TIE_COLUMNS_READ), store)
    communities.detect_communities(whole.select(*communities.TIE_COLUMNS_READ), seed=0, apart=apart)
    assert set(EXCLUSION_COLUMNS) <= set(households.TIE_COLUMNS_READ)
    assert set(EXCLUSION_COLUMNS) <= set(influence.TIE_COLUMNS_READ)


def test_home_cells_shared_rest_cells_and_regular_flows_of_a_tie(tmp_path: Path) -> None:
    """P1 and P2 call each other at night from one cell, and P2 pays P1 the same amount on the
    1st of five months; P3 only ever calls in working hours, so its rest-time cells are
    unknown."""
    p1, p2, p3 = "+421905000011", "+421905000012", "+421905000013"
    acc1, acc2 = "SK3112000000198742637541", "SK0809000000000123123123"
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,phone,account,name,kind\n"
        f"P1,{p1},{acc1},Eva,person\nP2,{p2},{acc2},Jan,person\nP3,{p3},,Ola,person\n"
    )
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "caller,callee,start_time,duration_s,type,cell_id\n"
        f"{p1},{p2},2026-03-02 23:00:00,60,voice,H1\n"
        f"{p2},{p1},2026-03-03 23:30:00,60,voice,H1\n"
        f"{p1},{p3},2026-03-03 11:00:00,60,voice,W1\n"
        f"{p3},{p1},2026-03-04 11:00:00,60,voice,W2\n"
    )
    bank = tmp_path / "bank.csv"
    bank.write_text(
        "account,counterparty,amount,currency,booked_at,description\n"
        + "".join(f"{acc2},{acc1},-300.00,EUR,2026-0{m}-01,allowance\n" for m in range(1, 6))
    )
    store = tmp_path / "store"
    assert run_cli("ingest", customers, calls, bank, "--store", store).exit_code == 0
    ties = _graph(store, tmp_path)
    p12 = _pair(ties, "P1", "P2")
    assert (p12["home_a"], p12["home_b"], p12["same_home_cell"]) == ("H1", "H1", True)
    assert p12["shared_rest_cells"] == 1
    assert p12["bank_regular_ab"] is None  # P1 -> P2: nothing
    assert p12["bank_regular_ba"] == pytest.approx(300.0)  # P2 -> P1 every month
    p13 = _pair(ties, "P1", "P3")
    assert (p13["home_a"], p13["home_b"], p13["same_home_cell"]) == ("H1", None, None)
    assert p13["shared_rest_cells"] is None  # P3's rest-time cells are unknown
    assert p13["bank_regular_ab"] is None and p13["bank_regular_ba"] is None


def test_a_subset_of_ties_is_numbered_as_if_numbered_afresh() -> None:
    """``Vertices.subset``: what ``communities`` numbers the ties it keeps with."""
    rng = np.random.default_rng(11)
    ends = rng.integers(0, 400, (3000, 2))
    ties = pl.DataFrame({"a": [f"+4219{x:08d}" for x in ends[:, 0]]}).with_columns(
        b=pl.Series([f"+4219{x:08d}" for x in ends[:, 1]])
    )
    whole = Vertices.of(ties)
    assert whole.names.is_sorted() and whole.names.n_unique() == whole.names.len()
    assert (whole.names.gather(whole.a) == ties["a"]).all()
    for keep in (
        rng.random(ties.height) < 0.1,
        rng.random(ties.height) < 0.9,
        np.ones(ties.height, dtype=bool),
        np.zeros(ties.height, dtype=bool),
    ):
        afresh = Vertices.of(ties.filter(pl.Series(keep)))
        subset = whole.subset(keep)
        assert subset.names.to_list() == afresh.names.to_list()
        assert np.array_equal(subset.a, afresh.a) and np.array_equal(subset.b, afresh.b)
