"""``relmine risk``: credit capacity, exposure to defaults, flags, and ``--companies``."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from conftest import SAMPLE, run_cli


@pytest.fixture(scope="module")
def sample_ties(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("risk") / "ties.parquet"
    run = run_cli("graph", "--store", sample_store, "-o", out, "-q")
    assert run.exit_code == 0, run.stderr
    return out


@pytest.fixture(scope="module")
def risk(sample_store: Path, sample_ties: Path) -> pl.DataFrame:
    out = sample_ties.parent / "risk.parquet"
    run = run_cli("risk", "--store", sample_store, "--ties", sample_ties, "-o", out)
    assert run.exit_code == 0, run.stderr
    assert "pay in a money cycle" in run.stderr  # the summary goes to stderr with -o
    return pl.read_parquet(out)


@pytest.fixture(scope="module")
def truth() -> pl.DataFrame:
    return pl.read_csv(SAMPLE / "truth" / "nodes.csv").select(
        "node_id",
        "role",
        "company_group",
        truth_household="household_id",
        truth_default="defaulted",
    )


def test_defaulted_households_rank_highest(risk: pl.DataFrame, truth: pl.DataFrame) -> None:
    risky = truth.filter("truth_default")["truth_household"].unique().implode()
    people = risk.join(truth, on="node_id", how="inner").with_columns(
        risky=pl.col("truth_household").is_in(risky).fill_null(False)
    )
    # households: mean exposure of their customers; those with a defaulted member come first
    households = (
        people.group_by("truth_household")
        .agg(pl.col("exposure").mean(), pl.col("risky").first())
        .sort("exposure", "truth_household", descending=[True, False])
    )
    k = int(households["risky"].sum())
    top = int(households.head(k)["risky"].sum())
    # the other members of those households, against every other customer who did not default
    others = people.filter(~pl.col("defaulted"))
    ranks = others["exposure"].rank().to_numpy()
    positive = others["risky"].to_numpy()
    n1, n0 = int(positive.sum()), int((~positive).sum())
    auc = (ranks[positive].sum() - n1 * (n1 + 1) / 2) / (n1 * n0)
    print(
        f"\nsample: {top}/{k} households with a defaulted customer in the top {k} by exposure; "
        f"AUC of their other members vs other customers {auc:.3f} ({n1} vs {n0})"
    )
    assert top >= 0.9 * k
    assert auc >= 0.95
    # the path of a non-defaulted customer's exposure ends at a defaulted customer
    exposed = others.filter(pl.col("risky")).sort("exposure", descending=True).head(20)
    assert exposed["exposure_path"].str.ends_with("(defaulted)").all()
    chain = exposed["exposure_path"].str.strip_suffix(" (defaulted)").str.split(" > ")
    assert set(chain.list.last()) <= set(risk.filter("defaulted")["node_id"])
    assert (exposed["exposure_via"] == chain.list.first()).all()


def test_exposure_is_the_walk_stopping_at_defaults(risk: pl.DataFrame, sample_ties: Path) -> None:
    """x = (1 - d) 1_D + d P x, solved by plain iteration on the tie table (d = 0.85)."""
    ties = pl.read_parquet(sample_ties, columns=["a", "b", "weight"])
    names = pl.concat([ties["a"], ties["b"]]).unique().sort()
    index = {name: i for i, name in enumerate(names.to_list())}
    a = np.array([index[x] for x in ties["a"].to_list()])
    b = np.array([index[x] for x in ties["b"].to_list()])
    w = ties["weight"].to_numpy()
    strength = np.bincount(a, w, len(names)) + np.bincount(b, w, len(names))
    bad = names.is_in(risk.filter("defaulted")["node_id"].implode()).to_numpy().astype(float)
    x = np.zeros(len(names))
    for _ in range(200):
        spread = np.bincount(a, w * x[b], len(names)) + np.bincount(b, w * x[a], len(names))
        x = 0.15 * bad + 0.85 * spread / strength
    expected = pl.DataFrame({"node_id": names, "expected": x})
    both = risk.join(expected, on="node_id", how="inner")
    assert both.height > 1500
    assert (both["exposure"] - both["expected"]).abs().max() < 1e-5


def test_capacity_formula(risk: pl.DataFrame) -> None:
    register = (
        pl.read_csv(SAMPLE / "customers.csv")
        .group_by("customer_id")
        .agg(pl.col("income").max(), pl.col("assets").max())
    )
    own = register.select(
        node_id="customer_id",
        expected=(pl.col("income").fill_null(0) + 0.01 * pl.col("assets").fill_null(0)).round(2),
    )
    both = risk.join(own, on="node_id")
    assert both.height == risk.height
    assert (both["own_capacity"] - both["expected"]).abs().max() < 0.01
    total = pl.col("own_capacity") + pl.col("household_capacity") + pl.col("ties_capacity")
    assert (risk.select((pl.col("network_capacity") - total).abs().max()).item()) < 0.02
    # the household term is 0.3 of the other members' own capacity (companies have none)
    members = risk.filter(pl.col("household_members") > 0)
    sums = members.group_by("household_id").agg(total=pl.col("own_capacity").sum())
    check = members.join(sums, on="household_id").with_columns(
        expected=0.3 * (pl.col("total") - pl.col("own_capacity"))
    )
    assert (check["household_capacity"] - check["expected"]).abs().max() < 0.02
    # people in a household have more capacity through the network than on their own
    assert (members["network_capacity"] > members["own_capacity"]).mean() > 0.9
    explained = risk.filter(pl.col("node_id") == members["node_id"][0])["explanation"][0]
    assert explained.startswith("capacity ") and "household" in explained


def test_flags(risk: pl.DataFrame) -> None:
    planted = set(pl.read_csv(SAMPLE / "truth" / "cycles.csv")["node_id"])
    in_cycle = set(risk.filter("in_cycle")["node_id"])
    assert planted <= in_cycle
    flagged = risk.filter("single_counterparty")
    assert flagged.height > 0
    assert (flagged["top_counterparty_share"] >= 0.8).all()
    assert flagged["explanation"].str.contains("% of money to and from others with").all()
    assert risk["exposure_rank"].to_list() == list(range(1, risk.height + 1))
    assert risk["exposure"].is_sorted(descending=True)


def test_companies(sample_store: Path, sample_ties: Path, truth: pl.DataFrame) -> None:
    out = sample_ties.parent / "companies.parquet"
    run = run_cli(
        "risk", "--store", sample_store, "--ties", sample_ties, "--companies", "-o", out, "-q"
    )
    assert run.exit_code == 0, run.stderr
    companies = pl.read_parquet(out).join(truth, on="node_id", how="left", suffix="_truth")
    planted = truth.filter(pl.col("company_group").is_not_null())
    grouped = companies.filter(pl.col("company_group").is_not_null())
    # the found groups are exactly the planted ones
    pairs = grouped.join(planted, on="node_id", how="full", suffix="_t")
    assert pairs["company_group"].null_count() == 0
    found = pairs.group_by("company_group").agg(pl.col("company_group_t").n_unique())
    planted_split = pairs.group_by("company_group_t").agg(pl.col("company_group").n_unique())
    n_found, n_planted = grouped["company_group"].n_unique(), planted["company_group"].n_unique()
    print(f"\nsample companies: {companies.height}, groups {n_found} (planted {n_planted})")
    assert (found["company_group_t"] == 1).all() and (planted_split["company_group"] == 1).all()
    assert grouped["group_finances_in_cycles"].all()
    # utilities invoice companies: supplier -> customer relations
    utilities = companies.filter(pl.col("role") == "utility")
    assert utilities.height == 10
    assert (utilities["customers"].list.len() > 0).all()
    assert (utilities["paying_parties"] >= 5).all()
    assert companies.filter(pl.col("role") == "person").height == 0


def test_same_bytes(sample_store: Path, sample_ties: Path, tmp_path: Path) -> None:
    outputs = []
    for name in ("a.csv", "b.csv"):
        out = tmp_path / name
        run = run_cli("risk", "--store", sample_store, "--ties", sample_ties, "-o", out, "-q")
        assert run.exit_code == 0, run.stderr
        outputs.append(out.read_bytes())
    assert outputs[0] == outputs[1]


def test_terminal_table(sample_store: Path, sample_ties: Path) -> None:
    run = run_cli("risk", "--store", sample_store, "--ties", sample_ties)
    assert run.exit_code == 0, run.stderr
    assert "most exposed to defaults" in run.stdout
    assert "exposure_path" in run.stdout


def test_bad_setting(
    sample_store: Path, sample_ties: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELMINE_RISK_DAMPING", "1.5")
    run = run_cli("risk", "--store", sample_store, "--ties", sample_ties)
    assert run.exit_code == 1
    assert "risk_damping must be between 0 and 1" in run.stderr


def test_exposure_when_the_first_parties_by_id_reach_no_default(tmp_path: Path) -> None:
    """Parties with no path to a default come first by id: their paths are null, not a crash.

    300 customers ``A000``-``A299`` call one another in pairs, apart from everyone else; ``Z1``
    has defaulted and ``Z2`` and ``Z3`` call it. (The paths were once NumPy object arrays, and
    Polars took one whose first hundred values were ``None`` for an ``Object`` column: every
    large store failed with an internal error.)
    """
    accounts = {2: "SK3112000000198742637541", 3: "SK0809000000000123123123"}
    rows = ["customer_id,phone,account,name,defaulted,kind"]
    rows += [f"A{i:03d},+42190500{i:04d},,Person {i},false,person" for i in range(300)]
    rows += [
        f"Z{i},+42191100000{i},{accounts.get(i, '')},Person Z{i},{'true' if i == 1 else 'false'},"
        "person"
        for i in (1, 2, 3)
    ]
    (tmp_path / "customers.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "bank.csv").write_text(
        "account,counterparty,amount,currency,booked_at,description\n"
        f"{accounts[2]},{accounts[3]},-50.00,EUR,2026-03-05,dinner\n"
    )
    calls = ["caller,callee,start_time,duration_s,type"]
    for i in range(0, 300, 2):
        calls.append(f"+42190500{i:04d},+42190500{i + 1:04d},2026-03-02 18:00:00,60,voice")
        calls.append(f"+42190500{i + 1:04d},+42190500{i:04d},2026-03-03 18:00:00,60,voice")
    for i in (2, 3):
        calls.append(f"+42191100000{i},+421911000001,2026-03-02 19:00:00,120,voice")
        calls.append(f"+421911000001,+42191100000{i},2026-03-04 19:00:00,120,voice")
    (tmp_path / "calls.csv").write_text("\n".join(calls) + "\n")
    store = tmp_path / "store"
    files = [tmp_path / f for f in ("customers.csv", "calls.csv", "bank.csv")]
    run = run_cli("ingest", *files, "--store", store, "-q")
    assert run.exit_code == 0, run.stderr
    out = tmp_path / "risk.parquet"
    run = run_cli("risk", "--store", store, "-o", out, "-q")
    assert run.exit_code == 0, run.stderr
    risk = pl.read_parquet(out)
    assert risk.schema["exposure_path"] == pl.String == risk.schema["exposure_via"]
    apart = risk.filter(pl.col("node_id").str.starts_with("A"))
    assert apart.height == 300
    assert (apart["exposure"] == 0).all()
    assert apart["exposure_via"].is_null().all() and apart["exposure_path"].is_null().all()
    exposed = risk.filter(pl.col("node_id").is_in(["Z2", "Z3"]))
    assert (exposed["exposure"] > 0).all()
    assert exposed["exposure_via"].to_list() == ["Z1", "Z1"]
    assert exposed["exposure_path"].to_list() == ["Z1 (defaulted)"] * 2
    assert risk.filter(pl.col("node_id") == "Z1")["exposure_path"].to_list() == ["own default"]
