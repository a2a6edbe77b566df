"""Mapping files: every example in examples/mappings/ on its file, and each mapping key."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from conftest import DATA, ROOT, THIRD_PARTY, run_cli, status, tree
from relmine.store import Store

EXAMPLES = ROOT / "examples" / "mappings"
EXPORTS = DATA / "exports"
AMLSIM = THIRD_PARTY / "amlsim-cycle200"
OWN = "SK3112000000198742637541"
OTHER = "SK4109000000194684647769"


def _table(store: Path, table: str) -> pl.DataFrame:
    frame = Store.open(store).scan(table).collect()
    return frame.sort(frame.columns)


def _ingest(store: Path, *args: str | Path) -> dict:
    run = run_cli("ingest", *args, "--store", store)
    assert run.exit_code == 0, run.stderr
    return status(store)


def test_every_example_mapping_has_a_test() -> None:
    tested = {
        "amlsim.toml",
        "bank-de-sparkasse.toml",
        "bank-pl-mbank.toml",
        "cdr-operator-dump.toml",
    }
    assert {p.name for p in EXAMPLES.glob("*.toml")} == tested


def test_german_savings_bank_export(store: Path) -> None:
    st = _ingest(
        store, EXPORTS / "bank_de_sparkasse.csv", "--mapping", EXAMPLES / "bank-de-sparkasse.toml"
    )
    (f,) = st["files"]
    assert (f["kind"], f["rows"], f["accepted"], f["rejected"]) == ("bank", 4, 4, 0)
    bank = _table(store, "bank").sort("ts_local")
    assert bank["amount"].to_list() == [-850.0, 3215.4, -42.17, -1000.0]
    assert bank["ts_local"].dt.strftime("%Y-%m-%d").to_list() == [
        "2026-03-02",
        "2026-03-05",
        "2026-03-07",
        "2026-03-13",
    ]
    assert bank["counterparty"].to_list()[0] == "DE44500105175407324931"
    assert bank["counterparty"].to_list()[3] == "DE44500105175407324931"  # spaced writing
    assert bank["counterparty_name"].to_list()[1] == "Straßenbau Köhler GmbH"  # cp1252
    assert bank["description"].to_list()[1] == "Gehalt 03/2026; Personalnr. 4711"  # quoted ;
    assert st["events"] == {**st["events"], "bank": 3, "bookings_without_counterparty": 1}


def test_polish_bank_export_with_preamble_and_constant_account(store: Path) -> None:
    st = _ingest(store, EXPORTS / "bank_pl_mbank.csv", "--mapping", EXAMPLES / "bank-pl-mbank.toml")
    (f,) = st["files"]
    assert (f["rows"], f["accepted"], f["rejected"]) == (4, 4, 0)
    bank = _table(store, "bank").sort("ts_local")
    assert bank["account"].unique().to_list() == ["PL61109010140000071219812874"]
    assert bank["currency"].unique().to_list() == ["PLN"]
    assert bank["amount"].to_list() == [-1500.0, 4250.75, -87.3, -200.0]
    assert bank["counterparty_name"].to_list()[1] == "Żabka Polska Sp. z o.o."
    assert bank["src"].to_list()[1] == "PL39249000050000400053401234"  # the salary comes in


def test_operator_dump_with_numeric_record_types(store: Path) -> None:
    st = _ingest(
        store, EXPORTS / "cdr_operator_dump.txt", "--mapping", EXAMPLES / "cdr-operator-dump.toml"
    )
    (f,) = st["files"]
    # The MTC record of the first call is its other leg: one call.
    assert (f["rows"], f["accepted"], f["rejected"], f["duplicates"]) == (5, 4, 0, 1)
    cdr = _table(store, "cdr").sort("ts_local")
    assert cdr.select("caller", "callee").rows() == [
        ("+421905123456", "+421905654321"),
        ("+421905123456", "+421905777888"),
        ("+421905654321", "+421905123456"),  # SMS-MT: the other party sent it
        ("+421905123456", "+436641234567"),
    ]
    assert cdr["type"].cast(pl.String).to_list() == ["voice", "sms", "sms", "voice"]
    assert cdr["roaming_country"].to_list() == [None, None, None, "AT"]
    assert st["events"]["voice"] == 2 and st["events"]["sms"] == 2


def test_amlsim_transactions_with_step_time(store: Path) -> None:
    source = AMLSIM / "transactions.csv"
    st = _ingest(store, source, "--mapping", EXAMPLES / "amlsim.toml")
    raw = pl.read_csv(source, infer_schema=False)
    (f,) = st["files"]
    repeats = raw.height - raw.unique().height  # the same transfer listed twice
    assert (f["rows"], f["rejected"], f["duplicates"]) == (raw.height, 0, repeats)
    assert st["events"]["bank"] == raw.height - repeats
    bank = Store.open(store).scan("bank")
    steps = raw.select(pl.col("time").cast(pl.Int32)).to_series()
    days = bank.select(pl.col("ts_local").dt.date().unique().sort()).collect().to_series()
    assert days.len() == steps.n_unique()
    assert str(days[0]) == "2026-01-02" and str(days[-1]) == "2026-05-30"  # steps 1 and 149
    first = bank.filter(pl.col("account") == "280", pl.col("counterparty") == "15349").collect()
    assert first.select("amount", "currency", "src", "dst").row(0) == (
        -147.8,
        "USD",
        "280",
        "15349",
    )


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_debit_credit_pair_and_value_aliases(tmp_path: Path) -> None:
    export = _write(
        tmp_path / "export.csv",
        "Konto;Datum;Soll;Haben;Art\n"
        f"{OWN};01.03.2026;100,00;;UEB\n"
        f"{OWN};02.03.2026;;25,50;UEB\n"
        f"{OWN};03.03.2026;0,00;7,00;UEB\n"
        f"{OWN};04.03.2026;5,00;5,00;UEB\n",
    )
    mapping = _write(
        tmp_path / "m.toml",
        'kind = "bank"\n[columns]\naccount = "Konto"\nbooked_at = "Datum"\n'
        'debit = "Soll"\ncredit = "Haben"\ndescription = "Art"\n'
        '[values.description]\nUEB = "Überweisung"\n[constants]\ncurrency = "CHF"\n',
    )
    store = tmp_path / "s"
    run = run_cli(
        "ingest", export, "--mapping", mapping, "--store", store, "--max-reject-rate", "0.5"
    )
    assert run.exit_code == 0, run.stderr
    bank = _table(store, "bank").sort("ts_local")
    assert bank["amount"].to_list() == [-100.0, 25.5, 7.0]
    assert bank["currency"].unique().to_list() == ["CHF"]
    assert bank["description"].unique().to_list() == ["Überweisung"]
    (f,) = status(store)["files"]
    assert f["rejected_by_reason"] == {"both debit and credit": 1}
    rejects = Store.open(store).scan("rejects").collect()
    assert rejects["raw"].to_list() == [f"{OWN};04.03.2026;5,00;5,00;UEB"]  # as written


def test_unsigned_amount_with_debit_credit_indicator(tmp_path: Path) -> None:
    export = _write(
        tmp_path / "export.csv",
        f"account,amount,D/C,booked_at,counterparty\n{OWN},10.00,D,2026-03-01,{OTHER}\n"
        f"{OWN},4.00,C,2026-03-02,{OTHER}\n{OWN},-3.00,DR,2026-03-03,{OTHER}\n",
    )
    store = tmp_path / "s"
    run = run_cli("ingest", export, "--store", store)  # the indicator is a known synonym
    assert run.exit_code == 0, run.stderr
    assert _table(store, "bank").sort("ts_local")["amount"].to_list() == [-10.0, 4.0, -3.0]


def test_amount_sign_convention_and_step_hours(tmp_path: Path) -> None:
    export = _write(
        tmp_path / "sim.csv", f"from,to,amt,step\n{OWN},{OTHER},5,0\n{OWN},{OTHER},-2,25\n"
    )
    mapping = _write(
        tmp_path / "m.toml",
        'kind = "bank"\n[columns]\naccount = "from"\ncounterparty = "to"\namount = "amt"\n'
        'booked_at = "step"\n[amount]\nsign = "positive-is-debit"\n'
        '[time]\norigin = "2026-03-01 06:00"\nunit = "1h"\n',
    )
    store = tmp_path / "s"
    assert run_cli("ingest", export, "--mapping", mapping, "--store", store).exit_code == 0
    bank = _table(store, "bank").sort("ts_local")
    assert bank["amount"].to_list() == [-5.0, 2.0]
    assert bank["ts_local"].dt.strftime("%Y-%m-%d %H:%M").to_list() == [
        "2026-03-01 06:00",
        "2026-03-02 07:00",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('kind = "bank"\nfoo = 1\n', "unknown key 'foo'"),
        ('kind = "bnak"\n', "kind = 'bnak'"),
        ('decimal = ";"\n', 'decimal = \';\'; use "," or "."'),
        ("[time]\norigin = '2026-01-01'\nunit = 'fortnight'\n", "[time] unit"),
        ("[amount]\nsign = 'up'\n", "[amount] sign = 'up'"),
        ('[columns]\naccount = "Kontonr"\n', "maps `account` to column 'Kontonr'"),
        ('encoding = "klingon"\n', "unknown encoding 'klingon'"),
        ('kind = "bank"\n[columns]\nacount = "account"\n', "names 'acount', which is not"),
        ('[constants]\ncurency = "EUR"\n', "names 'curency'"),
        ('[columns]\naccount = "A"\ncounterparty = "a"\n', "two columns to 'a'"),
        ("quote = '<<'\n", "quote must be one character"),
        ("kind = \n", "not valid TOML"),
    ],
)
def test_bad_mapping_files_are_refused_with_the_key(
    tmp_path: Path, text: str, message: str
) -> None:
    export = _write(tmp_path / "e.csv", f"account,amount,booked_at\n{OWN},-1,2026-03-01\n")
    mapping = _write(tmp_path / "m.toml", text)
    store = tmp_path / "s"
    run = run_cli("ingest", export, "--mapping", mapping, "--store", store)
    assert run.exit_code == 1
    assert message in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
    assert tree(store) == {}


def test_date_and_time_in_two_columns(tmp_path: Path) -> None:
    export = _write(
        tmp_path / "dump.csv",
        "A_NUMBER;B_NUMBER;CALL_DATE;CALL_TIME;DURATION\n"
        "0905123456;0905654321;13.03.2026;23:05:10;60\n"
        "0905123456;0905654321;14.03.2026;;60\n",
    )
    mapping = _write(tmp_path / "m.toml", '[columns]\nstart_time = ["CALL_DATE", "CALL_TIME"]\n')
    store = tmp_path / "s"
    run = run_cli(
        "ingest", export, "--mapping", mapping, "--store", store, "--max-reject-rate", "0.5"
    )
    assert run.exit_code == 0, run.stderr
    cdr = _table(store, "cdr")
    assert cdr["ts_local"].dt.strftime("%Y-%m-%d %H:%M:%S").to_list() == ["2026-03-13 23:05:10"]
    (f,) = status(store)["files"]
    assert f["rejected_by_reason"] == {"missing start_time": 1}
    rejects = Store.open(store).scan("rejects").collect()
    assert rejects["raw"].to_list() == ["0905123456;0905654321;14.03.2026;;60"]
