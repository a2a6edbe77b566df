"""relmine tem: prices checked by hand, the corporate world's planted anomalies, number types."""

from __future__ import annotations

from pathlib import Path

import phonenumbers
import polars as pl
import pytest

from conftest import DATA, ROOT, SAMPLE, run_cli
from relmine.demo_corporate import CORPORATE_TARIFF, make_corporate_world
from relmine.ingest.identity import phone_types

TEM = DATA / "tem"
ALL_CLASSES = "[internal]\n[mobile]\n[fixed]\n[international]\n[premium]\n[roaming]\n"


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three employees and twelve hand-made calls and messages."""
    store = tmp_path_factory.mktemp("tem") / "store"
    run = run_cli("ingest", TEM / "employees.csv", TEM / "calls.csv", "--store", store)
    assert run.exit_code == 0, run.stderr
    return store


def _tem(store: Path, out: Path, *args: str | Path) -> pl.DataFrame:
    run = run_cli("tem", "--store", store, "--tariff", TEM / "tariff.toml", "-o", out, *args)
    assert run.exit_code == 0, run.stderr
    return pl.read_csv(out)


def test_costs_equal_a_hand_computation(small: Path, tmp_path: Path) -> None:
    # tests/data/tem/tariff.toml, per started minute; each line is one call or message
    e1 = (
        0.0  # E1 -> E2, internal, 125 s
        + 2 * 0.10  # 61 s to a mobile: 2 started minutes
        + 0.05  # a message to a mobile
        + 2 * 1.00
        + 0.50  # 90 s to 0900 (premium): 2 minutes and the setup fee
        + 0.0  # 200 s to 0800 (toll-free, not priced: free)
    )
    e2 = 1 * 0.04 + 0.0  # 59 s to a Bratislava fixed line; an unanswered call
    e3 = (
        3 * 0.20
        + 0.05  # 130 s to a Czech mobile: international.CZ
        + 1 * 0.50
        + 0.10  # 10 s to a German mobile: the international default
        + 1 * 0.30  # 45 s while roaming in Austria
        + 0.10  # a message while roaming
    )
    usage = _tem(small, tmp_path / "usage.csv")
    cost = dict(zip(usage["node_id"], usage["cost"], strict=True))
    assert cost == pytest.approx({"E1": e1, "E2": e2, "E3": e3}, abs=1e-9)
    destinations = _tem(small, tmp_path / "d.csv", "--what", "destinations")
    assert destinations["cost"].sum() == pytest.approx(e1 + e2 + e3, abs=1e-9)
    assert round(e1 + e2 + e3, 2) == 4.44
    by_class = dict(
        zip(
            destinations["destination"] + ":" + destinations["country"].fill_null(""),
            destinations["cost"],
            strict=True,
        )
    )
    assert by_class["premium:"] == pytest.approx(2.50)
    assert by_class["international:CZ"] == pytest.approx(0.65)
    assert by_class["international:DE"] == pytest.approx(0.60)
    assert by_class["roaming:AT"] == pytest.approx(0.40)
    # the internal call counts for both ends; the incoming call costs nothing
    row = usage.filter(pl.col("node_id") == "E1").row(0, named=True)
    assert (row["calls_internal"], row["calls_external"], row["messages_external"]) == (1, 4, 1)
    assert row["department"] == "Sales" and row["cost_center"] == "CC-1"
    assert row["anomalies"] == 1  # the premium-rate call
    assert usage.filter(pl.col("node_id") == "E2")["calls_internal"][0] == 1


def test_departments_and_by_department(small: Path, tmp_path: Path) -> None:
    graph = _tem(small, tmp_path / "g.csv", "--what", "departments")
    assert graph.select("from_department", "to_department", "calls").rows() == [
        ("Sales", "Sales", 1)
    ]
    assert graph["minutes"][0] == pytest.approx(125 / 60, abs=0.05)
    usage = _tem(small, tmp_path / "u.csv", "--by", "department")
    assert dict(zip(usage["department"], usage["employees"], strict=True)) == {"Sales": 2, "IT": 1}
    assert usage["cost"].sum() == pytest.approx(4.44)
    partners = _tem(small, tmp_path / "p.csv", "--by", "department", "--what", "partners")
    sales = partners.filter(pl.col("department") == "Sales")
    assert sales["partner"][0] == "+421900123456"  # the most expensive first
    assert sales["destination"][0] == "premium"


def test_corporate_world_anomalies_are_flagged(tmp_path: Path) -> None:
    world = make_corporate_world(tmp_path / "corp")
    store = tmp_path / "store"
    run = run_cli("ingest", world / "customers.csv", world / "calls.csv", "--store", store)
    assert run.exit_code == 0, run.stderr
    out = tmp_path / "anomalies.csv"
    args = ["--tariff", world / "tariff.toml", "--watch-list", world / "watch-list.csv"]
    run = run_cli("tem", "--store", store, *args, "--what", "anomalies", "-o", out)
    assert run.exit_code == 0, run.stderr
    found = pl.read_csv(out, infer_schema=False)
    truth = pl.read_csv(world / "truth" / "anomalies.csv", infer_schema=False)
    keys = ["node_id", "anomaly", "partner"]
    missed = truth.join(found, on=keys, how="anti")
    assert missed.is_empty(), f"planted anomalies not flagged:\n{missed}"
    false = found.join(truth, on=keys, how="anti")
    print(f"flags not planted ({false.height}):\n{false.select(*keys, 'reason')}")
    assert false.height <= 2
    assert set(truth["anomaly"]) == {"premium", "roaming_spike", "private", "competitor"}
    reasons = dict(zip(found["anomaly"], found["reason"], strict=False))
    assert "premium-rate number +421900" in reasons["premium"]
    assert "roaming in EG" in reasons["roaming_spike"] and "the usual" in reasons["roaming_spike"]
    assert "evenings, nights or weekends" in reasons["private"]
    assert "on the watch list" in reasons["competitor"]
    # the same store and options give the same bytes
    again = tmp_path / "again.csv"
    run_cli("tem", "--store", store, *args, "--what", "anomalies", "-o", again)
    assert again.read_bytes() == out.read_bytes()


def test_demo_corporate_command(tmp_path: Path) -> None:
    run = run_cli("demo", "--corporate", tmp_path / "demo")
    assert run.exit_code == 0, run.stderr
    assert "7 of 7" in run.stdout
    assert (tmp_path / "demo" / "tem-departments.parquet").is_file()


def test_example_tariff_is_the_corporate_demo_s() -> None:
    assert (ROOT / "examples" / "tem" / "tariff.toml").read_text() == CORPORATE_TARIFF


def test_sample_world_with_all_customers(sample_store: Path, tmp_path: Path) -> None:
    """The sample has no employees: refused with a hint, or every person taken as one."""
    tariff = ROOT / "examples" / "tem" / "tariff.toml"
    run = run_cli("tem", "--store", sample_store, "--tariff", tariff)
    assert run.exit_code == 1
    assert "--all-customers" in run.stderr and "kind = employee" in run.stderr
    out = tmp_path / "usage.parquet"
    run = run_cli("tem", "--store", sample_store, "--tariff", tariff, "--all-customers", "-o", out)
    assert run.exit_code == 0, run.stderr
    usage = pl.read_parquet(out)
    persons = pl.read_csv(SAMPLE / "customers.csv", infer_schema=False).filter(
        (pl.col("kind") == "person") & pl.col("phone").is_not_null()
    )
    assert usage["node_id"].sort().to_list() == persons["customer_id"].unique().sort().to_list()
    assert usage["cost"].sum() > 0
    assert (usage["work_share"].drop_nulls() <= 1).all()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[internal]\n", "no [mobile] table"),
        (ALL_CLASSES + "per_hour = 1\n", "unknown key 'per_hour'"),
        ("increment_s = 0\n" + ALL_CLASSES, "increment_s must be a whole number"),
        (ALL_CLASSES + "[international.XYZ]\n", "not an ISO 3166 country code"),
        ("[internal\n", "not valid TOML"),
    ],
)
def test_bad_tariffs_are_refused(small: Path, tmp_path: Path, text: str, message: str) -> None:
    tariff = tmp_path / "tariff.toml"
    tariff.write_text(text)
    run = run_cli("tem", "--store", small, "--tariff", tariff)
    assert run.exit_code == 1
    assert message in run.stderr


def test_phone_types_agree_with_phonenumbers() -> None:
    phones = pl.read_csv(SAMPLE / "truth" / "phones.csv")["phone"]
    special = [
        "+421900123456",
        "+421800123456",
        "+421850123456",
        "+421250101234",
        "112",
        "+12025550123",
        "+447911123456",
        "+4915123456789",
        "+80012345678",
        "tel-x1",
    ]
    table = phone_types(pl.concat([phones, pl.Series(special)]), region="SK")
    for phone, kind, country in table.iter_rows():
        if not phone.startswith("+"):
            continue
        number = phonenumbers.parse(phone, None)
        expected = phonenumbers.number_type(number)
        assert getattr(phonenumbers.PhoneNumberType, kind.upper()) == expected, phone
        assert country == phonenumbers.region_code_for_number(number), phone
    rows = {r[0]: r[1:] for r in table.iter_rows()}
    assert rows["112"] == ("short_free", "SK")
    assert rows["tel-x1"] == ("unknown", None)
    assert rows["+421900123456"] == ("premium_rate", "SK")


def test_terminal_table_and_summary(small: Path) -> None:
    run = run_cli("tem", "--store", small, "--tariff", TEM / "tariff.toml", "--what", "anomalies")
    assert run.exit_code == 0, run.stderr
    assert "tem: anomalies" in run.stdout and "premium-rate number +421900123456" in run.stdout
    assert "total cost (EUR)" in run.stdout and "4.44" in run.stdout
