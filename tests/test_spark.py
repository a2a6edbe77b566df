"""``--engine spark``: the Spark engine gives the same tie table as the Polars engine.

The Spark tests need PySpark (``pip install 'relmine[spark]'``) and Java 17; they skip, saying
which is missing, without them. One small local Spark session serves the whole module.
"""

from __future__ import annotations

import base64
import shutil
import sys
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from conftest import SAMPLE, run_cli
from relmine.graph import Window, tie_features
from relmine.store import Store

_JAVA = shutil.which("java")
try:
    import pyspark  # noqa: F401

    _PYSPARK = True
except ImportError:
    _PYSPARK = False

# PySpark 4 warns that it is not tested with pandas 3; relmine hands it Arrow data only
pytestmark = pytest.mark.filterwarnings("ignore:PySpark does not yet:FutureWarning")

needs_spark = pytest.mark.skipif(
    not (_JAVA and _PYSPARK),
    reason="the Spark engine needs Java 17 and PySpark (pip install 'relmine[spark]'): "
    + ("no `java` on PATH" if not _JAVA else "PySpark is not installed"),
)


@pytest.fixture(scope="module")
def spark():
    """One small local session for the module: 2 cores, few partitions, no UI, quiet logs."""
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("relmine-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture
def own_store(sample_store: Path, tmp_path: Path) -> Path:
    """A copy of the sample store that a test may write its tie cache into."""
    copy = tmp_path / "store"
    shutil.copytree(sample_store, copy, ignore=shutil.ignore_patterns("cache", ".lock"))
    return copy


def assert_same_ties(polars_ties: pl.DataFrame, spark_ties: pl.DataFrame) -> None:
    """Same columns and types, same rows in the same order, integers exact, floats to 1e-9."""
    assert spark_ties.schema == polars_ties.schema
    assert spark_ties.height == polars_ties.height > 0
    assert_frame_equal(spark_ties.select("a", "b"), polars_ties.select("a", "b"))
    assert_frame_equal(spark_ties, polars_ties, check_exact=False, rel_tol=1e-9, abs_tol=0.0)
    exact = [c for c, t in polars_ties.schema.items() if not t.is_float()]
    assert_frame_equal(spark_ties.select(exact), polars_ties.select(exact), check_exact=True)


@needs_spark
def test_spark_graph_equals_polars_graph_through_the_cli(
    spark, own_store: Path, tmp_path: Path
) -> None:
    polars_file, spark_file = tmp_path / "polars.parquet", tmp_path / "spark.parquet"
    run = run_cli("graph", "--store", own_store, "-o", polars_file, "-q")
    assert run.exit_code == 0, run.stderr
    shutil.rmtree(own_store / "cache")
    run = run_cli("graph", "--store", own_store, "--engine", "spark", "-o", spark_file, "-q")
    assert run.exit_code == 0, run.stderr
    polars_ties, spark_ties = pl.read_parquet(polars_file), pl.read_parquet(spark_file)
    assert_same_ties(polars_ties, spark_ties)
    # every feature is there, with real values: transfers, homes, shared cells, regular flows
    assert spark_ties["bank_n"].sum() > 0 and spark_ties["voice_n"].sum() > 0
    assert spark_ties["same_home_cell"].sum() > 0
    assert spark_ties["bank_regular_ab"].is_not_null().sum() > 0
    assert spark_ties["shared_rest_cells"].max() > 0

    # the Spark table went into the tie cache, where the graph stages find it unchanged
    cached = list((own_store / "cache").glob("ties-*.parquet"))
    assert len(cached) == 1
    assert_frame_equal(pl.read_parquet(cached[0]), spark_ties)
    on_spark = tmp_path / "spark-communities.csv"
    run = run_cli("communities", "--store", own_store, "-o", on_spark, "-q")
    assert run.exit_code == 0, run.stderr
    assert list((own_store / "cache").glob("ties-*.parquet")) == cached  # read, not rebuilt
    on_polars = tmp_path / "polars-communities.csv"
    run = run_cli("communities", "--ties", polars_file, "--store", own_store, "-o", on_polars)
    assert run.exit_code == 0, run.stderr
    assert on_spark.read_bytes() == on_polars.read_bytes()


@needs_spark
def test_spark_ties_equal_polars_ties_in_a_window_and_for_some_channels(
    spark, sample_store: Path
) -> None:
    from relmine.graph import parse_window
    from relmine.spark import spark_tie_features

    store = Store.open(sample_store)
    window = parse_window("2026-02-01", "2026-03-15")
    channels = ("voice", "bank")  # messages left out
    expected = tie_features(store, window=window, channels=channels)
    got = spark_tie_features(store, window=window, channels=channels)
    assert_same_ties(expected, got)
    assert got["sms_n"].sum() == 0 and got["bank_n"].sum() > 0
    assert window != Window()


def test_spark_engine_without_pyspark_says_how_to_install_it(
    sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now fails
    run = run_cli("graph", "--store", sample_store, "--engine", "spark")
    assert run.exit_code == 1
    assert "pip install 'relmine[spark]'" in run.stderr
    assert "Java 17" in run.stderr
    assert "Traceback" not in run.stderr


SAMPLE_FILES = ("customers.csv", "cells.csv", "calls.csv", "bank.csv")


def _tables(store: Path) -> dict[str, pl.DataFrame]:
    """Every table of a store, sorted by all its columns (the order of parts is the engine's)."""
    opened = Store.open(store)
    tables = {}
    for table in ("cdr", "bank", "customers", "cells", "rejects"):
        frame = opened.scan(table).collect()
        tables[table] = frame.sort(frame.columns, nulls_last=True)
    return tables


def _files(store: Path) -> list[dict]:
    return Store.open(store).files


def _more_calls(folder: Path) -> Path:
    """Calls overlapping the sample's (duplicates of stored rows and within the file), a blank
    line, a new call and bad rows."""
    lines = (SAMPLE / "calls.csv").read_text(encoding="utf-8").splitlines()
    new = "+421905111222,+421905333444,2026-03-30 21:15:00,42,voice,BA00028,"
    bad = "+421905111222,,2026-03-30 21:15:00,42,voice,BA00028,"
    rows = [lines[0], *lines[1:150], lines[5], "", new, new, bad, "0905,0906,yesterday,1,sms,,"]
    path = folder / "more-calls.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


@needs_spark
def test_spark_ingest_stores_what_the_polars_ingest_stores(
    spark, sample_store: Path, tmp_path: Path
) -> None:
    store = tmp_path / "spark-store"
    run = run_cli(
        "ingest", *(SAMPLE / f for f in SAMPLE_FILES), "--store", store, "--engine", "spark"
    )
    assert run.exit_code == 0, run.stderr
    assert "calls.csv" in run.stdout
    expected, got = _tables(sample_store), _tables(store)
    for table in expected:
        assert got[table].height == expected[table].height > 0, table
        assert_frame_equal(got[table], expected[table], check_exact=True)
    assert _files(store) == _files(sample_store)  # rows, accepted, rejected, duplicates, reasons
    calls = next(f for f in _files(store) if f["path"].endswith("calls.csv"))
    assert calls["rows"] == calls["accepted"] + calls["rejected"] + calls["duplicates"]
    assert calls["rejected"] > 0

    # a second export overlapping the first: duplicates of stored rows and within the file
    polars_store = tmp_path / "polars-store"
    shutil.copytree(sample_store, polars_store, ignore=shutil.ignore_patterns("cache", ".lock"))
    more = _more_calls(tmp_path)
    for target, engine in ((polars_store, "polars"), (store, "spark")):
        run = run_cli("ingest", more, "--store", target, "--engine", engine, "-q")
        assert run.exit_code == 0, run.stderr
    record = _files(store)[-1]
    assert record == _files(polars_store)[-1]
    # 149 sample rows (stored already, or rejected again), one of them twice, a new call twice
    assert (record["rows"], record["accepted"]) == (154, 1)
    assert record["rejected_by_reason"]["missing callee"] >= 1
    assert record["rejected_by_reason"]["bad timestamp"] >= 1
    assert record["duplicates"] == 154 - 1 - record["rejected"] > 149
    expected, got = _tables(polars_store), _tables(store)
    for table in expected:
        assert_frame_equal(got[table], expected[table], check_exact=True)

    # the same file again adds nothing
    before = Store.open(store).manifest["tables"]
    run = run_cli("ingest", more, "--store", store, "--engine", "spark", "-q")
    assert run.exit_code == 0, run.stderr
    assert Store.open(store).manifest["tables"] == before


@needs_spark
def test_spark_ingest_refuses_a_file_with_too_many_bad_rows(spark, tmp_path: Path) -> None:
    bad = tmp_path / "bad-calls.csv"
    rows = ["caller,callee,start_time,duration_s,type"]
    rows += [f"+42190511{i:04d},,2026-03-01 10:00:00,10,voice" for i in range(20)]
    rows += ["+421905110000,+421905110001,2026-03-01 10:00:00,10,voice"]
    bad.write_text("\n".join(rows) + "\n", encoding="utf-8")
    store = tmp_path / "store"
    run = run_cli("ingest", bad, "--store", store, "--engine", "spark")
    assert run.exit_code == 3
    assert "missing callee" in run.stdout
    opened = Store.open(store)
    assert opened.files == [] and all(not p for p in opened.manifest["tables"].values())
    assert not list((store / "data").iterdir())  # nothing staged is left behind


@pytest.mark.parametrize(
    "extra", [("--mapping", "m.toml"), ("--kind", "bandicoot"), ("--pseudonymize",)]
)
def test_spark_ingest_refuses_what_it_does_not_support(
    tmp_path: Path, extra: tuple, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELMINE_KEY", base64.b64encode(b"k" * 32).decode())
    (tmp_path / "m.toml").write_text("[columns]\n", encoding="utf-8")
    extra = tuple(str(tmp_path / e) if e.endswith(".toml") else e for e in extra)
    store = tmp_path / "store"
    run = run_cli("ingest", SAMPLE / "calls.csv", "--store", store, "--engine", "spark", *extra)
    assert run.exit_code == 1
    assert "--engine spark does not support" in run.stderr
    assert "--engine polars" in run.stderr
    assert not store.exists()
