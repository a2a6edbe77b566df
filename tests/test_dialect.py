"""Real-world exports without a mapping file: encodings, separators, decimal commas, quoting,
date formats, header synonyms in five languages, and subscriber-centric CDRs with MOC/MTC codes.

The acceptance test writes the same data once canonically and once as a bank or operator would
export it, ingests both, and compares the stores' events.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from conftest import run_cli, status, tree
from relmine.ingest.mapping import _key, synonyms
from relmine.schema import DERIVING_COLUMNS, INPUT_COLUMNS, KINDS
from relmine.store import Store

# Valid IBANs (check digits computed with python-stdnum).
OWN = "SK3112000000198742637541"
OTHER = "SK4109000000194684647769"
THIRD = "SK5309000000005635219578"

BANK = pl.DataFrame(
    {
        "account": [OWN, OWN, OWN, OTHER, OWN],
        "counterparty": [OTHER, None, THIRD, OWN, OTHER],
        "amount": [-1250.5, -12.0, 3215.4, 1250.5, -0.99],
        "currency": ["EUR"] * 5,
        "day": [1, 15, 28, 1, 3],
        "description": ["Nájom marec", "Platba kartou; Billa", "Výplata", "Nájom", "Poplatok"],
        "counterparty_name": ["Ľubomír Šťastný", None, "Žilinská a.s.", "Ján Kováč", "Ľ. Šťastný"],
    }
)

CDR = pl.DataFrame(
    {
        "caller": ["0905123456", "0905123456", "+421905654321", "0905123456"],
        "callee": ["0905654321", "+421 905 777 888", "0905123456", "00421905654321"],
        "start": ["2026-03-01 14:05:00", "2026-03-01 23:30:10", "2026-03-29 04:00:00", None],
        "duration_s": [60, 0, 125, 0],
        "code": ["MOC", "SMS-MO", "MOC", "SMS-MO"],
        "type": ["voice", "sms", "voice", "sms"],
        "cell_id": ["C1", "C1", "C7", "C2"],
    }
).with_columns(pl.col("start").fill_null("2026-10-25 02:30:00"))  # the repeated hour


def _canonical_bank(path: Path) -> None:
    BANK.select(
        "account",
        "counterparty",
        "amount",
        "currency",
        pl.format("2026-03-{}", pl.col("day").cast(pl.String).str.zfill(2)).alias("booked_at"),
        "description",
        "counterparty_name",
    ).write_csv(path)


def _slovak_bank(path: Path) -> None:
    """A Slovak statement: cp1250, ``;``, decimal comma, d.m.yyyy, Slovak headers."""
    frame = BANK.select(
        pl.col("account").alias("Číslo účtu"),
        pl.col("counterparty").alias("Protiúčet"),
        pl.col("amount")
        .map_elements(lambda v: f"{v:,.2f}".replace(",", " ").replace(".", ","), pl.String)
        .alias("Suma"),
        pl.col("currency").alias("Mena"),
        pl.format("{}.3.2026", pl.col("day")).alias("Dátum zaúčtovania"),
        pl.col("description").alias("Popis"),
        pl.col("counterparty_name").alias("Názov protiúčtu"),
    )
    text = frame.write_csv(separator=";", quote_style="necessary")
    path.write_bytes(text.encode("cp1250"))


def _canonical_cdr(path: Path) -> None:
    CDR.select(
        "caller", "callee", pl.col("start").alias("start_time"), "duration_s", "type", "cell_id"
    ).write_csv(path)


def _operator_cdr(path: Path) -> None:
    """An operator export: ``|``, A_NUMBER/B_NUMBER, naive local times, MOC/SMS-MO codes."""
    CDR.select(
        pl.col("caller").alias("A_NUMBER"),
        pl.col("callee").alias("B_NUMBER"),
        pl.col("start")
        .str.to_datetime("%Y-%m-%d %H:%M:%S")
        .dt.strftime("%d.%m.%Y %H:%M:%S")
        .alias("CALL_START"),
        pl.col("duration_s").alias("DURATION"),
        pl.col("code").alias("EVENT_TYPE"),
        pl.col("cell_id").alias("CELL"),
    ).write_csv(path, separator="|")


def _events(store: Path, table: str) -> pl.DataFrame:
    frame = Store.open(store).scan(table).collect()
    return frame.sort(frame.columns)


def test_slovak_statement_and_operator_cdr_match_canonical(tmp_path: Path) -> None:
    _canonical_bank(tmp_path / "bank.csv")
    _canonical_cdr(tmp_path / "calls.csv")
    _slovak_bank(tmp_path / "vypis.csv")
    _operator_cdr(tmp_path / "cdr_export.txt")
    assert b"\x9d" in (tmp_path / "vypis.csv").read_bytes()  # cp1250's "ť", invalid in UTF-8

    plain, real = tmp_path / "plain", tmp_path / "real"
    run = run_cli("ingest", tmp_path / "bank.csv", tmp_path / "calls.csv", "--store", plain)
    assert run.exit_code == 0, run.stderr
    run = run_cli("ingest", tmp_path / "vypis.csv", tmp_path / "cdr_export.txt", "--store", real)
    assert run.exit_code == 0, run.stderr

    kinds = {Path(f["path"]).name: f["kind"] for f in status(real)["files"]}
    assert kinds == {"vypis.csv": "bank", "cdr_export.txt": "cdr"}
    for table in ("bank", "cdr"):
        assert_frame_equal(_events(real, table), _events(plain, table))
    bank = _events(real, "bank")
    assert "Ľubomír Šťastný" in bank["counterparty_name"].to_list()
    assert sorted(bank["amount"].to_list()) == sorted(BANK["amount"].to_list())
    assert status(real)["events"] == status(plain)["events"]
    # rent (booked on both statements, one transfer), salary, fee; the card payment apart
    assert status(real)["events"]["bank"] == 3
    assert status(real)["events"]["bookings_without_counterparty"] == 1


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1250", "latin-1"])
@pytest.mark.parametrize("separator", [",", ";", "|", "\t"])
def test_encodings_and_separators(tmp_path: Path, encoding: str, separator: str) -> None:
    name = "Müller" if encoding == "latin-1" else "Šťastný"
    rows = [
        ["account", "counterparty", "amount", "booked_at", "counterparty_name"],
        [OWN, OTHER, "-10.50", "2026-03-01", name],
        [OWN, OTHER, "-3.00", "2026-03-02", f'"{name}, {separator} jr."'],
    ]
    text = "\n".join(separator.join(r) for r in rows) + "\n"
    path = tmp_path / "export.csv"
    path.write_bytes(text.encode(encoding))
    run = run_cli("ingest", path, "--store", tmp_path / "s")
    assert run.exit_code == 0, run.stderr
    bank = _events(tmp_path / "s", "bank")
    assert sorted(bank["counterparty_name"].to_list()) == [name, f"{name}, {separator} jr."]
    assert sorted(bank["amount"].to_list()) == [-10.5, -3.0]


def test_decimal_comma_with_thousands(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(
        "account;amount;booked_at\n"
        f"{OWN};-1.234,56;01.03.2026\n{OWN};1 000 000,00;2.3.2026\n{OWN};0,99;03.03.2026 14:05\n"
    )
    run = run_cli("ingest", path, "--store", tmp_path / "s")
    assert run.exit_code == 0, run.stderr
    bank = _events(tmp_path / "s", "bank").sort("ts_local")
    assert bank["amount"].to_list() == [-1234.56, 1_000_000.0, 0.99]
    assert bank["ts_local"].dt.strftime("%Y-%m-%d %H:%M").to_list() == [
        "2026-03-01 00:00",
        "2026-03-02 00:00",
        "2026-03-03 14:05",
    ]


@pytest.mark.parametrize(
    ("dates", "expected"),
    [
        (["13/03/2026", "01/03/2026"], ["2026-03-01", "2026-03-13"]),  # a day above 12: d/m
        (["03/13/2026", "03/01/2026"], ["2026-03-01", "2026-03-13"]),  # m/d
        (["2026-03-01", "2026-03-13"], ["2026-03-01", "2026-03-13"]),
        (["1.3.2026", "13.03.2026"], ["2026-03-01", "2026-03-13"]),
    ],
)
def test_date_orders_that_the_sample_proves(
    tmp_path: Path, dates: list[str], expected: list[str]
) -> None:
    path = tmp_path / "export.csv"
    path.write_text("account,amount,booked_at\n" + "".join(f"{OWN},-1,{d}\n" for d in dates))
    run = run_cli("ingest", path, "--store", tmp_path / "s")
    assert run.exit_code == 0, run.stderr
    days = _events(tmp_path / "s", "bank")["ts_local"].dt.strftime("%Y-%m-%d")
    assert sorted(days.to_list()) == expected


def test_ambiguous_day_month_is_refused_and_date_format_settles_it(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"account,amount,booked_at\n{OWN},-1,01/03/2026\n{OWN},-2,02/03/2026\n")
    store = tmp_path / "s"
    run = run_cli("ingest", path, "--store", store)
    assert run.exit_code == 1
    assert "--date-format '%d/%m/%Y'" in run.stderr and "date_format" in run.stderr
    assert "01/03/2026" in run.stderr
    assert tree(store) == {}  # refused before the store was created

    run = run_cli("ingest", path, "--store", store, "--date-format", "%m/%d/%Y")
    assert run.exit_code == 0, run.stderr
    days = _events(store, "bank")["ts_local"].dt.strftime("%Y-%m-%d").to_list()
    assert sorted(days) == ["2026-01-03", "2026-02-03"]


def test_mixed_day_month_orders_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"account,amount,booked_at\n{OWN},-1,13/03/2026\n{OWN},-2,03/14/2026\n")
    run = run_cli("ingest", path, "--store", tmp_path / "s")
    assert run.exit_code == 1
    assert "mixes day-first and month-first" in run.stderr


@pytest.mark.parametrize(
    "header",
    [
        "IBAN;Gegenkonto;Betrag;Währung;Buchungstag",  # de
        "Číslo účtu;Protiúčet;Suma;Mena;Dátum zaúčtovania",  # sk
        "Číslo účtu;Protiúčet;Částka;Měna;Datum zaúčtování",  # cs
        "Numer rachunku;Rachunek kontrahenta;Kwota;Waluta;Data księgowania",  # pl
        "Account number;Counterparty account;Amount;Currency;Booking date",  # en
        "CISLO_UCTU;PROTIUCET;CASTKA;MENA;DATUM_ZAUCTOVANI",  # no diacritics, upper case
    ],
)
def test_bank_header_synonyms(tmp_path: Path, header: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"{header}\n{OWN};{OTHER};-12,50;CZK;01.03.2026\n", encoding="utf-8")
    run = run_cli("ingest", path, "--store", tmp_path / "s")
    assert run.exit_code == 0, run.stderr
    row = _events(tmp_path / "s", "bank").row(0, named=True)
    assert (row["account"], row["counterparty"], row["amount"], row["currency"]) == (
        OWN,
        OTHER,
        -12.5,
        "CZK",
    )


def test_subscriber_centric_dump_direction_from_codes(tmp_path: Path) -> None:
    """MSISDN + OTHER_PARTY: MOC/SMS-MO make the subscriber the caller, MTC/SMS-MT the other."""
    path = tmp_path / "dump.csv"
    path.write_text(
        "MSISDN;OTHER_PARTY;CALL_START;DURATION;EVENT_TYPE;CELL\n"
        "0905654321;0905123456;2026-03-01 10:00:00;60;MTC;C9\n"  # the next call's other leg
        "0905123456;0905654321;2026-03-01 10:00:00;60;MOC;C1\n"
        "0905123456;0905777888;2026-03-01 11:00:00;30;MTC;C1\n"
        "0905123456;0905777888;2026-03-01 12:00:00;;SMS-MT;C1\n"
        "0905123456;0905654321;2026-03-01 13:00:00;;SMS-MO;C1\n"
        "0905123456;0905654321;2026-03-01 14:00:00;5;FWD;C1\n"
    )
    run = run_cli("ingest", path, "--store", tmp_path / "s", "--max-reject-rate", "0.5")
    assert run.exit_code == 0, run.stderr
    (f,) = status(tmp_path / "s")["files"]
    assert (f["rows"], f["accepted"], f["rejected"], f["duplicates"]) == (6, 4, 1, 1)
    assert f["rejected_by_reason"] == {"unknown direction": 1}
    cdr = _events(tmp_path / "s", "cdr").sort("ts_local")
    short = cdr.select(
        pl.col("caller").str.slice(-3),
        pl.col("callee").str.slice(-3),
        pl.col("type").cast(pl.String),
        "cell_id",
    ).rows()
    assert short == [
        ("456", "321", "voice", "C1"),  # MOC; the MTC leg of the same call counts once
        ("888", "456", "voice", None),  # terminating: the cell is the callee's, not kept
        ("888", "456", "sms", None),
        ("456", "321", "sms", "C1"),
    ]
    rejects = Store.open(tmp_path / "s").scan("rejects").collect()
    assert rejects["raw"].to_list() == ["0905123456;0905654321;2026-03-01 14:00:00;5;FWD;C1"]


def test_unknown_layout_names_the_mapping(tmp_path: Path) -> None:
    path = tmp_path / "odd.csv"
    path.write_text("foo;bar;baz\n1;2;3\n")
    run = run_cli("ingest", path, "--store", tmp_path / "s", "--kind", "bank")
    assert run.exit_code == 1
    assert "--mapping" in run.stderr and "`account`" in run.stderr


def test_synonyms_file_names_only_known_columns_each_once() -> None:
    data = synonyms()
    for kind in KINDS:
        known = {*INPUT_COLUMNS[kind], *DERIVING_COLUMNS[kind]}
        section = data.get(kind, {})
        assert set(section) <= known, kind
        seen: dict[str, str] = {_key(c): c for c in known}
        for column, names in section.items():
            for name in names:
                # A name listed twice (or equal to another column's canonical name) would be
                # silently ignored the second time.
                assert seen.setdefault(_key(name), column) == column, (kind, name)
    assert {"originating", "terminating"} <= set(data["cdr_direction_values"])


@pytest.mark.parametrize(
    ("name", "encoding"),
    [
        ("Řehoř Čapek", "cp1250"),
        ("Šárka Ťažká", "cp1250"),
        ("Łukasz Żółć", "cp1250"),
        ("Françoise Crème-Muñoz", "latin-1"),
        ("Åse Jørgensen", "latin-1"),
        ("Jürgen Weiß", "latin-1"),  # the same bytes in both
    ],
)
def test_cp1250_and_latin1_are_told_apart(tmp_path: Path, name: str, encoding: str) -> None:
    path = tmp_path / "export.csv"
    text = f"account,amount,booked_at,counterparty_name\n{OWN},-1,2026-03-01,{name}\n"
    path.write_bytes(text.encode(encoding))
    assert run_cli("ingest", path, "--store", tmp_path / "s").exit_code == 0
    assert _events(tmp_path / "s", "bank")["counterparty_name"].to_list() == [name]


def test_cp1250_rejects_keep_line_and_text(tmp_path: Path) -> None:
    path = tmp_path / "vypis.csv"
    text = (
        "Číslo účtu;Suma;Dátum zaúčtovania;Popis\n"
        f"{OWN};-1,00;1.3.2026;Káva\n"
        "\n"
        f"{OWN};zľava;2.3.2026;Šťastie\n"
        f"{OWN};-3,00;3.3.2026;Čaj\n"
    )
    path.write_bytes(text.encode("cp1250"))
    store = tmp_path / "s"
    run = run_cli("ingest", path, "--store", store, "--max-reject-rate", "0.5")
    assert run.exit_code == 0, run.stderr
    rejects = Store.open(store).scan("rejects").collect()
    assert rejects.select("line", "reason", "raw").rows() == [
        (4, "bad amount", f"{OWN};zľava;2.3.2026;Šťastie")
    ]
    assert sorted(_events(store, "bank")["description"].to_list()) == ["Káva", "Čaj"]


def test_durations_with_a_decimal_comma(tmp_path: Path) -> None:
    path = tmp_path / "calls.csv"
    path.write_text(
        "caller;callee;start_time;duration_s\n"
        "0905123456;0905654321;2026-03-01 10:00:00;60,4\n"
        "0905123456;0905654321;2026-03-01 11:00:00;1 200,6\n"
    )
    assert run_cli("ingest", path, "--store", tmp_path / "s").exit_code == 0
    assert sorted(_events(tmp_path / "s", "cdr")["duration_s"].to_list()) == [60, 1201]


def test_subscriber_centric_dump_without_direction_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dump.csv"
    path.write_text("MSISDN;OTHER_PARTY;CALL_START\n0905123456;0905654321;2026-03-01 10:00:00\n")
    run = run_cli("ingest", path, "--store", tmp_path / "s", "--kind", "cdr")
    assert run.exit_code == 1
    assert "`direction`" in run.stderr and "internal error" not in run.stderr


@pytest.mark.parametrize("fmt", ["%Q", "%d/%m/%Y", "garbage", "%", "%Y-%m-%d %"])
def test_a_date_format_that_parses_nothing_is_refused(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "export.csv"
    path.write_text(f"account,amount,booked_at\n{OWN},-1,2026-03-01\n")
    run = run_cli("ingest", path, "--store", tmp_path / "s", "--date-format", fmt)
    assert run.exit_code == 1
    assert f"--date-format {fmt!r} parses none" in run.stderr and "2026-03-01" in run.stderr
    assert tree(tmp_path / "s") == {}
