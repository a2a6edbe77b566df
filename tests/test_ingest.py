"""``relmine ingest`` on hand-made files: row accounting, identities, time, de-duplication."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal, assert_series_equal

from conftest import DATA, run_cli, status, tree
from relmine.store import Store


def test_every_row_is_accounted_for(store: Path) -> None:
    run = run_cli("ingest", DATA / "calls_basic.csv", "--store", store, "--max-reject-rate", "0.5")
    assert run.exit_code == 0, run.stderr
    (f,) = status(store)["files"]
    assert (f["rows"], f["accepted"], f["rejected"], f["duplicates"]) == (9, 4, 4, 1)
    assert f["rows"] == f["accepted"] + f["rejected"] + f["duplicates"]
    assert f["rejected_by_reason"] == {
        "bad timestamp": 1,  # 02:30 on 2026-03-29 does not exist in Bratislava
        "invalid phone number": 1,
        "missing callee": 1,
        "negative duration": 1,
    }
    assert "missing callee" in run.stdout and "accepted" in run.stdout


@pytest.mark.parametrize("blank_records", [True, False])
def test_blank_fields_are_missing_and_blank_records_are_no_rows(
    tmp_path: Path, store: Path, *, blank_records: bool
) -> None:
    # Without blank records the caller column has no missing field, so no row can be blank and
    # rows are not filtered; with them every column has one, and the blank records go.
    lines = [
        "caller,callee,start_time,duration_s,type,cell_id",
        " 0905123456 ,+421 905 654 321,2026-03-01 15:00:00,60,voice,C1",
        "0905123456,   ,2026-03-01 15:05:00,60,voice,C1",
        "0905123456,0905654321,2026-03-01 15:10:00,\t,sms,  ",
    ]
    if blank_records:
        lines[2:2] = [",,,,,", "  ,\t, ,,  ,", '"","","","","",""']
    calls = tmp_path / "calls.csv"
    calls.write_text("\n".join(lines) + "\n")
    run = run_cli("ingest", calls, "--store", store, "--max-reject-rate", "1")
    assert run.exit_code == 0, run.stderr
    (f,) = status(store)["files"]
    assert (f["rows"], f["accepted"], f["rejected"]) == (3, 2, 1)
    assert f["rejected_by_reason"] == {"missing callee": 1}
    rejects = Store.open(store).scan("rejects").collect()
    assert rejects["line"].to_list() == [6 if blank_records else 3]
    cdr = Store.open(store).scan("cdr").collect().sort("ts_utc")
    assert cdr["callee"].to_list() == ["+421905654321", "+421905654321"]
    assert cdr["cell_id"].to_list() == ["C1", None]  # a blank cell is no cell
    assert cdr["type"].cast(pl.String).to_list() == ["voice", "sms"]


def test_rejects_keep_file_line_reason_and_raw_text(store: Path) -> None:
    run_cli("ingest", DATA / "calls_basic.csv", "--store", store, "--max-reject-rate", "0.5")
    rejects = Store.open(store).scan("rejects").collect().sort("line")
    assert rejects["file"].unique().to_list() == ["calls_basic.csv"]
    assert rejects["line"].to_list() == [4, 5, 6, 8]
    assert rejects.row(0, named=True)["raw"] == "0905123456,,2026-03-01 15:05:00,60,voice,C1"


def test_phones_become_e164_and_types_map(store: Path) -> None:
    run_cli("ingest", DATA / "calls_basic.csv", "--store", store, "--max-reject-rate", "0.5")
    cdr = Store.open(store).scan("cdr").collect().sort("ts_utc")
    assert set(cdr["caller"]) | set(cdr["callee"]) == {"+421905123456", "+421905654321"}
    assert cdr["type"].cast(pl.String).to_list() == ["voice", "sms", "sms", "voice"]
    assert status(store)["identifiers"]["phones"] == 2


def test_naive_times_are_local_and_offsets_are_honoured(store: Path) -> None:
    run_cli("ingest", DATA / "calls_basic.csv", "--store", store, "--max-reject-rate", "0.5")
    run_cli("ingest", DATA / "calls_offsets.csv", "--store", store)
    cdr = Store.open(store).scan("cdr").collect()
    night = cdr.filter(pl.col("ts_local") == pl.datetime(2026, 3, 3, 23, 30))
    # Bratislava is UTC+1 in March: 23:30 local is 22:30 UTC.
    assert night["ts_utc"].dt.hour().to_list() == [22]
    summer = cdr.filter(pl.col("ts_utc").dt.month() >= 7).sort("ts_utc")
    assert summer["ts_utc"].dt.strftime("%Y-%m-%d %H:%M").to_list() == [
        "2026-07-01 21:30",
        "2026-07-01 21:30",
        "2026-10-25 01:30",
    ]
    # local wall-clock time comes from the offset written in the file
    assert summer["ts_local"].dt.strftime("%H:%M").to_list() == ["23:30", "21:30", "02:30"]
    assert summer["type"].cast(pl.String).to_list() == ["voice", "sms", "voice"]


def test_mirrored_transfer_counts_once(store: Path) -> None:
    run = run_cli("ingest", DATA / "bank_mirror.csv", "--store", store, "--max-reject-rate", "0.5")
    assert run.exit_code == 0, run.stderr
    st = status(store)
    (f,) = st["files"]
    assert (f["accepted"], f["rejected"]) == (4, 1)
    assert f["rejected_by_reason"] == {"invalid IBAN check digits": 1}
    assert st["events"]["bank"] == 2  # rent (on both statements) and the invoice
    assert st["events"]["bookings_without_counterparty"] == 1
    bank = Store.open(store).scan("bank").collect()
    assert bank["currency"].unique().to_list() == ["EUR"]  # default currency filled in
    assert "SK3112000000198742637541" in bank["account"].to_list()  # spaced writing compacted


def test_overlapping_exports_store_each_event_once(store: Path) -> None:
    run_cli("ingest", DATA / "bank_jan.csv", "--store", store)
    run_cli("ingest", DATA / "bank_janfeb.csv", "--store", store)
    files = status(store)["files"]
    assert [(f["accepted"], f["duplicates"]) for f in files] == [(2, 0), (1, 1)]
    assert Store.open(store).scan("bank").collect().height == 3


def test_reingesting_changes_nothing(store: Path) -> None:
    run_cli("ingest", DATA / "bank_mirror.csv", "--store", store, "--max-reject-rate", "0.5")
    before, files_before = status(store), tree(store)
    run = run_cli("ingest", DATA / "bank_mirror.csv", "--store", store, "--max-reject-rate", "0.5")
    assert run.exit_code == 0
    assert "already in store" in run.stdout
    assert status(store) == before
    assert tree(store) == files_before


def test_a_stored_file_is_known_under_another_name_and_in_an_older_store(
    store: Path, tmp_path: Path
) -> None:
    # A file of a size no stored file has is hashed while it is read; one whose size matches
    # is hashed first, so a copy is recognised before anything is read.
    run_cli("ingest", DATA / "bank_mirror.csv", "--store", store, "--max-reject-rate", "0.5")
    copy = tmp_path / "renamed.csv"
    copy.write_bytes((DATA / "bank_mirror.csv").read_bytes())
    before = tree(store)
    run = run_cli("ingest", copy, "--store", store, "--max-reject-rate", "0.5")
    assert run.exit_code == 0
    assert "already in store" in run.stdout
    assert tree(store) == before
    # A manifest written before file sizes were recorded: still recognised by content.
    manifest = store / "manifest.json"
    record = json.loads(manifest.read_text())
    for f in record["files"]:
        del f["bytes"]
    manifest.write_text(json.dumps(record))
    before = tree(store)
    run = run_cli("ingest", copy, "--store", store, "--max-reject-rate", "0.5")
    assert "already in store" in run.stdout
    assert tree(store) == before


def test_files_of_one_size_are_each_stored_and_a_repeat_within_a_run_is_not(
    store: Path, tmp_path: Path
) -> None:
    text = (DATA / "calls_basic.csv").read_text()
    first, second, again = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    first.write_text(text)
    # The same size, other content: one call lasts a second longer.
    second.write_text(text.replace(",60,voice,", ",61,voice,", 1))
    again.write_text(text)
    assert first.stat().st_size == second.stat().st_size
    assert first.read_bytes() != second.read_bytes()
    run = run_cli("ingest", first, second, again, "--store", store, "--max-reject-rate", "0.9")
    assert run.exit_code == 0, run.stderr
    files = status(store)["files"]
    assert [Path(f["path"]).name for f in files] == ["a.csv", "b.csv"]
    assert run.stdout.count("already in store") == 1
    assert json.loads((store / "manifest.json").read_text())["files"][0]["bytes"] == len(
        text.encode()
    )


def test_register_makes_two_sims_and_an_account_one_node(store: Path) -> None:
    run = run_cli(
        "ingest",
        DATA / "customers.csv",
        DATA / "bank_mirror.csv",
        DATA / "calls_basic.csv",
        "--store",
        store,
        "--max-reject-rate",
        "0.5",
    )
    assert run.exit_code == 0, run.stderr
    st = status(store)
    register = st["files"][0]
    assert register["rejected_by_reason"] == {"phone registered to another customer": 1}
    # C1 (two SIMs + account), C2 (phone + account), the CZ invoice account: 3 nodes
    assert st["nodes"] == 3
    assert st["identifiers"] == {"phones": 2, "accounts": 3}


def test_cells_conflicts_and_ranges(store: Path) -> None:
    run = run_cli("ingest", DATA / "cells.csv", "--store", store, "--max-reject-rate", "0.5")
    assert run.exit_code == 0, run.stderr
    (f,) = status(store)["files"]
    assert (f["accepted"], f["rejected"], f["duplicates"]) == (3, 1, 1)
    assert f["rejected_by_reason"] == {"bad coordinates": 1}


def test_too_many_rejects_exit_3_and_nothing_stored(store: Path) -> None:
    run_cli("ingest", DATA / "bank_jan.csv", "--store", store)
    before = tree(store)
    run = run_cli("ingest", DATA / "calls_basic.csv", "--store", store)
    assert run.exit_code == 3
    assert "more than 5% of rows rejected" in run.stderr
    assert "missing callee" in run.stdout  # the reasons are still shown
    assert tree(store) == before


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "is empty"),
        ("binary.csv", "is not a text (CSV) file"),
        ("headerless.csv", "seems to have no header line"),
        ("unknown_kind.csv", "cannot tell what kind of file"),
        ("calls_missing_callee_col.csv", "column `callee` not found"),
        ("no_such_file.csv", "does not exist"),
    ],
)
def test_unreadable_files_are_refused_with_one_line(store: Path, name: str, message: str) -> None:
    run_cli("ingest", DATA / "bank_jan.csv", "--store", store)
    before = tree(store)
    args = ["ingest", DATA / name, "--store", store]
    if name == "calls_missing_callee_col.csv":
        args += ["--kind", "cdr"]
    run = run_cli(*args)
    assert run.exit_code == 1
    assert message in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr
    assert "421905" not in run.stderr  # no phone number (raw identifier) is echoed
    assert tree(store) == before


def test_a_bad_file_among_good_ones_stops_the_run_before_writing(store: Path) -> None:
    run = run_cli("ingest", DATA / "bank_jan.csv", DATA / "binary.csv", "--store", store)
    assert run.exit_code == 1
    assert not store.exists()


def test_wrong_kind_is_refused(store: Path) -> None:
    run = run_cli("ingest", DATA / "bank_jan.csv", "--kind", "cdr", "--store", store)
    assert run.exit_code == 1
    assert "column" in run.stderr and "not found in bank_jan.csv (read as cdr)" in run.stderr


WRITINGS = [
    "+421 905 123 456",
    "0905123456",
    "00421905123456",
    "421905123456",
    "0905 123 456",
    "(0905) 123-456",
    "+420 602 123 456",
    "602123456",
    "+1 (212) 555-0123",
    "2125550123",
    "011 421 905 123 456",
    "020 7946 0958",
    "+44 20 7946 0958",
    "112",
    "18 300",
    "09051",
    "+421 12",
    "abc",
    "0800 123 456",
    None,
    "",
]


@pytest.mark.parametrize("region", ["SK", "CZ", "US", "GB"])
def test_identifiers_map_as_a_join_on_the_full_table_would(region: str) -> None:
    from functools import partial

    from relmine.ingest.core import RAW_PREFIX, map_identifiers
    from relmine.ingest.identity import phone_answers, phone_table

    callers = WRITINGS * 3
    callees = list(reversed(callers))
    frame = pl.LazyFrame({RAW_PREFIX + "caller": callers, RAW_PREFIX + "callee": callees})
    table = phone_table(pl.Series(WRITINGS), region=region)
    mapped = map_identifiers(
        frame, ["caller", "callee"], partial(phone_answers, region=region), value="phone"
    ).collect()
    for name in ("caller", "callee"):
        expected = (
            frame.select(RAW_PREFIX + name)
            .join(
                table.lazy().rename({"raw": RAW_PREFIX + name}),
                on=RAW_PREFIX + name,
                how="left",
                maintain_order="left",
            )
            .select(pl.col("phone").alias(name), pl.col("reason").alias(name + "_reason"))
            .collect()
        )
        assert_frame_equal(mapped.select(name, name + "_reason"), expected)
    assert (
        mapped["caller"].null_count() > 0
        and mapped["caller"].drop_nulls().str.starts_with("+").any()
    )


def test_numbering_survives_hash_collisions(monkeypatch: pytest.MonkeyPatch) -> None:
    from relmine import numbering

    values = pl.Series(["b", None, "a", "b", "c", None, "a"] * 50)
    codes, distinct = numbering.dense_codes(values)
    assert_series_equal(distinct.gather(codes), values, check_names=False)
    assert distinct.len() == 4  # a, b, c and null
    assert distinct.is_unique().all()
    # Every value hashing alike is the worst case: the exact path must give the same grouping.
    monkeypatch.setattr(
        numbering, "value_hashes", lambda s: pl.repeat(7, s.len(), dtype=pl.UInt64, eager=True)
    )
    collided, everything = numbering.dense_codes(values)
    assert_series_equal(everything.gather(collided), values, check_names=False)
    assert everything.len() == 4
    assert everything.is_unique().all()


def test_durations_that_are_not_numbers_of_seconds_are_rejected(
    tmp_path: Path, store: Path
) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "caller,callee,start_time,duration_s\n"
        "0905123456,0905654321,2026-03-01 10:00:00,nan\n"
        "0905123456,0905654321,2026-03-01 10:01:00,inf\n"
        "0905123456,0905654321,2026-03-01 10:02:00,12s\n"
        "0905123456,0905654321,2026-03-01 10:03:00,12.0\n"
        "0905123456,0905654321,2026-03-01 10:04:00,\n"
    )
    run = run_cli("ingest", calls, "--store", store, "--max-reject-rate", "1")
    assert run.exit_code == 0, run.stderr
    (f,) = status(store)["files"]
    assert f["rejected_by_reason"] == {"bad duration": 3}
    cdr = Store.open(store).scan("cdr").collect().sort("ts_utc")
    assert cdr["duration_s"].to_list() == [12, None]
    assert cdr["type"].cast(pl.String).to_list() == ["voice", "sms"]


def test_rows_with_more_fields_than_the_header_are_rejected_not_cut(store: Path) -> None:
    run = run_cli("ingest", DATA / "calls_ragged.csv", "--store", store, "--max-reject-rate", "1")
    assert run.exit_code == 0, run.stderr
    (f,) = status(store)["files"]
    assert (f["rows"], f["accepted"], f["rejected"]) == (4, 3, 1)
    assert f["rejected_by_reason"] == {"too many fields": 1}
    (reject,) = Store.open(store).scan("rejects").collect().iter_rows(named=True)
    assert reject["line"] == 3
    assert reject["raw"] == "0905123456,0905654321,2026-03-01 10:05:00,60,voice,C1,surplus"
    cells = Store.open(store).scan("cdr").collect().sort("ts_utc")["cell_id"].to_list()
    assert cells == ["C1", "C1,C2", None]  # a quoted separator is data; a short row is fine


def test_bom_semicolons_and_a_header_only_file(tmp_path: Path, store: Path) -> None:
    bom = tmp_path / "bom.csv"
    bom.write_bytes(
        "\ufeffCaller;Callee;Start_Time;Duration_s\n"
        "0905123456;0905654321;2026-03-01 10:00:00;60\n".encode()
    )
    empty = tmp_path / "header_only.csv"
    empty.write_text("caller,callee,start_time\n")
    run = run_cli("ingest", bom, empty, "--store", store)
    assert run.exit_code == 0, run.stderr
    files = status(store)["files"]
    assert [(f["rows"], f["accepted"]) for f in files] == [(1, 1), (0, 0)]
    assert Store.open(store).scan("cdr").collect()["caller"].to_list() == ["+421905123456"]


def test_duplicate_rows_are_dropped_as_unique_would() -> None:
    import numpy as np

    from relmine.ingest.core import drop_duplicate_rows

    rng = np.random.default_rng(3)
    n = 5000
    frame = pl.DataFrame(
        {
            "a": [["x", "y", None][i] for i in rng.integers(0, 3, n)],
            "b": [None if i < 3 else int(i) for i in rng.integers(0, 30, n)],
            "c": rng.choice([0.5, -1.0, 2.0], n),
        }
    )
    kept = drop_duplicate_rows(frame, ["a", "b", "c"]).collect()
    assert_frame_equal(kept, frame.unique(maintain_order=True, keep="first"))
    assert 0 < kept.height < n
    assert_frame_equal(drop_duplicate_rows(frame.head(1), ["a"]).collect(), frame.head(1))


def test_file_hashes_computed_ahead_are_those_of_the_file_when_asked(tmp_path: Path) -> None:
    import hashlib
    import os

    from relmine.ingest.digest import FileDigests

    def sha(data: bytes) -> str:
        return hashlib.sha256(data).hexdigest()

    named, other, big = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "big.csv"
    named.write_bytes(b"caller,callee\n")
    other.write_bytes(b"other\n")
    big.write_bytes(b"0905123456,0905123457\n" * 200_000)  # several reads of the hasher
    with FileDigests([tmp_path, big]) as digests:  # the folder's files come later
        digests.add([tmp_path / "." / "a.csv", named, tmp_path])
        assert digests.sha256(named) == sha(b"caller,callee\n")
        named.write_bytes(b"changed,file\n")
        os.utime(named, ns=(1, 1))  # a stamp of its own, however coarse the clock
        assert digests.sha256(named) == sha(b"changed,file\n")
        assert digests.sha256(other) == sha(b"other\n")  # not given (a folder's file): on demand
    with FileDigests([big]) as digests:
        digests.close()  # stopped at once: the hash is computed when asked
        assert digests.sha256(big) == sha(big.read_bytes())


def test_sorted_hashes_merge_as_a_sort_of_both() -> None:
    import numpy as np

    from relmine.numbering import merge_sorted

    rng = np.random.default_rng(5)
    for n, m in ((0, 0), (0, 7), (9, 0), (1000, 300), (300, 1000)):
        # few distinct values: equal hashes within and across the two arrays
        first = np.sort(rng.integers(0, 50, n, dtype=np.uint64))
        second = np.sort(rng.integers(0, 50, m, dtype=np.uint64))
        merged = merge_sorted(first, second, np.searchsorted(first, second))
        assert np.array_equal(merged, np.sort(np.concatenate([first, second])))


# --------------------------------------------------------------------------------------------------
# batches: a big file is read ingest_batch_rows rows at a time, with the same result
# --------------------------------------------------------------------------------------------------


def _tables(store: Path) -> dict[str, pl.DataFrame]:
    opened = Store.open(store)
    return {t: opened.scan(t).collect() for t in ("cdr", "bank", "customers", "rejects")}


def _counts(store: Path) -> list[tuple]:
    keys = ("kind", "rows", "accepted", "rejected", "duplicates", "rejected_by_reason")
    return [tuple(f[k] for k in keys) for f in status(store)["files"]]


def test_batches_store_what_one_pass_stores(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import SAMPLE

    files = [SAMPLE / n for n in ("customers.csv", "calls.csv", "bank.csv")]
    whole, batched = tmp_path / "whole", tmp_path / "batched"
    assert run_cli("ingest", *files, "--store", whole, "-q").exit_code == 0
    # 997 rows a batch: about 20 batches per file (a later batch repeating an earlier one: below).
    monkeypatch.setenv("RELMINE_INGEST_BATCH_ROWS", "997")
    assert run_cli("ingest", *files, "--store", batched, "-q").exit_code == 0
    assert len(Store.open(batched).manifest["tables"]["cdr"]) >= 20
    assert _counts(batched) == _counts(whole)
    expected = _tables(whole)
    for table, frame in _tables(batched).items():
        assert_frame_equal(frame, expected[table], check_row_order=True)


def test_files_of_wide_rows_take_fewer_rows_a_batch(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import SAMPLE

    files = [SAMPLE / n for n in ("calls.csv", "bank.csv")]
    whole, batched = tmp_path / "whole", tmp_path / "batched"
    assert run_cli("ingest", *files, "--store", whole, "-q").exit_code == 0
    # 1 MiB of text a batch: about 16,900 call rows of 62 bytes (20,109 rows: two batches) and
    # 7,200 statement rows of 104 bytes, weighed 1.4 (25,144 rows: four batches).
    monkeypatch.setenv("RELMINE_INGEST_BATCH_MB", "1")
    assert run_cli("ingest", *files, "--store", batched, "-q").exit_code == 0
    tables = Store.open(batched).manifest["tables"]
    assert (len(tables["cdr"]), len(tables["bank"])) == (2, 4)
    assert _counts(batched) == _counts(whole)
    expected = _tables(whole)
    for table, frame in _tables(batched).items():
        assert_frame_equal(frame, expected[table], check_row_order=True)


def _calls(path: Path, order: tuple[int, ...]) -> Path:
    """A call file of the calls ``0905123456`` -> ``090512345<i>`` (``60 + i`` s), in ``order``."""
    rows = [f"0905123456,090512345{i},2026-03-02 10:0{i}:00,6{i},voice\n" for i in range(10)]
    path.write_text("caller,callee,start_time,duration_s,type\n" + "".join(rows[i] for i in order))
    return path


def test_a_row_repeated_in_a_later_batch_is_a_duplicate(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # rows 0, 1, 2 | 0 again, 3, 1 again | 4  (batches of three)
    first = _calls(tmp_path / "first.csv", (0, 1, 2, 0, 3, 1, 4))
    # an overlapping export: 4 and 3 are stored already
    second = _calls(tmp_path / "second.csv", (4, 5, 3))
    monkeypatch.setenv("RELMINE_INGEST_BATCH_ROWS", "3")
    assert run_cli("ingest", first, "--store", store, "-q").exit_code == 0
    monkeypatch.setenv("RELMINE_INGEST_BATCH_ROWS", "1")
    assert run_cli("ingest", second, "--store", store, "-q").exit_code == 0
    counts = [(f["rows"], f["accepted"], f["duplicates"]) for f in status(store)["files"]]
    assert counts == [(7, 5, 2), (3, 1, 2)]
    cdr = Store.open(store).scan("cdr").collect()
    assert cdr["duration_s"].to_list() == [60, 61, 62, 63, 64, 65]


def test_a_byte_that_is_not_utf8_past_the_sniffed_sample_reads_as_a_replacement(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Files sniffed as UTF-8 are read strictly; a bad byte found later restarts the file."""
    from conftest import SAMPLE

    def spoiled(name: str, first: int, old: bytes, new: bytes) -> tuple[bytes, int]:
        """The sample file with ``old`` replaced once, in the first line from ``first`` on."""
        lines = (SAMPLE / name).read_bytes().splitlines(keepends=True)
        i = next(i for i in range(first, len(lines)) if old in lines[i])
        lines[i] = lines[i].replace(old, new, 1)
        return b"".join(lines), sum(map(len, lines[:i]))

    bad, good = tmp_path / "bad", tmp_path / "good"
    for folder, text in ((bad, b"\xe8"), (good, "\ufffd".encode())):  # "č" in cp1250; U+FFFD
        folder.mkdir()
        # Far past the 64 KiB sniffed: a cell id (call records, read in batches of 997 rows:
        # 15 are stored before the bad byte is met) and a customer's name (read whole).
        calls, at = spoiled("calls.csv", 15_000, b",BA0", b",BA" + text + b"0")
        assert at > 10 * 64 * 1024
        (folder / "calls.csv").write_bytes(calls)
        customers, at = spoiled("customers.csv", 2_000, "č".encode(), text)
        assert at > 2 * 64 * 1024
        (folder / "customers.csv").write_bytes(customers)
    monkeypatch.setenv("RELMINE_INGEST_BATCH_ROWS", "997")
    for folder in (bad, good):
        files = [folder / "customers.csv", folder / "calls.csv"]
        run = run_cli("ingest", *files, "--store", folder / "store", "-q")
        assert run.exit_code == 0, run.stderr
    assert _counts(bad / "store") == _counts(good / "store")
    expected = _tables(good / "store")
    for table, frame in _tables(bad / "store").items():
        assert_frame_equal(
            frame.drop("file", strict=False), expected[table].drop("file", strict=False)
        )
    assert any("BA\ufffd0" in c for c in expected["cdr"]["cell_id"].drop_nulls())
    assert any("\ufffd" in n for n in expected["customers"]["name"].drop_nulls())
    parts = [Store.open(s).manifest["tables"] for s in (bad / "store", good / "store")]
    assert parts[0]["cdr"] and len(parts[0]["cdr"]) == len(parts[1]["cdr"])  # none left twice


def test_the_last_batch_repeating_the_one_still_being_written_is_a_duplicate(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last batch is checked while the part before it is written; reading it back waits."""
    import time

    calls = _calls(tmp_path / "calls.csv", (0, 1, 2, 3, 3, 0))  # batches of two
    write = pl.DataFrame.write_parquet

    def slow_write(frame: pl.DataFrame, path: Path, **kwargs: object) -> None:
        if Path(path).name.startswith("cdr-"):
            time.sleep(0.5)  # the last batch's check is done meanwhile
        write(frame, path, **kwargs)

    monkeypatch.setattr(pl.DataFrame, "write_parquet", slow_write)
    monkeypatch.setenv("RELMINE_INGEST_BATCH_ROWS", "2")
    assert run_cli("ingest", calls, "--store", store, "-q").exit_code == 0
    assert [(f["rows"], f["accepted"], f["duplicates"]) for f in status(store)["files"]] == [
        (6, 4, 2)
    ]
    cdr = Store.open(store).scan("cdr").collect()
    assert cdr["duration_s"].to_list() == [60, 61, 62, 63]


def test_a_failing_batch_before_the_last_stops_the_run_with_its_own_error(
    tmp_path: Path, store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from relmine.ingest import core

    calls = _calls(tmp_path / "calls.csv", (0, 1, 2, 3, 4, 5))
    hashes = core._row_hashes

    class StoppedHere(Exception):
        pass

    def failing(frame: pl.DataFrame, columns: list[str]) -> object:
        if frame["duration_s"].to_list() == [62, 63]:  # the batch before the last
            raise StoppedHere
        return hashes(frame, columns)

    monkeypatch.setattr(core, "_row_hashes", failing)
    monkeypatch.setenv("RELMINE_INGEST_BATCH_ROWS", "2")
    # In a thread of its own, so that a run left waiting for the failed batch fails the test.
    runs = []
    thread = threading.Thread(
        target=lambda: runs.append(run_cli("ingest", calls, "--store", store)), daemon=True
    )
    thread.start()
    thread.join(60)
    assert runs, "the run did not end"
    run = runs[0]
    assert run.exit_code != 0 and "(StoppedHere)" in run.stderr
    assert not (store / "manifest.json").exists() or status(store)["files"] == []


def test_rows_whose_hashes_collide_are_told_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import numpy as np

    from conftest import SAMPLE
    from relmine.ingest import core

    files = [SAMPLE / n for n in ("calls.csv", "bank.csv")]
    plain, collided = tmp_path / "plain", tmp_path / "collided"
    monkeypatch.setenv("RELMINE_INGEST_BATCH_ROWS", "4999")
    assert run_cli("ingest", *files, "--store", plain, "-q").exit_code == 0
    # Every row hashing alike: within a batch, against earlier batches and against the store,
    # rows are then told apart only by their values.
    monkeypatch.setattr(
        core, "_row_hashes", lambda frame, columns: np.full(frame.height, 7, dtype=np.uint64)
    )
    assert run_cli("ingest", *files, "--store", collided, "-q").exit_code == 0
    assert _counts(collided) == _counts(plain)
    expected = _tables(plain)
    for table, frame in _tables(collided).items():
        assert_frame_equal(frame, expected[table], check_row_order=True)


def test_answers_of_earlier_batches_survive_hash_collisions(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from relmine import numbering
    from relmine.ingest import core
    from relmine.ingest.identity import phone_answers

    def phones(values: pl.Series) -> pl.DataFrame:
        return phone_answers(values, region="SK")

    batches = [["0905123456", "+421905123457", "12"], ["0905123457", "0905123456", "bad"]]
    expected = [phones(pl.Series(b)) for b in batches]
    for hashes in (
        numbering.value_hashes,
        lambda s: pl.repeat(7, s.len(), dtype=pl.UInt64, eager=True),
    ):
        monkeypatch.setattr(numbering, "value_hashes", hashes)
        answers = core.Answers()
        for batch, want in zip(batches, expected, strict=True):
            assert_frame_equal(answers.lookup(pl.Series(batch), phones), want)
        assert answers.raw.len() == 5  # "0905123456" was decided once, by the first batch
