"""``relmine profile``: the contact card on the sample world, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from conftest import SAMPLE, run_cli, run_process
from relmine.store import Store

TRUTH = pl.read_csv(SAMPLE / "truth" / "nodes.csv", infer_schema=False)
CUSTOMERS = pl.read_csv(SAMPLE / "customers.csv", infer_schema=False)

#: A customer of the sample with one phone and one account, in a household of four (truth).
PERSON = "C10000971"
PHONE_WRITINGS = ("+421 956 241 018", "0956241018", "00421956241018", "421956241018")
IBAN_WRITING = "sk92 0900 0000 0067 4266 7100"


def _card(store: Path, party: str, *extra: str | Path) -> dict:
    run = run_cli("profile", party, "--store", store, "--format", "json", *extra)
    assert run.exit_code == 0, run.stderr
    return run.json()


@pytest.fixture(scope="module")
def card(sample_store: Path) -> dict:
    return _card(sample_store, PERSON)


def _without_match(card: dict) -> dict:
    return {**card, "identity": {**card["identity"], "matched_as": None}}


def test_identity_lists_every_phone_and_account(card: dict) -> None:
    rows = CUSTOMERS.filter(pl.col("customer_id") == PERSON)
    identity = card["identity"]
    assert card["node_id"] == identity["node_id"] == PERSON
    assert identity["in_register"] is True
    assert identity["name"] == rows["name"][0]
    assert identity["phones"] == ["+421956241018"]
    assert identity["accounts"] == ["SK9209000000006742667100"]


def test_household_lists_the_other_members(card: dict) -> None:
    home = TRUTH.filter(pl.col("node_id") == PERSON)["household_id"][0]
    truth = set(TRUTH.filter(pl.col("household_id") == home)["node_id"]) - {PERSON}
    household = card["household"]
    members = {m["node_id"] for m in household["members"]}
    assert len(truth) == 3
    assert members == truth
    assert household["household_size"] == len(members) + 1
    assert all(m["evidence"] for m in household["members"])


def test_grid_sums_to_the_calls_and_messages_of_the_party(sample_store: Path, card: dict) -> None:
    grid = card["activity_grid"]
    assert len(grid["counts"]) == 7 and all(len(row) == 24 for row in grid["counts"])
    total = sum(map(sum, grid["counts"]))
    by_channel = {c["channel"]: c for c in card["activity"]["channels"]}
    assert total == by_channel["voice"]["events"] + by_channel["sms"]["events"]
    # counted apart, straight from the store's calls: every call or message of the party's phone
    calls = Store.open(sample_store).scan("cdr")
    phone = "+421956241018"
    mine = calls.filter((pl.col("caller") == phone) | (pl.col("callee") == phone))
    assert total == mine.select(pl.len()).collect().item() > 0
    months = card["monthly"]
    assert sum(m["total"] for m in months) == card["activity"]["events"]
    assert [m["month"] for m in months] == ["2026-01", "2026-02", "2026-03"]


def test_top_contacts_are_the_strongest_ties(
    sample_store: Path, card: dict, tmp_path: Path
) -> None:
    ties_file = tmp_path / "ties.parquet"
    assert run_cli("graph", "--store", sample_store, "-o", ties_file, "-q").exit_code == 0
    ties = pl.read_parquet(ties_file).filter((pl.col("a") == PERSON) | (pl.col("b") == PERSON))
    ties = ties.with_columns(other=pl.when(pl.col("a") == PERSON).then("b").otherwise("a"))
    expected = ties.sort(["weight", "other"], descending=[True, False]).head(10)
    contacts = card["top_contacts"]
    assert [c["node_id"] for c in contacts] == expected["other"].to_list()
    assert [c["weight"] for c in contacts] == expected["weight"].round(4).to_list()
    assert card["activity"]["contacts"] == ties.height == 13
    members = {m["node_id"] for m in card["household"]["members"]}
    assert contacts[0]["node_id"] in members  # family first
    assert all(c["evidence"] for c in contacts)
    three = _card(sample_store, PERSON, "--top", "3")["top_contacts"]
    assert three == contacts[:3]


def test_community_holds_the_household(card: dict) -> None:
    community = card["community"]
    assert community["community_size"] >= card["household"]["household_size"]
    assert 0 < community["contacts_inside"] <= card["activity"]["contacts"]
    assert 0 < community["weight_inside"] <= 1


@pytest.mark.parametrize("writing", [*PHONE_WRITINGS, IBAN_WRITING])
def test_any_writing_gives_the_same_card(sample_store: Path, card: dict, writing: str) -> None:
    other = _card(sample_store, writing)
    assert other["identity"]["matched_as"] == ("account" if writing == IBAN_WRITING else "phone")
    assert _without_match(other) == _without_match(card)


def test_unknown_party_exits_1_with_one_line(sample_store: Path) -> None:
    for unknown in ("0905 000 000", "C00000000", "SK0000000000000000000000"):
        run = run_process("profile", unknown, "--store", sample_store)
        assert run.returncode == 1
        assert run.stdout == ""
        assert run.stderr.count("\n") == 1 and "Traceback" not in run.stderr
        assert "no customer id, phone number or account" in run.stderr
        assert repr(unknown) in run.stderr


def test_party_outside_the_register(sample_store: Path) -> None:
    outside = TRUTH.filter(
        (pl.col("role") == "external") & pl.col("node_id").str.starts_with("+421")
    )
    external = outside["node_id"][0]
    national = "0" + external.removeprefix("+421")
    card = _card(sample_store, national)
    assert card["node_id"] == external
    assert card["identity"]["in_register"] is False
    assert card["identity"]["phones"] == [external]
    assert card["activity"]["events"] > 0


def test_groups_from_earlier_outputs_give_the_same_card(
    sample_store: Path, card: dict, tmp_path: Path
) -> None:
    households, communities = tmp_path / "h.csv", tmp_path / "c.parquet"
    for command, out in (("households", households), ("communities", communities)):
        run = run_cli(command, "--store", sample_store, "-o", out, "-q")
        assert run.exit_code == 0, run.stderr
    read = _card(sample_store, PERSON, "--households", households, "--communities", communities)
    assert read["community"].pop("source") == str(communities)
    assert card["community"]["source"] == "louvain, resolution 1.0, seed 0"
    assert read["household"] == card["household"]
    assert read["community"] == {k: v for k, v in card["community"].items() if k != "source"}

    wrong = run_cli("profile", PERSON, "--store", sample_store, "--households", communities)
    assert wrong.exit_code == 1
    assert "is not an output of `relmine households` (no household_id" in wrong.stderr


def test_window_and_channels(sample_store: Path) -> None:
    card = _card(sample_store, PERSON, "--channels", "voice,sms", "--since", "2026-02-01")
    assert {c["channel"] for c in card["activity"]["channels"]} == {"voice", "sms"}
    assert card["activity"]["first_contact"] >= "2026-02-01"
    assert [m["month"] for m in card["monthly"]] == ["2026-02", "2026-03"]
    assert all(m["bank"] == 0 for m in card["monthly"])


def test_terminal_card(sample_store: Path, card: dict) -> None:
    run = run_cli("profile", PERSON, "--store", sample_store)
    assert run.exit_code == 0, run.stderr
    for title in ("contact card of", "activity: channels", "strongest contacts", "household"):
        assert title in run.stdout
    for member in card["household"]["members"]:
        assert member["node_id"] in run.stdout
    assert "█" in run.stdout  # the grid and the monthly bars
    assert "\x1b[" not in run.stdout  # no colour codes when not a terminal
    assert json.dumps(card)  # and the JSON card is plain data


def test_party_without_ties_in_the_channels(sample_store: Path) -> None:
    phone_only = "0950480163"  # a number outside the register: calls and messages, no account
    card = _card(sample_store, phone_only, "--channels", "bank")
    assert card["activity"]["events"] == 0 and card["top_contacts"] == []
    assert sum(map(sum, card["activity_grid"]["counts"])) == 0 and card["monthly"] == []
    assert card["household"]["household_id"] is None and card["household"]["members"] == []
    assert card["household"]["evidence"] == "no ties in this window and these channels"
    assert set(card["community"]) == {
        "community_id",
        "community_size",
        "contacts_inside",
        "weight_inside",
        "source",
    }
    assert (
        run_cli("profile", phone_only, "--store", sample_store, "--channels", "bank").exit_code == 0
    )


def test_influence_and_risk_sections(sample_store: Path, card: dict, tmp_path: Path) -> None:
    hubs = TRUTH.filter(pl.col("is_hub") == "true")["node_id"].sort()
    hub = _card(sample_store, hubs[0])
    assert hub["influence"]["rank"] <= hubs.len()  # a planted hub ranks among the top k
    assert hub["influence"]["domino"] > 0
    assert "their churn would take about" in hub["influence"]["explanation"]
    assert card["influence"]["ranked"] > 1000
    assert card["risk"]["exposure_rank"] >= 1 and card["risk"]["network_capacity"] > 0
    assert card["risk"]["explanation"].startswith("capacity ")
    # a hotline is no influencer, and says why
    hotline = TRUTH.filter(pl.col("role") == "hotline")["node_id"][0]
    assert _card(sample_store, hotline)["influence"]["explanation"].startswith(
        "not an influencer: hotline-like"
    )
    # read from the commands' outputs: the same figures
    influencers, risk = tmp_path / "i.parquet", tmp_path / "r.parquet"
    assert (
        run_cli("influencers", "--store", sample_store, "--top", "0", "-o", influencers).exit_code
        == 0
    )
    assert run_cli("risk", "--store", sample_store, "-o", risk).exit_code == 0
    read = _card(sample_store, PERSON, "--influencers", influencers, "--risk", risk)
    for section in ("influence", "risk"):
        assert read[section].pop("source") != card[section]["source"]
        assert read[section] == {k: v for k, v in card[section].items() if k != "source"}
