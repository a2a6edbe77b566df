"""``relmine ingest --kind bandicoot`` on the bandicoot toolbox's own sample directories."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from conftest import THIRD_PARTY, run_cli, status
from relmine.store import Store

BANDICOOT = THIRD_PARTY / "bandicoot"
NETWORK = BANDICOOT / "network"
DEMO = BANDICOOT / "demo"


def _calls_in(directory: Path, names: list[str] | None = None) -> set[tuple]:
    """Every distinct call of the subscriber files, read independently of relmine.

    A record is (caller, callee, datetime, interaction, duration): ``out`` in the caller's file,
    ``in`` in the callee's, so a call that both files hold gives one tuple.
    """
    calls = set()
    for path in sorted(directory.glob("*.csv")):
        if path.name == "antennas.csv" or (names is not None and path.stem not in names):
            continue
        for row in pl.read_csv(path, infer_schema=False).iter_rows(named=True):
            me, them = path.stem, row["correspondent_id"]
            caller, callee = (me, them) if row["direction"] == "out" else (them, me)
            calls.add((caller, callee, row["datetime"], row["interaction"], row["call_duration"]))
    return calls


def _ingest(store: Path, *paths: Path) -> dict:
    run = run_cli("ingest", *paths, "--kind", "bandicoot", "--store", store)
    assert run.exit_code == 0, run.stderr
    return status(store)


def test_mirrored_calls_count_once(store: Path) -> None:
    st = _ingest(store, NETWORK)
    expected = _calls_in(NETWORK)
    lines = sum(
        len(p.read_text().splitlines()) - 1 for p in NETWORK.glob("*.csv") if p.stem != "antennas"
    )
    assert len(expected) < lines  # the sample does hold mirrored records
    cdr = Store.open(store).scan("cdr").collect()
    assert cdr.height == len(expected)
    stored = set(
        cdr.select(
            "caller",
            "callee",
            pl.col("ts_local").dt.strftime("%Y-%m-%d %H:%M:%S"),
            pl.col("type").cast(pl.String).replace({"voice": "call", "sms": "text"}),
            pl.col("duration_s").cast(pl.String),
        ).rows()
    )
    assert stored == expected
    files = st["files"]
    assert {Path(f["path"]).name for f in files} == {"A.csv", "B.csv", "F.csv", "H.csv", "ego.csv"}
    for f in files:
        assert f["kind"] == "bandicoot"
        assert f["rows"] == f["accepted"] + f["rejected"] + f["duplicates"]
    assert sum(f["rows"] for f in files) == lines
    assert sum(f["accepted"] for f in files) == len(expected)
    assert st["events"]["voice"] + st["events"]["sms"] == len(expected)


def test_the_callers_cell_is_kept(store: Path) -> None:
    _ingest(store, NETWORK)
    cdr = Store.open(store).scan("cdr").collect()
    # ego.csv: "call,out,A,2014-07-07 22:13:30,122,1"; A.csv has it as "in" with antenna 13084.
    call = cdr.filter(
        pl.col("caller") == "ego", pl.col("callee") == "A", pl.col("duration_s") == 122
    )
    assert call["cell_id"].to_list() == ["1"]
    assert "13084" not in cdr.filter(pl.col("caller") == "ego")["cell_id"].to_list()


def test_order_of_runs_does_not_change_the_calls(tmp_path: Path) -> None:
    together = _ingest(tmp_path / "one", NETWORK)
    files = sorted(NETWORK.glob("*.csv"))
    for path in files:  # one file per run, the callee's files before ego's
        _ingest(tmp_path / "apart", path)
    for path in reversed(files):
        _ingest(tmp_path / "reverse", path)
    for name in ("apart", "reverse"):
        assert status(tmp_path / name)["events"] == together["events"]


def test_demo_directory_with_antennas(store: Path) -> None:
    st = _ingest(store, DEMO)
    kinds = {Path(f["path"]).name: f["kind"] for f in st["files"]}
    assert kinds == {"A.csv": "bandicoot", "antennas.csv": "cells", "ego.csv": "bandicoot"}
    antennas = pl.read_csv(DEMO / "antennas.csv")
    assert st["cells"] == antennas.height
    assert st["events"]["voice"] + st["events"]["sms"] == len(_calls_in(DEMO))
    cells = Store.open(store).scan("cells").collect()
    assert sorted(cells["lat"].to_list()) == sorted(antennas["latitude"].to_list())


def test_a_file_without_direction_is_not_bandicoot(tmp_path: Path) -> None:
    path = tmp_path / "ego.csv"
    path.write_text("interaction,correspondent_id,datetime\ncall,A,2014-03-02 07:13:30\n")
    run = run_cli("ingest", path, "--kind", "bandicoot", "--store", tmp_path / "s")
    assert run.exit_code == 1
    assert "no `direction` column" in run.stderr


def test_auto_kind_points_to_bandicoot(tmp_path: Path) -> None:
    run = run_cli("ingest", NETWORK / "ego.csv", "--store", tmp_path / "s")
    assert run.exit_code == 1
    assert "pass --kind bandicoot" in run.stderr
