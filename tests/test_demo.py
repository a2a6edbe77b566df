"""The sample world: deterministic, self-consistent, exact counts, and the signals are there.

The files are checked with an independent reading (phonenumbers, stdnum, polars), not with the
generator's own arrays, so the truth is tested the way an ingest will see it.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import phonenumbers
import polars as pl
import pytest
from phonenumbers import shortnumberinfo
from stdnum import iban as stdiban

from relmine.demo import WorldSummary, make_world
from relmine.errors import ConfigError
from relmine.schema import INPUT_COLUMNS

START = "2026-01-01"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> WorldSummary:
    """The default world (the committed sample)."""
    return make_world(tmp_path_factory.mktemp("world"), start=START)


# ---------------------------------------------------------------------------------------------
# An independent reading of the files
# ---------------------------------------------------------------------------------------------


def _e164(raw: str) -> str | None:
    try:
        number = phonenumbers.parse(raw, "SK")
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _iban(raw: str) -> str | None:
    return stdiban.compact(raw) if stdiban.is_valid(raw) else None


def _mapping(values: pl.Series, fn, name: str) -> pl.DataFrame:
    raw = values.drop_nulls().unique().sort()
    return pl.DataFrame(
        {"raw": raw, name: [fn(x) for x in raw]}, schema_overrides={name: pl.String}
    )


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema=False).with_row_index("line", offset=2)


@pytest.fixture(scope="module")
def calls(world: WorldSummary) -> pl.DataFrame:
    """calls.csv with E.164 numbers, parsed time, the reason a row is rejected, duplicates."""
    df = _read(world.calls)
    phones = _mapping(pl.concat([df["caller"], df["callee"]]), _e164, "e164")
    df = (
        df.join(phones.rename({"raw": "caller", "e164": "a"}), on="caller", how="left")
        .join(phones.rename({"raw": "callee", "e164": "b"}), on="callee", how="left")
        .with_columns(
            ts=pl.col("start_time").str.strptime(pl.Datetime, "%Y-%m-%d %H:%M:%S", strict=False),
            dur=pl.col("duration_s").cast(pl.Int64, strict=False),
        )
        .with_columns(
            reason=pl.when(pl.col("callee").is_null())
            .then(pl.lit("missing callee"))
            .when(pl.col("a").is_null() | pl.col("b").is_null())
            .then(pl.lit("invalid phone number"))
            .when(pl.col("ts").is_null())
            .then(pl.lit("bad timestamp"))
            .when(pl.col("dur") < 0)
            .then(pl.lit("negative duration"))
        )
        .sort("line")
    )
    key = ["a", "b", "start_time", "duration_s", "type", "cell_id", "roaming_country"]
    ok = df.filter(pl.col("reason").is_null())
    dup = ok.with_columns(dup=~pl.struct(key).is_first_distinct()).select("line", "dup")
    return df.join(dup, on="line", how="left").sort("line")


@pytest.fixture(scope="module")
def bank(world: WorldSummary) -> pl.DataFrame:
    """bank.csv with compact IBANs, amounts in cents, the reject reason, duplicates."""
    df = _read(world.bank)
    ibans = _mapping(pl.concat([df["account"], df["counterparty"]]), _iban, "iban")
    df = (
        df.join(ibans.rename({"raw": "account", "iban": "acc"}), on="account", how="left")
        .join(ibans.rename({"raw": "counterparty", "iban": "cp"}), on="counterparty", how="left")
        .with_columns(
            cents=pl.when(pl.col("amount").str.contains(r"^-?\d+\.\d\d$")).then(
                pl.col("amount").str.replace(".", "", literal=True).cast(pl.Int64)
            ),
            date=pl.col("booked_at").str.strptime(pl.Date, "%Y-%m-%d", strict=False),
        )
        .with_columns(
            reason=pl.when(
                pl.col("acc").is_null()
                | (pl.col("counterparty").is_not_null() & pl.col("cp").is_null())
            )
            .then(pl.lit("invalid IBAN check digits"))
            .when(pl.col("cents").is_null())
            .then(pl.lit("bad amount"))
            .when(pl.col("date").is_null())
            .then(pl.lit("bad timestamp"))
        )
        .sort("line")
    )
    key = ["acc", "cp", "cents", "currency", "date", "description"]
    ok = df.filter(pl.col("reason").is_null())
    dup = ok.with_columns(dup=~pl.struct(key).is_first_distinct()).select("line", "dup")
    return df.join(dup, on="line", how="left").sort("line")


def _accepted(df: pl.DataFrame) -> pl.DataFrame:
    return df.filter(pl.col("reason").is_null() & ~pl.col("dup"))


def _truth(world: WorldSummary, name: str) -> pl.DataFrame:
    return pl.read_csv(world.truth / name, infer_schema=False)


def _file_counts(df: pl.DataFrame) -> dict:
    rejected = df.filter(pl.col("reason").is_not_null())
    by = rejected.group_by("reason").len().sort("reason")
    return {
        "rows": df.height,
        "accepted": _accepted(df).height,
        "rejected": rejected.height,
        "duplicates": int(df["dup"].fill_null(False).sum()),
        "rejected_by_reason": dict(zip(by["reason"], by["len"], strict=True)),
    }


# ---------------------------------------------------------------------------------------------
# Determinism and arguments
# ---------------------------------------------------------------------------------------------


def _hashes(path: Path) -> dict[str, str]:
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    a = make_world(tmp_path / "a", people=300, seed=7)
    b = make_world(tmp_path / "b", people=300, seed=7)
    c = make_world(tmp_path / "c", people=300, seed=8)
    ha, hb, hc = _hashes(a.out_dir), _hashes(b.out_dir), _hashes(c.out_dir)
    assert set(ha) == {
        "calls.csv",
        "bank.csv",
        "customers.csv",
        "cells.csv",
        "truth/nodes.csv",
        "truth/phones.csv",
        "truth/accounts.csv",
        "truth/cycles.csv",
        "truth/summary.json",
    }
    assert ha == hb
    assert all(ha[f] != hc[f] for f in ("calls.csv", "bank.csv", "customers.csv"))
    assert a.counts == b.counts and a.hubs == b.hubs


def test_bad_arguments_are_refused_with_a_hint(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="people must be at least"):
        make_world(tmp_path, people=10)
    with pytest.raises(ConfigError, match="start must be a date"):
        make_world(tmp_path, start="1.1.2026")
    with pytest.raises(ConfigError, match="not found"):
        WorldSummary.read(tmp_path / "nothing")


def test_the_default_world_is_small_enough_to_commit(world: WorldSummary) -> None:
    size = sum(p.stat().st_size for p in world.out_dir.rglob("*") if p.is_file())
    assert size < 6_000_000
    assert 15_000 < world.call_rows < 25_000  # about people * calls_per_person


# ---------------------------------------------------------------------------------------------
# The summary is exact
# ---------------------------------------------------------------------------------------------


def test_summary_counts_match_an_independent_reading(
    world: WorldSummary, calls: pl.DataFrame, bank: pl.DataFrame
) -> None:
    s = json.loads((world.truth / "summary.json").read_text())
    assert s == world.counts
    assert s["files"]["calls.csv"] == _file_counts(calls)
    assert s["files"]["bank.csv"] == _file_counts(bank)
    for name in ("customers.csv", "cells.csv"):
        rows = len((world.out_dir / name).read_text(encoding="utf-8").splitlines()) - 1
        assert s["files"][name] == {
            "rows": rows,
            "accepted": rows,
            "rejected": 0,
            "duplicates": 0,
            "rejected_by_reason": {},
        }
    # every kind of dirt is there, about 1 % of rows, and about 0.5 % repeated rows
    for name, df in (("calls.csv", calls), ("bank.csv", bank)):
        f = s["files"][name]
        lines = len((world.out_dir / name).read_text(encoding="utf-8").splitlines()) - 1
        assert f["rows"] == lines == f["accepted"] + f["rejected"] + f["duplicates"]
        assert 0.007 < f["rejected"] / f["rows"] < 0.013
        assert 0.003 < f["duplicates"] / f["rows"] < 0.007
        assert df.filter(pl.col("dup").fill_null(False)).height == f["duplicates"]
    assert set(s["files"]["calls.csv"]["rejected_by_reason"]) == {
        "missing callee",
        "bad timestamp",
        "negative duration",
        "invalid phone number",
    }
    assert set(s["files"]["bank.csv"]["rejected_by_reason"]) == {
        "invalid IBAN check digits",
        "bad amount",
        "bad timestamp",
    }

    # the bad numbers are not even valid short numbers (which an ingest may keep, e.g. 112)
    bad = calls.filter(pl.col("reason") == "invalid phone number")
    bad = pl.concat(
        [bad.filter(pl.col("a").is_null())["caller"], bad.filter(pl.col("b").is_null())["callee"]]
    )
    for raw in bad.unique():
        number = phonenumbers.parse(raw, "SK")
        assert not shortnumberinfo.is_valid_short_number_for_region(number, "SK")

    ok = _accepted(calls)
    assert s["distinct_phones"] == pl.concat([ok["a"], ok["b"]]).n_unique()
    assert s["voice_events"] == ok.filter(pl.col("type") == "voice").height
    assert s["sms_events"] == ok.filter(pl.col("type") == "sms").height
    assert s["mms_events"] == ok.filter(pl.col("type") == "mms").height
    assert s["voice_events"] + s["sms_events"] + s["mms_events"] == ok.height

    b = _accepted(bank)
    assert s["distinct_accounts"] == pl.concat([b["acc"], b["cp"]]).drop_nulls().n_unique()
    assert s["bookings_without_counterparty"] == b.filter(pl.col("cp").is_null()).height
    transfers = (
        b.filter(pl.col("cp").is_not_null())
        .with_columns(
            src=pl.when(pl.col("cents") < 0).then("acc").otherwise("cp"),
            dst=pl.when(pl.col("cents") < 0).then("cp").otherwise("acc"),
            value=pl.col("cents").abs(),
        )
        .group_by("src", "dst", "value", "date")
        .len()
    )
    assert s["transfers"] == transfers.height
    assert s["mirrored_transfers"] == transfers.filter(pl.col("len") == 2).height
    assert transfers["len"].max() <= 2
    assert s["mirrored_transfers"] > 0.6 * s["transfers"]  # mirrored bookings are the norm

    phones, accounts = _truth(world, "phones.csv"), _truth(world, "accounts.csv")
    call_nodes = pl.concat([ok["a"], ok["b"]]).unique().to_frame("phone").join(phones, on="phone")
    bank_nodes = (
        pl.concat([b["acc"], b["cp"]])
        .drop_nulls()
        .unique()
        .to_frame("account")
        .join(accounts, on="account")
    )
    assert call_nodes.height == s["distinct_phones"]  # every number is a known party
    assert bank_nodes.height == s["distinct_accounts"]
    assert s["nodes"] == pl.concat([call_nodes["node_id"], bank_nodes["node_id"]]).n_unique()

    nodes = _truth(world, "nodes.csv")
    persons = nodes.filter(pl.col("kind") == "person", pl.col("household_id").is_not_null())
    assert s["people"] == persons.height == 2000
    assert s["households"] == persons["household_id"].n_unique()
    assert s["circles"] == persons["circle_id"].n_unique()
    assert s["hubs"] == nodes.filter(pl.col("is_hub") == "true").height >= 5
    assert s["cycles"] == _truth(world, "cycles.csv")["cycle_id"].n_unique()
    assert s["seed"] == 0


def test_no_time_falls_into_the_dst_gap(calls: pl.DataFrame) -> None:
    ok = _accepted(calls)
    gap = ok.filter(pl.col("start_time").str.starts_with("2026-03-29 02:"))
    assert gap.height == 0
    assert ok.filter(pl.col("start_time").str.starts_with("2026-03-29")).height > 0
    assert str(ok["ts"].min()) >= "2026-01-01" and str(ok["ts"].max()) < "2026-04-01"


# ---------------------------------------------------------------------------------------------
# The truth is self-consistent
# ---------------------------------------------------------------------------------------------


def test_identifiers_are_valid_distinct_and_written_in_mixed_forms(
    world: WorldSummary, calls: pl.DataFrame, bank: pl.DataFrame
) -> None:
    phones, accounts = _truth(world, "phones.csv"), _truth(world, "accounts.csv")
    assert phones["phone"].is_unique().all() and accounts["account"].is_unique().all()
    assert all(_e164(p) == p for p in phones["phone"])
    assert all(stdiban.validate(a) == a for a in accounts["account"])
    countries = {a[:2] for a in accounts["account"]}
    assert countries == {"SK", "CZ", "AT"}
    assert all(a.startswith("SK") for a in accounts.filter(pl.col("ours") == "true")["account"])
    hot = phones.join(_truth(world, "nodes.csv"), on="node_id").filter(pl.col("role") == "hotline")
    assert hot.height >= 3 and all(p[4:7] in {"800", "850"} for p in hot["phone"])

    raw = _accepted(calls)["caller"]
    forms = {
        "+421 ": raw.str.starts_with("+421 "),
        "+421": raw.str.contains(r"^\+421\d{9}$"),
        "0": raw.str.contains(r"^0\d{9}$"),
        "00421": raw.str.starts_with("00421"),
        "421": raw.str.contains(r"^421\d{9}$"),
        "0 spaced": raw.str.contains(r"^0\d{3} \d{3} \d{3}$"),
    }
    shares = {k: v.mean() for k, v in forms.items()}
    assert 0.40 < shares["+421"] < 0.60 and 0.18 < shares["0"] < 0.32
    assert all(v > 0.02 for v in shares.values())
    acc = _accepted(bank)["account"]
    assert acc.str.contains(" ").any() and acc.str.contains("^[a-z]").any()


def test_register_maps_every_identifier_to_one_customer(world: WorldSummary) -> None:
    reg = pl.read_csv(world.customers, infer_schema=False)
    employees_only = ("department", "cost_center")  # the corporate world's (relmine tem)
    assert reg.columns == [c for c in INPUT_COLUMNS["customers"] if c not in employees_only]
    assert (reg["phone"].is_null() ^ reg["account"].is_null()).all()  # one identifier a row
    reg = reg.with_columns(
        phone=pl.col("phone").map_elements(_e164, pl.String),
        account=pl.col("account").map_elements(_iban, pl.String),
    )
    ids = pl.concat([reg["phone"], reg["account"]]).drop_nulls()
    assert ids.len() == reg.height and ids.is_unique().all()
    # the register agrees with the truth: its identifiers are the ones "in the register"
    phones, accounts = _truth(world, "phones.csv"), _truth(world, "accounts.csv")
    in_reg = phones.filter(pl.col("in_register") == "true")
    by_phone = reg.drop_nulls("phone").select("phone", "customer_id")
    assert by_phone.sort("phone").rows() == in_reg.select("phone", "node_id").sort("phone").rows()
    ours = accounts.filter(pl.col("ours") == "true")
    by_acc = reg.drop_nulls("account").select("account", "customer_id")
    assert by_acc.sort("account").rows() == ours.select("account", "node_id").sort("account").rows()
    # some people have two SIMs; employers are companies of the register
    sims = reg.drop_nulls("phone").group_by("customer_id").len()
    assert sims.filter(pl.col("len") == 2).height > 20
    employers = set(reg["employer_id"].drop_nulls())
    companies = set(reg.filter(pl.col("kind") == "company")["customer_id"])
    assert employers and employers <= companies
    # defaults: about 3 %, concentrated in households
    nodes = _truth(world, "nodes.csv")
    registered = nodes.filter(pl.col("kind") == "person", pl.col("role") != "external")
    dflt = registered.filter(pl.col("defaulted") == "true")
    assert 0.02 < dflt.height / registered.height < 0.045
    assert dflt["household_id"].n_unique() < 0.85 * dflt.height
    assert set(reg.filter(pl.col("defaulted") == "true")["customer_id"]) == set(dflt["node_id"])


def test_households_and_circles(world: WorldSummary) -> None:
    nodes = _truth(world, "nodes.csv")
    persons = nodes.filter(pl.col("household_id").is_not_null())
    hh = persons.group_by("household_id").agg(size=pl.len(), circles=pl.col("circle_id").n_unique())
    assert hh["size"].min() == 1 and hh["size"].max() == 6
    assert (hh["circles"] == 1).all()  # whole households belong to one circle
    sizes = hh.group_by("size").len()
    share = dict(zip(sizes["size"], sizes["len"] / hh.height, strict=True))
    assert 0.2 < share[1] < 0.4 and 0.2 < share[2] < 0.35 and share[6] < 0.05
    circles = persons.group_by("circle_id").len()["len"]
    assert circles.min() >= 20 and circles.max() <= 85 and 30 < circles.median() < 55
    companies = nodes.filter(pl.col("kind") == "company")
    assert companies["household_id"].is_null().all()
    roles = set(nodes["role"])
    assert roles == {"person", "hub", "hotline", "employer", "utility", "group_company", "external"}
    hubs = nodes.filter(pl.col("is_hub") == "true")
    assert (hubs["role"] == "hub").all()


def test_planted_cycles_are_time_ordered_close_in_amount_and_booked(
    world: WorldSummary, bank: pl.DataFrame
) -> None:
    cyc = _truth(world, "cycles.csv").with_columns(
        position=pl.col("position").cast(pl.Int64),
        cents=pl.col("amount").str.replace(".", "", literal=True).cast(pl.Int64),
        date=pl.col("booked_at").str.to_date(),
    )
    nodes = _truth(world, "nodes.csv").select("node_id", "role", "company_group")
    cyc = cyc.join(nodes, on="node_id", how="left")
    assert (cyc["role"] == "group_company").all()
    per = cyc.group_by("cycle_id").agg(
        hops=pl.len(),
        positions=pl.col("position").sort(),
        groups=pl.col("company_group").n_unique(),
        spread=pl.col("cents").max() / pl.col("cents").min(),
        gaps=pl.col("date").sort_by("position").diff().drop_nulls().dt.total_days(),
        nodes=pl.col("node_id").n_unique(),
    )
    assert per.height >= 5
    assert per["hops"].min() >= 2 and per["hops"].max() <= 6
    assert (per["groups"] == 1).all() and (per["nodes"] == per["hops"]).all()
    assert (per["spread"] <= 1.05).all()
    for row in per.iter_rows(named=True):
        assert row["positions"] == list(range(1, row["hops"] + 1))
        assert all(1 <= g <= 3 for g in row["gaps"])
    # each hop is a transfer to the next member (the last back to the first), on both statements
    nxt = cyc.sort("cycle_id", "position").with_columns(
        to=pl.col("account")
        .shift(-1)
        .over("cycle_id")
        .fill_null(pl.col("account").first().over("cycle_id"))
    )
    ok = _accepted(bank)
    debits = nxt.join(
        ok, left_on=["account", "to", "date"], right_on=["acc", "cp", "date"], how="left"
    ).filter(pl.col("cents_right") == -pl.col("cents"))
    credits = nxt.join(
        ok, left_on=["to", "account", "date"], right_on=["acc", "cp", "date"], how="left"
    ).filter(pl.col("cents_right") == pl.col("cents"))
    assert debits.height == credits.height == cyc.height


def test_mirrored_bookings_come_in_debit_credit_pairs(
    world: WorldSummary, bank: pl.DataFrame
) -> None:
    ours = set(_truth(world, "accounts.csv").filter(pl.col("ours") == "true")["account"])
    ok = _accepted(bank)
    assert ok["acc"].is_in(list(ours)).all()  # a statement is always of one of our accounts
    both = ok.filter(pl.col("cp").is_in(list(ours))).select("acc", "cp", "cents", "date")
    other = both.select(acc="cp", cp="acc", cents=-pl.col("cents"), date="date")
    assert both.sort(pl.all()).rows() == other.sort(pl.all()).rows()
    assert (both["cents"] < 0).sum() == (both["cents"] > 0).sum()


# ---------------------------------------------------------------------------------------------
# The signals exist
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pairs(world: WorldSummary, calls: pl.DataFrame) -> pl.DataFrame:
    """Contact features of every observed pair of parties, with its truth category."""
    phones = _truth(world, "phones.csv").select("phone", "node_id")
    nodes = _truth(world, "nodes.csv")
    ev = (
        _accepted(calls)
        .join(phones.rename({"phone": "a", "node_id": "x"}), on="a")
        .join(phones.rename({"phone": "b", "node_id": "y"}), on="b")
        .with_columns(h=pl.col("ts").dt.hour(), weekend=pl.col("ts").dt.weekday() >= 6)
        .with_columns(
            offhours=(pl.col("h") >= 18) | (pl.col("h") < 6) | pl.col("weekend"),
            night=(pl.col("h") >= 22) | (pl.col("h") < 6),
            evening=(pl.col("h") >= 18) & (pl.col("h") < 22),
        )
    )
    home = (
        ev.filter(((pl.col("h") >= 19) | (pl.col("h") < 7)) & pl.col("cell_id").is_not_null())
        .group_by("x", "cell_id")
        .len()
        .sort("x", "len", "cell_id", descending=[False, True, False])
        .group_by("x", maintain_order=True)
        .first()
        .select(node="x", home="cell_id")
    )
    info = nodes.select(
        node="node_id", hh="household_id", circle="circle_id", hub="is_hub", role="role"
    ).join(home, on="node", how="left")
    p = (
        ev.with_columns(u=pl.min_horizontal("x", "y"), v=pl.max_horizontal("x", "y"))
        .group_by("u", "v")
        .agg(
            n=pl.len(),
            offhours=pl.col("offhours").mean(),
            night=pl.col("night").mean(),
            evenings=pl.col("ts").filter(pl.col("evening")).dt.date().n_unique(),
        )
        .join(info.rename(lambda c: c + "_u"), left_on="u", right_on="node_u")
        .join(info.rename(lambda c: c + "_v"), left_on="v", right_on="node_v")
    )
    return p.with_columns(
        same_home=pl.col("home_u") == pl.col("home_v"),
        category=pl.when(pl.col("hh_u") == pl.col("hh_v"))
        .then(pl.lit("household"))
        .when((pl.col("hub_u") == "true") | (pl.col("hub_v") == "true"))
        .then(pl.lit("hub"))
        .when(pl.col("circle_u") == pl.col("circle_v"))
        .then(pl.lit("friend"))
        .when(
            pl.col("role_u").is_in(["hotline", "employer"])
            | pl.col("role_v").is_in(["hotline", "employer"])
        )
        .then(pl.lit("company"))
        .otherwise(pl.lit("other")),
    )


def test_households_are_distinguishable_from_friends(pairs: pl.DataFrame) -> None:
    stats = {
        r["category"]: r
        for r in pairs.group_by("category")
        .agg(
            pairs=pl.len(),
            n=pl.col("n").mean(),
            median=pl.col("n").median(),
            offhours=(pl.col("n") * pl.col("offhours")).sum() / pl.col("n").sum(),
            night=(pl.col("n") * pl.col("night")).sum() / pl.col("n").sum(),
            same_home=pl.col("same_home").mean(),
        )
        .iter_rows(named=True)
    }
    house, friend = stats["household"], stats["friend"]
    assert house["pairs"] > 1500 and friend["pairs"] > 1500
    assert house["n"] > 2 * friend["n"] and house["median"] >= 3 * friend["median"]
    assert house["offhours"] > friend["offhours"] + 0.15
    assert house["night"] > 2.5 * friend["night"]
    assert house["same_home"] > 0.85 and friend["same_home"] < 0.05
    # a friend who calls almost every evening exists: evening contact alone is no household
    best = pairs.filter(pl.col("category") == "friend").sort("evenings", descending=True)
    assert best["evenings"][0] >= 30
    assert best["evenings"][0] > pairs.filter(pl.col("category") == "household")[
        "evenings"
    ].quantile(0.99)


def test_hubs_and_companies_look_like_what_they_are(
    world: WorldSummary, pairs: pl.DataFrame, bank: pl.DataFrame
) -> None:
    nodes = _truth(world, "nodes.csv")
    degree = pl.concat([pairs.select(node="u", n="n"), pairs.select(node="v", n="n")])
    deg = degree.group_by("node").agg(contacts=pl.len(), events=pl.col("n").sum())
    deg = deg.join(nodes.select(node="node_id", role="role"), on="node")
    hubs = deg.filter(pl.col("role") == "hub")
    persons = deg.filter(pl.col("role").is_in(["person", "external"]))
    assert hubs["contacts"].min() > 3 * persons["contacts"].quantile(0.95)
    # a hub's contacts make a large share of their calls with the hub
    hub_ids = hubs["node"]
    with_hub = pl.concat(
        [
            pairs.filter(pl.col("u").is_in(hub_ids.implode())).select(node="v", n="n"),
            pairs.filter(pl.col("v").is_in(hub_ids.implode())).select(node="u", n="n"),
        ]
    ).join(deg.select("node", "events"), on="node")
    assert (with_hub["n"] / with_hub["events"]).mean() > 0.12
    # companies: calls in weekday working hours only, hotlines called by very many
    company = pairs.filter(pl.col("category") == "company")
    assert company["offhours"].max() == 0 and company["night"].max() == 0
    hot = deg.filter(pl.col("role") == "hotline")
    assert hot["contacts"].min() > 50
    # no money goes back from utilities and to employers
    accounts = _truth(world, "accounts.csv").select("account", "node_id")
    roles = nodes.select("node_id", "role")
    ok = _accepted(bank).filter(pl.col("cp").is_not_null())
    flows = (
        ok.join(accounts.rename({"account": "acc", "node_id": "me"}), on="acc")
        .join(accounts.rename({"account": "cp", "node_id": "other"}), on="cp")
        .join(roles.rename({"node_id": "me", "role": "my_role"}), on="me")
        .join(roles.rename({"node_id": "other", "role": "other_role"}), on="other")
    )
    paid_by_utility = flows.filter((pl.col("my_role") == "utility") & (pl.col("cents") < 0))
    paid_to_employer = flows.filter(
        (pl.col("my_role") == "employer")
        & (pl.col("cents") > 0)
        & pl.col("other_role").is_in(["person", "hub"])
    )
    assert paid_by_utility.height == 0 and paid_to_employer.height == 0


def test_standing_orders_mark_households(world: WorldSummary, bank: pl.DataFrame) -> None:
    accounts = _truth(world, "accounts.csv").select("account", "node_id")
    nodes = _truth(world, "nodes.csv").select("node_id", "household_id", "kind")
    debits = (
        _accepted(bank)
        .filter(pl.col("cents") < 0, pl.col("cp").is_not_null())
        .join(accounts.rename({"account": "acc", "node_id": "src"}), on="acc")
        .join(accounts.rename({"account": "cp", "node_id": "dst"}), on="cp")
        .join(nodes.rename({"node_id": "src", "household_id": "hs", "kind": "ks"}), on="src")
        .join(nodes.rename({"node_id": "dst", "household_id": "hd", "kind": "kd"}), on="dst")
        .filter(pl.col("ks") == "person", pl.col("kd") == "person")
    )
    orders = (
        debits.group_by("src", "dst", "cents", pl.col("date").dt.day().alias("dom"))
        .agg(
            months=pl.col("date").dt.month().n_unique(), same=(pl.col("hs") == pl.col("hd")).first()
        )
        .filter(pl.col("months") >= 3)
    )
    assert orders.height > 200
    assert orders["same"].mean() > 0.75  # the rest are rents to landlords we also bank
