"""Influencers and the churn domino: planted hubs found, exclusions, the cascade model, cron use."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from conftest import ROOT, SAMPLE, run_cli, run_process
from relmine.errors import UnknownParty
from relmine.graph import to_igraph
from relmine.influence import INFLUENCER_COLUMNS, WHAT_IF_COLUMNS, rank_influencers, what_if
from relmine.store import Store

TRUTH = SAMPLE / "truth" / "nodes.csv"
NOT_INFLUENCERS = ("hotline", "employer", "utility")


def _truth() -> pl.DataFrame:
    return pl.read_csv(TRUTH, schema_overrides={"is_hub": pl.Boolean})


@pytest.fixture(scope="module")
def ranked(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> pl.DataFrame:
    """Every eligible party of the sample world, ranked with seed 0."""
    out = tmp_path_factory.mktemp("influencers") / "all.parquet"
    run = run_cli("influencers", "--store", sample_store, "--top", "0", "-o", out)
    assert run.exit_code == 0, run.stderr
    return pl.read_parquet(out)


@pytest.fixture(scope="module")
def ties_file(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ties") / "ties.parquet"
    run = run_cli("graph", "--store", sample_store, "-o", out, "-q")
    assert run.exit_code == 0, run.stderr
    return out


def _precision_at_k(node_ids: list[str], truth: pl.DataFrame) -> tuple[float, list[str]]:
    k = int(truth["is_hub"].sum())
    top = pl.DataFrame({"node_id": node_ids[:k]}).join(truth, on="node_id", how="left")
    return float(top["is_hub"].fill_null(False).mean()), top["role"].fill_null("?").to_list()


def test_planted_hubs_are_found_and_beat_plain_pagerank(ranked: pl.DataFrame, ties_file: Path):
    truth = _truth()
    k = int(truth["is_hub"].sum())
    precision, roles = _precision_at_k(ranked["node_id"].to_list(), truth)
    # plain weighted PageRank over every party of the graph, for comparison
    graph, names = to_igraph(pl.read_parquet(ties_file))
    pagerank = np.asarray(graph.pagerank(weights="weight"))
    order = np.lexsort((np.arange(names.len()), -pagerank))
    plain, plain_roles = _precision_at_k(names.gather(order).to_list(), truth)
    print(
        f"\nsample world, k = {k} planted hubs: precision@k of `relmine influencers` "
        f"{precision:.2f} (top k roles: {sorted(set(roles))}); plain weighted PageRank "
        f"{plain:.2f} (top k roles: {sorted(set(plain_roles))})"
    )
    assert precision >= 0.85
    assert not set(roles) & set(NOT_INFLUENCERS)
    assert precision > plain
    assert set(plain_roles) & set(NOT_INFLUENCERS), "the comparison shows what the exclusions fix"


def test_output_contract(ranked: pl.DataFrame):
    assert tuple(ranked.columns) == INFLUENCER_COLUMNS
    assert ranked["rank"].to_list() == list(range(1, ranked.height + 1))
    assert ranked["score"].is_sorted(descending=True)
    assert ranked["node_id"].n_unique() == ranked.height
    # the domino is simulated for the candidates (here every eligible party), and explained
    assert ranked["domino"].null_count() == 0
    top = ranked.row(0, named=True)
    assert f"in contact with {top['reach']} customers" in top["explanation"]
    assert "their churn would take about" in top["explanation"]
    assert (ranked["dependence_mean"] <= 1.0 + 1e-9).all()
    assert (ranked["dependents"] <= ranked["reach"]).all()


def test_not_influencers_are_never_ranked(ranked: pl.DataFrame, sample_store: Path):
    truth = _truth()
    roles = ranked.join(truth, on="node_id", how="left")["role"]
    assert roles.null_count() == 0
    # persons and hubs of the register only: no company, hotline or non-customer
    assert set(roles.unique().to_list()) <= {"person", "hub"}
    customers = pl.read_csv(SAMPLE / "customers.csv", infer_schema=False)
    persons = customers.filter(pl.col("kind") == "person")["customer_id"]
    assert ranked["node_id"].is_in(persons.implode()).all()


def test_include_companies_ranks_companies_but_never_hotlines(sample_store: Path, tmp_path: Path):
    out = tmp_path / "with-companies.csv"
    run = run_cli(
        "influencers", "--store", sample_store, "--top", "0", "--include-companies", "-o", out
    )
    assert run.exit_code == 0, run.stderr
    roles = pl.read_csv(out).join(_truth(), on="node_id", how="left")["role"]
    assert {"employer", "group_company"} <= set(roles.to_list())
    # hotlines, and utilities that are paid by thousands and pay no one back, are hotline-like
    assert not {"hotline", "utility"} & set(roles.to_list())


def test_hotlines_are_excluded_without_a_register(tmp_path: Path):
    store = tmp_path / "store"
    assert run_cli("ingest", SAMPLE / "calls.csv", "--store", store, "-q").exit_code == 0
    out = tmp_path / "no-register.parquet"
    run = run_cli("influencers", "--store", store, "--top", "0", "-o", out, "-q")
    assert run.exit_code == 0, run.stderr
    ranked = pl.read_parquet(out)
    phones = pl.read_csv(SAMPLE / "truth" / "phones.csv", infer_schema=False)
    hotlines = _truth().filter(pl.col("role") == "hotline")["node_id"]
    hotline_phones = phones.filter(pl.col("node_id").is_in(hotlines.implode()))["phone"]
    assert hotline_phones.len() > 0
    assert not ranked["node_id"].is_in(hotline_phones.implode()).any()
    # without a register every number is a node; the hubs' SIMs still come first
    hub_phones = phones.join(_truth().filter(pl.col("is_hub")), on="node_id")["phone"]
    top = ranked.head(hub_phones.len())
    assert top["node_id"].is_in(hub_phones.implode()).mean() >= 0.5


def test_same_store_and_seed_give_the_same_bytes(sample_store: Path, tmp_path: Path):
    outputs = []
    for name, seed in (("a", "0"), ("b", "0"), ("c", "1")):
        out = tmp_path / f"{name}.parquet"
        run = run_cli("influencers", "--store", sample_store, "--seed", seed, "-o", out, "-q")
        assert run.exit_code == 0, run.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]
    # another seed draws other cascades: the domino changes, the measures do not
    first, other = (pl.read_parquet(tmp_path / f"{x}.parquet") for x in "ac")
    assert not first["domino"].equals(other["domino"])
    both = first.join(other, on="node_id", suffix="_other")
    assert (both["reach"] == both["reach_other"]).all()


def test_domino_follows_in_order_and_matches_the_ranking(ranked: pl.DataFrame, sample_store: Path):
    top = ranked.row(0, named=True)
    run = run_cli("domino", top["node_id"], "--store", sample_store, "-o", "-", "--format", "csv")
    assert run.exit_code == 0, run.stderr
    cascade = pl.read_csv(run.stdout.encode())
    assert tuple(cascade.columns) == WHAT_IF_COLUMNS
    assert cascade.row(0, named=True)["node_id"] == top["node_id"]
    assert cascade["step"].is_sorted()
    followers = cascade.filter(pl.col("step") > 0)
    assert followers.height > 0
    threshold = Store.open(sample_store).settings.domino_threshold
    assert (followers["dependence"] >= threshold - 1e-9).all()
    assert (followers["via_share"] <= followers["dependence"] + 1e-9).all()
    # every step is carried by someone who churned at an earlier step
    step_of = dict(zip(cascade["node_id"], cascade["step"], strict=True))
    assert all(step_of[v] < s for v, s in zip(followers["via"], followers["step"], strict=True))
    # the expected loss of the what-if is the domino of the ranking, for the same seed
    assert followers["probability"].sum() == pytest.approx(top["domino"], abs=1e-3)


def test_domino_is_reproducible_and_accepts_any_writing(
    ranked: pl.DataFrame, sample_store: Path, tmp_path: Path
):
    # the top influencer's phone as the register writes it, in E.164, and spaced out
    node = ranked["node_id"][0]
    phones = pl.read_csv(SAMPLE / "truth" / "phones.csv", infer_schema=False)
    e164 = phones.filter(pl.col("node_id") == node)["phone"].sort()[0]
    assert e164.startswith("+421")
    national = "0" + e164.removeprefix("+421")
    spaced = f"00421 {e164[4:7]} {e164[7:10]} {e164[10:]}"
    outputs = []
    for party in (node, national, e164, spaced):
        out = tmp_path / f"domino-{len(outputs)}.parquet"
        run = run_cli("domino", party, "--store", sample_store, "-o", out, "-q")
        assert run.exit_code == 0, run.stderr
        outputs.append(out.read_bytes())
    assert len(set(outputs)) == 1
    out = tmp_path / "what-if.parquet"
    what = run_cli("influencers", "--what-if", national, "--store", sample_store, "-o", out)
    assert what.exit_code == 0, what.stderr
    assert_frame_equal(pl.read_parquet(tmp_path / "domino-0.parquet"), pl.read_parquet(out))


def test_unknown_party_is_an_error_with_a_hint(sample_store: Path):
    run = run_cli("domino", "0999 000 000", "--store", sample_store)
    assert run.exit_code == 1
    assert "is no customer id, phone number or account in the store" in run.stderr
    assert "Traceback" not in run.stderr


def test_cascade_model_on_a_hand_made_graph(tmp_path: Path):
    """A star whose leaves talk only to the centre, and a chain behind one leaf."""
    store = Store.open(tmp_path / "store", create=True)  # no register: every party a customer

    def tie(a: str, b: str, weight: float) -> dict:
        return {"a": a, "b": b, "weight": weight, "events_ab": 1, "events_ba": 1}

    ties = pl.DataFrame(
        [
            tie("hub", "l1", 1.0),
            tie("hub", "l2", 1.0),
            tie("hub", "l3", 1.0),
            tie("l3", "x", 3.0),  # l3 gives the hub 1/4 of its weight: below 0.3
            tie("l1", "y", 1.0),  # y talks only to l1, l1 half to the hub
        ]
    )
    sure = dataclasses.replace(store.settings, domino_probability=1.0, domino_runs=5)
    result = what_if(ties, store, "hub", settings=sure)
    steps = dict(zip(result.frame["node_id"], result.frame["step"], strict=True))
    assert steps == {"hub": 0, "l1": 1, "l2": 1, "y": 2}
    assert result.expected == pytest.approx(3.0)
    ranked = rank_influencers(ties, store, top=0, settings=sure).frame
    assert ranked.filter(pl.col("node_id") == "hub")["domino"].item() == pytest.approx(3.0)
    assert ranked["node_id"][0] == "hub"
    # with a coin flip, the leaves follow about half the time, and y only behind l1
    coin = dataclasses.replace(sure, domino_probability=0.5, domino_runs=2000)
    half = what_if(ties, store, "hub", settings=coin, seed=3).frame
    probability = dict(zip(half["node_id"], half["probability"], strict=True))
    assert probability["l1"] == pytest.approx(0.5, abs=0.05)
    assert probability["y"] == pytest.approx(0.25, abs=0.05)
    with pytest.raises(UnknownParty):
        what_if(ties, store, "nobody", settings=sure)


def test_parquet_on_stdout_reads_in_another_process(sample_store: Path):
    """`relmine influencers -o - | python -c "...pq.read_table(...stdin...).num_rows"`."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    producer = subprocess.Popen(
        [sys.executable, "-m", "relmine", "influencers", "--store", str(sample_store), "-o", "-"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    # Parquet keeps its footer at the end, so a reader of a pipe takes it whole first:
    # pyarrow 26 cannot seek in sys.stdin.buffer itself ("Illegal seek"), whoever wrote it.
    # use_threads=False: pyarrow 26's reader threads abort about one interpreter exit in 15
    # ("terminate called without an active exception", apache/arrow#34314), whatever it read.
    reader = (
        "import sys, pyarrow as pa, pyarrow.parquet as pq; "
        "print(pq.read_table(pa.BufferReader(sys.stdin.buffer.read()), use_threads=False)"
        ".num_rows)"
    )
    consumer = subprocess.run(
        [sys.executable, "-c", reader], stdin=producer.stdout, capture_output=True, timeout=600
    )
    producer.stdout.close()
    assert producer.wait(timeout=600) == 0, producer.stderr.read().decode()
    producer.stderr.close()
    assert consumer.returncode == 0, consumer.stderr.decode()
    assert consumer.stdout.decode().strip() == str(Store.open(sample_store).settings.influence_top)


def test_json_logs_and_no_colour_for_cron(sample_store: Path, tmp_path: Path):
    out = tmp_path / "nightly.parquet"
    done = run_process(
        "influencers", "--store", sample_store, "--top", "25", "-o", out, "--log-format", "json"
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert records[0]["message"] == "influencers"
    assert records[0]["listed"] == 25
    assert records[-1]["rows"] == 25 and records[-1]["level"] == "info"
    assert [p.name for p in tmp_path.iterdir()] == ["nightly.parquet"]  # no temporary left
    # errors as JSON too, with the exit code; set from the environment as a cron job would
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RELMINE_LOG_FORMAT": "json"}
    command = [sys.executable, "-m", "relmine", "domino", "nobody", "--store", str(sample_store)]
    failed = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert failed.returncode == 1
    error = json.loads(failed.stderr.strip())
    assert error["level"] == "error" and error["exit_code"] == 1
    # the terminal table, piped: no colour codes, no progress
    shown = run_process("influencers", "--store", sample_store, "--top", "3")
    assert shown.returncode == 0
    assert "\x1b[" not in shown.stdout + shown.stderr
    assert "rank" in shown.stdout


def test_negative_top_is_a_usage_error(sample_store: Path):
    run = run_cli("influencers", "--store", sample_store, "--top", "-1")
    assert run.exit_code == 2


def test_ingest_reports_as_json_lines_for_a_log_collector(tmp_path: Path):
    store = tmp_path / "store"
    files = (SAMPLE / "cells.csv", SAMPLE / "customers.csv")
    done = run_process("--log-format", "json", "ingest", *files, "--store", store)
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    records = [json.loads(line) for line in done.stderr.splitlines()]
    assert [(r["message"], Path(r["path"]).name, r["status"]) for r in records] == [
        ("ingest", "cells.csv", "ingested"),
        ("ingest", "customers.csv", "ingested"),
    ]
    assert all(r["rows"] == r["accepted"] + r["rejected"] + r["duplicates"] for r in records)
    again = run_process("ingest", files[0], "--store", store, "--log-format", "json")
    assert json.loads(again.stderr)["status"] == "already in store"


def test_domino_of_an_account_in_any_writing(sample_store: Path):
    customers = pl.read_csv(SAMPLE / "customers.csv", infer_schema=False)
    # a customer with an account at our bank, written as a person would type it
    account = customers.filter(pl.col("account").str.starts_with("SK"))["account", "customer_id"]
    iban, customer = account.row(0)
    typed = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4)).lower()
    run = run_cli("domino", typed, "--store", sample_store, "-o", "-", "--format", "ndjson")
    assert run.exit_code == 0, run.stderr
    assert json.loads(run.stdout.splitlines()[0])["node_id"] == customer


def test_domino_settings_are_checked(sample_store: Path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RELMINE_DOMINO_PROBABILITY": "1.5"}
    command = [sys.executable, "-m", "relmine", "influencers", "--store", str(sample_store)]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    assert done.returncode == 1
    assert "domino_probability must be above 0 and at most 1" in done.stderr


def test_a_pipe_or_device_target_is_written_in_place(sample_store: Path, tmp_path: Path):
    """`-o /dev/stdout` or a named pipe: no temporary file renamed over it (it would replace
    the device with a plain file; a FIFO stands in for /dev/null here, which is not touched)."""
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    got: list[bytes] = []
    import threading

    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()))
    reader.start()
    run = run_process("influencers", "--store", sample_store, "--top", "5", "-o", fifo, "-q")
    reader.join(timeout=600)
    assert run.returncode == 0, run.stderr
    assert fifo.is_fifo()
    assert pl.read_csv(got[0])["rank"].to_list() == [1, 2, 3, 4, 5]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["pipe.csv"]
    folder = run_cli("influencers", "--store", sample_store, "-o", tmp_path, "--format", "csv")
    assert folder.exit_code == 1 and "it is a folder" in folder.stderr
