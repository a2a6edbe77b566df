"""``relmine path``: the strongest and the fewest-hops chain between two parties (CLI)."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import polars as pl
import pytest

from conftest import SAMPLE, run_cli, run_process

TRUTH = pl.read_csv(SAMPLE / "truth" / "nodes.csv", infer_schema=False)


def _hops(store: Path, a: str, b: str, *extra: str | Path) -> pl.DataFrame:
    run = run_cli("path", a, b, "--store", store, "--format", "ndjson", *extra)
    assert run.exit_code == 0, run.stderr
    if not run.stdout.strip():
        return pl.DataFrame()
    return pl.read_ndjson(run.stdout.encode())


def _chain(hops: pl.DataFrame, name: str) -> pl.DataFrame:
    return hops.filter(pl.col("chain") == name).sort("hop")


def _strength(chain: pl.DataFrame) -> float:
    return math.prod(chain["strength"].to_list())


def test_household_members_are_one_hop_apart(sample_store: Path) -> None:
    home = TRUTH.filter(pl.col("node_id") == "C10000971")["household_id"]
    assert TRUTH.filter(pl.col("node_id") == "C68788702")["household_id"].equals(home)
    hops = _hops(sample_store, "C10000971", "C68788702")
    for name in ("strongest", "fewest hops"):
        chain = _chain(hops, name)
        assert chain.height == 1
        assert chain.row(0, named=True)["from"] == "C10000971"
        assert chain.row(0, named=True)["to"] == "C68788702"
        assert "shared home cell" in chain["evidence"][0]
        assert 0 < chain["strength"][0] <= 1


def test_strongest_is_never_weaker_than_fewest_hops(sample_store: Path) -> None:
    persons = TRUTH.filter(pl.col("role") == "person").sort("node_id")
    pairs = list(zip(persons["node_id"][:40:4], persons["node_id"][-40::4], strict=True))
    longer = 0
    for a, b in pairs:
        hops = _hops(sample_store, a, b)
        strongest, fewest = _chain(hops, "strongest"), _chain(hops, "fewest hops")
        assert fewest.height >= 1
        assert strongest.height >= fewest.height
        assert _strength(strongest) >= _strength(fewest) * (1 - 1e-12)
        # a chain: each hop starts where the last ended, from a to b
        for chain in (strongest, fewest):
            assert chain["from"][0] == a and chain["to"][-1] == b
            assert chain["from"][1:].to_list() == chain["to"][:-1].to_list()
        longer += strongest.height > fewest.height
    assert longer > 0  # the two answers do differ on the sample


def test_chains_pass_through_people_unless_asked(sample_store: Path) -> None:
    institutions = pl.col("role").is_in(["hotline", "employer", "utility", "group_company"])
    companies = set(TRUTH.filter(institutions | (pl.col("kind") == "company"))["node_id"])
    # two customers of one employer (truth), in different households
    people = _hops(sample_store, "C10000971", "C27734446")
    inner = set(people["to"]) - {"C27734446"}
    assert inner and not inner & companies
    run = run_cli("path", "C10000971", "C27734446", "--store", sample_store)
    assert "not passed through" in run.stdout
    via = _hops(sample_store, "C10000971", "C27734446", "--via-companies")
    for name in ("strongest", "fewest hops"):
        chain = _chain(via, name)
        assert chain["to"].to_list() == ["C94326954", "C27734446"]
        assert TRUTH.filter(pl.col("node_id") == "C94326954")["role"].item() == "employer"
    assert _strength(_chain(via, "strongest")) >= _strength(_chain(people, "strongest"))


def _write_calls(path: Path, pairs: list[tuple[str, str, int]]) -> None:
    """``n`` calls each way on ``n`` days for every ``(a, b, n)``, plus one lone call."""
    start = dt.datetime(2026, 1, 5, 19, 0)
    rows = [
        f"{x},{y},{start + dt.timedelta(days=day, minutes=10 * k):%Y-%m-%d %H:%M:%S},60,voice,"
        for a, b, n in pairs
        for day in range(n)
        for k, (x, y) in enumerate(((a, b), (b, a)))
    ]
    path.write_text("caller,callee,start_time,duration_s,type,cell_id\n" + "\n".join(rows) + "\n")


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A -B -C -D strong, A -E -D medium, A -D weak (one call one way); F -G apart."""
    folder = tmp_path_factory.mktemp("paths")
    phone = {name: f"0905 100 {i:03d}" for i, name in enumerate("ABCDEFG", start=1)}
    calls = folder / "calls.csv"
    strong = [("A", "B", 20), ("B", "C", 20), ("C", "D", 20), ("A", "E", 5), ("E", "D", 5)]
    _write_calls(calls, [(phone[a], phone[b], n) for a, b, n in [*strong, ("F", "G", 3)]])
    with calls.open("a") as fh:
        fh.write(f"{phone['A']},{phone['D']},2026-02-01 12:00:00,30,voice,\n")
    store = folder / "store"
    run = run_cli("ingest", calls, "--store", store, "-q")
    assert run.exit_code == 0, run.stderr
    return store


def _names(chain: pl.DataFrame) -> str:
    """The chain as the letters of its parties (+421905100001 is A)."""
    numbers = [*chain["from"].to_list(), chain["to"][-1]]
    return "".join("ABCDEFG"[int(n[-3:]) - 1] for n in numbers)


def test_strongest_fewest_and_max_hops(small_world: Path) -> None:
    hops = _hops(small_world, "0905100001", "+421 905 100 004")
    assert _names(_chain(hops, "strongest")) == "ABCD"
    assert _names(_chain(hops, "fewest hops")) == "AD"
    assert _chain(hops, "strongest")["strength"].to_list() == pytest.approx([1.0, 1.0, 1.0])
    two = _hops(small_world, "0905100001", "0905100004", "--max-hops", "2")
    assert _names(_chain(two, "strongest")) == "AED"
    assert _strength(_chain(two, "strongest")) < _strength(_chain(hops, "strongest"))
    assert _names(_chain(two, "fewest hops")) == "AD"


def test_not_connected_is_an_answer(small_world: Path, tmp_path: Path) -> None:
    run = run_process("path", "0905100001", "0905100007", "--store", small_world)
    assert run.returncode == 0, run.stderr
    assert "not connected" in run.stdout
    out = tmp_path / "hops.parquet"
    run = run_process("path", "0905100001", "0905100007", "--store", small_world, "-o", out)
    assert run.returncode == 0
    assert "not connected" in run.stderr
    written = pl.read_parquet(out)
    assert written.height == 0 and written.columns[:4] == ["chain", "hop", "from", "to"]


def test_no_chain_within_max_hops(small_world: Path) -> None:
    run = run_cli("path", "0905100002", "0905100005", "--store", small_world, "--max-hops", "1")
    assert run.exit_code == 0, run.stderr
    assert "no chain within 1 hops" in run.stdout


def test_output_file_and_errors(small_world: Path, tmp_path: Path) -> None:
    out = tmp_path / "hops.csv"
    run = run_cli("path", "0905100001", "0905100004", "--store", small_world, "-o", out)
    assert run.exit_code == 0, run.stderr
    written = pl.read_csv(out)
    assert written["chain"].to_list() == ["strongest"] * 3 + ["fewest hops"]
    again = tmp_path / "again.csv"
    rerun = run_cli("path", "0905100001", "0905100004", "--store", small_world, "-o", again)
    assert rerun.exit_code == 0
    assert again.read_bytes() == out.read_bytes()
    assert written["evidence"].str.contains("calls").all()

    unknown = run_process("path", "0905100001", "0905 999 999", "--store", small_world)
    assert unknown.returncode == 1
    assert "'0905 999 999' is no customer id, phone number or account" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    same = run_process("path", "0905100001", "+421905100001", "--store", small_world)
    assert same.returncode == 1 and "the same node" in same.stderr
