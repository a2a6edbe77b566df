"""``relmine households``: accuracy on the sample's truth, the output contract, and the rule that a
friend who calls every evening does not merge two families."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from conftest import SAMPLE, run_cli
from relmine.graph import excluded_parties, tie_features
from relmine.households import household_pairs, household_scores
from relmine.store import Store

TRUTH = pl.read_csv(SAMPLE / "truth" / "nodes.csv", infer_schema=False)
INSTITUTIONS = ("hotline", "employer", "utility", "group_company")


def _households(store: Path, tmp_path: Path, *extra: str) -> pl.DataFrame:
    out = tmp_path / "households.parquet"
    run = run_cli("households", "--store", store, "-o", out, *extra)
    assert run.exit_code == 0, run.stderr
    return pl.read_parquet(out)


@pytest.fixture(scope="module")
def sample_households(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    return _households(sample_store, tmp_path_factory.mktemp("households"))


def test_households_match_the_sample_truth(sample_households: pl.DataFrame) -> None:
    truth = household_pairs(TRUTH.filter(pl.col("household_id").is_not_null()))
    found = household_pairs(sample_households)
    hits = len(truth & found)
    precision, recall = hits / len(found), hits / len(truth)
    f1 = 2 * precision * recall / (precision + recall)
    print(f"household pairs: precision {precision:.3f} recall {recall:.3f} F1 {f1:.3f}")
    assert precision >= 0.85 and recall >= 0.85
    assert f1 >= 0.90


def test_hotlines_and_companies_are_in_no_household(sample_households: pl.DataFrame) -> None:
    placed = sample_households.join(TRUTH.select("node_id", "role"), on="node_id")
    institutions = placed.filter(pl.col("role").is_in(INSTITUTIONS))
    assert institutions.height == 59
    assert (institutions["household_size"] == 1).all()
    assert institutions["evidence"].str.contains("company in the register|hotline-like").all()


def test_output_contract(sample_store: Path, sample_households: pl.DataFrame) -> None:
    frame = sample_households
    assert frame.columns == [
        "node_id",
        "household_id",
        "household_size",
        "confidence",
        "evidence",
    ]
    assert frame["node_id"].is_unique().all()
    assert frame.height == 2105  # every node of the graph, singletons too
    sizes = frame.group_by("household_id").agg(n=pl.len(), size=pl.col("household_size").first())
    assert (sizes["n"] == sizes["size"]).all()
    order = (
        frame.group_by("household_id")
        .agg(size=pl.len(), first=pl.col("node_id").min())
        .sort("household_id")
    )
    expected = order.sort(["size", "first"], descending=[True, False])["household_id"]
    assert order["household_id"].to_list() == expected.to_list() == list(range(1, order.height + 1))
    assert frame["confidence"].is_between(0, 1).all()
    assert frame["evidence"].str.len_chars().min() > 0
    assert frame["household_size"].max() <= 8


def test_max_size_and_same_bytes(sample_store: Path, tmp_path: Path) -> None:
    small = _households(sample_store, tmp_path, "--max-size", "3")
    assert small["household_size"].max() == 3
    first, second = tmp_path / "1.parquet", tmp_path / "2.parquet"
    for out in (first, second):
        assert run_cli("households", "--store", sample_store, "-o", out, "-q").exit_code == 0
    assert first.read_bytes() == second.read_bytes()


def _two_families_and_best_friends(folder: Path) -> list[Path]:
    """Two families of three at home cells HA and HB; A1 and B1 are best friends who call
    each other every evening of four weeks, more than anyone in either family calls."""
    members = {f"{f}{i}": f"+42190500{ord(f)}{i:02d}" for f in "AB" for i in (1, 2, 3)}
    customers = folder / "customers.csv"
    customers.write_text(
        "customer_id,phone,kind\n" + "".join(f"{n},{p},person\n" for n, p in members.items())
    )
    start = dt.datetime(2026, 3, 2)
    rows = []
    for day in range(28):
        date = start + dt.timedelta(days=day)
        for fam, home in (("A", "HA"), ("B", "HB")):
            pairs = [(f"{fam}1", f"{fam}2"), (f"{fam}2", f"{fam}3"), (f"{fam}3", f"{fam}1")]
            caller, callee = pairs[day % 3]
            hour = 20 if day % 2 else 23
            at = date + dt.timedelta(hours=hour, minutes=day)
            rows.append(
                f"{members[caller]},{members[callee]},{at:%Y-%m-%d %H:%M:%S},90,voice,{home}"
            )
            if day % 7 == 5:  # a weekend message the other way
                at = date + dt.timedelta(hours=11)
                rows.append(
                    f"{members[callee]},{members[caller]},{at:%Y-%m-%d %H:%M:%S},0,sms,{home}"
                )
        a_calls = day % 2 == 0
        caller, callee, cell = ("A1", "B1", "HA") if a_calls else ("B1", "A1", "HB")
        at = date + dt.timedelta(hours=19, minutes=30)
        rows.append(f"{members[caller]},{members[callee]},{at:%Y-%m-%d %H:%M:%S},1200,voice,{cell}")
    calls = folder / "calls.csv"
    calls.write_text("caller,callee,start_time,duration_s,type,cell_id\n" + "\n".join(rows) + "\n")
    cells = folder / "cells.csv"
    cells.write_text("cell_id,lat,lon\nHA,48.14,17.10\nHB,48.72,21.26\n")
    return [customers, calls, cells]


def test_a_friend_who_calls_every_evening_does_not_merge_two_families(tmp_path: Path) -> None:
    store = tmp_path / "store"
    ingest = run_cli("ingest", *_two_families_and_best_friends(tmp_path), "--store", store)
    assert ingest.exit_code == 0, ingest.stderr
    ties = tmp_path / "ties.parquet"
    assert run_cli("graph", "--store", store, "-o", ties, "-q").exit_code == 0
    friends = pl.read_parquet(ties).filter((pl.col("a") == "A1") & (pl.col("b") == "B1"))
    family = pl.read_parquet(ties).filter((pl.col("a") == "A1") & (pl.col("b") == "A2"))
    assert friends["weight"].item() > family["weight"].item()  # the strongest tie of all
    # Scored alone, the friends' tie looks like a household tie; the grouping must not follow it.
    opened = Store.open(store)
    tie_table = tie_features(opened)
    scores = household_scores(tie_table, excluded_parties(tie_table, opened, opened.settings))
    friend_score = scores.filter((pl.col("a") == "A1") & (pl.col("b") == "B1"))["score"].item()
    assert friend_score >= opened.settings.household_threshold
    frame = _households(store, tmp_path)
    groups = sorted(sorted(g) for g in frame.group_by("household_id").agg("node_id")["node_id"])
    assert groups == [["A1", "A2", "A3"], ["B1", "B2", "B3"]]
    a1 = frame.filter(pl.col("node_id") == "A1").row(0, named=True)
    assert "shared home cell HA" in a1["evidence"]
    assert a1["confidence"] > 0.5


def test_a_tie_table_written_once_gives_the_same_households_and_communities(
    sample_store: Path, tmp_path: Path
) -> None:
    ties = tmp_path / "ties.parquet"
    assert run_cli("graph", "--store", sample_store, "-o", ties, "-q").exit_code == 0
    for command in ("households", "communities"):
        rebuilt, reused = tmp_path / f"{command}-1.parquet", tmp_path / f"{command}-2.parquet"
        assert run_cli(command, "--store", sample_store, "-o", rebuilt, "-q").exit_code == 0
        run = run_cli(command, "--store", sample_store, "--ties", ties, "-o", reused, "-q")
        assert run.exit_code == 0, run.stderr
        assert rebuilt.read_bytes() == reused.read_bytes()
    wrong = run_cli(
        "households", "--store", sample_store, "--ties", tmp_path / "households-1.parquet"
    )
    assert wrong.exit_code == 1
    assert "is not a relmine tie table" in wrong.stderr
    assert len(wrong.stderr.strip().splitlines()) == 1
