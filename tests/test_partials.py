"""Nightly ingests: the tie table from per-part aggregates equals one built from every event.

The sample world's calls and statements are split by date into pieces and ingested one by one,
as a nightly job would; after each ingest ``relmine graph`` (which combines the parts' cached
aggregates) must write the same bytes as a build from the events (``RELMINE_TIE_CACHE=false``).
"""

from __future__ import annotations

import io
import json
import shutil
import stat
from pathlib import Path

import polars as pl
import pytest

from conftest import SAMPLE, run_cli
from relmine import partials

#: The first days of the second and later pieces (the sample covers January to March 2026);
#: rows with an unreadable date go to the first piece, and are rejected there.
STARTS = ("2026-02-01", "2026-03-01")


def _split(folder: Path) -> list[list[Path]]:
    """Per piece: the calls and the bank bookings of its days, as CSV files (text unchanged).

    The last piece's bank bookings are split once more by booking account, so the two bookings
    of a transfer between two of our accounts mostly land in different files of the same days.
    """
    calls = pl.read_csv(SAMPLE / "calls.csv", infer_schema=False)
    bank = pl.read_csv(SAMPLE / "bank.csv", infer_schema=False)

    def piece(column: str) -> pl.Expr:
        day = pl.col(column).str.slice(0, 10)
        return pl.sum_horizontal([(day >= start).fill_null(False) for start in STARTS])

    calls = calls.with_columns(_piece=piece("start_time"))
    bank = bank.with_columns(_piece=piece("booked_at"))
    pieces = []
    for i in range(len(STARTS) + 1):
        files = [folder / f"calls-{i}.csv", folder / f"bank-{i}.csv"]
        calls.filter(pl.col("_piece") == i).drop("_piece").write_csv(files[0])
        mine = bank.filter(pl.col("_piece") == i).drop("_piece")
        if i < len(STARTS):
            mine.write_csv(files[1])
        else:
            odd = pl.col("account").str.replace_all(" ", "").hash(seed=1) % 2 == 1
            files.append(folder / f"bank-{i}b.csv")
            mine.filter(odd).write_csv(files[1])
            mine.filter(~odd).write_csv(files[2])
        pieces.append(files)
    return pieces


def _graph(store: Path, out: Path, *args: str) -> bytes:
    run = run_cli("graph", "--store", store, "-o", out, "-q", *args)
    assert run.exit_code == 0, run.stderr
    return out.read_bytes()


def _from_events(store: Path, out: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> bytes:
    with monkeypatch.context() as m:
        m.setenv("RELMINE_TIE_CACHE", "false")
        return _graph(store, out, *args)


def _aggregates(store: Path) -> dict[str, int]:
    """The cached part aggregates, with their inode numbers: an aggregate built again is a new
    file (written beside and renamed), one reused keeps its inode (its time is touched on use)."""
    folder = store / "cache" / "parts"
    return {p.name: p.stat().st_ino for p in folder.glob("*.rows.parquet")}


def test_nightly_ingests_give_the_same_ties_as_a_build_from_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELMINE_TIE_CACHE", raising=False)
    store = tmp_path / "store"
    pieces = _split(tmp_path)
    run = run_cli("ingest", SAMPLE / "cells.csv", "--store", store, "-q")
    assert run.exit_code == 0, run.stderr
    seen: dict[str, int] = {}
    for i, files in enumerate(pieces):
        run = run_cli("ingest", *files, "--store", store, "-q")
        assert run.exit_code == 0, run.stderr
        if i == 1:  # the register arrives after the first month: identifiers map to customers
            run = run_cli("ingest", SAMPLE / "customers.csv", "--store", store, "-q")
            assert run.exit_code == 0, run.stderr
        nightly = _graph(store, tmp_path / f"nightly-{i}.parquet")
        assert nightly == _from_events(store, tmp_path / f"events-{i}.parquet", monkeypatch)
        now = _aggregates(store)
        # only the new parts were aggregated; the older parts' aggregates were reused as they were
        assert len(now) == len(seen) + len(files)
        assert {name: now[name] for name in seen} == seen
        seen = now
    ties = pl.read_parquet(tmp_path / "nightly-2.parquet")
    assert ties.height > 5000 and ties["a"].str.starts_with("C").any()
    # the transfers booked on both statements, in two files of the same days, are counted once
    full = tmp_path / "full"
    run = run_cli("ingest", *(SAMPLE / f for f in ("cells.csv", "customers.csv")), "--store", full)
    assert run.exit_code == 0, run.stderr
    run = run_cli("ingest", SAMPLE / "calls.csv", SAMPLE / "bank.csv", "--store", full, "-q")
    assert run.exit_code == 0, run.stderr
    assert (
        _from_events(full, tmp_path / "whole.parquet", monkeypatch)
        == (tmp_path / "nightly-2.parquet").read_bytes()
    )
    # windows and channels are filters on the aggregates
    for args in (("--since", "2026-01-20", "--until", "2026-03-05"), ("--channels", "sms,bank")):
        assert _graph(store, tmp_path / "w.parquet", *args) == _from_events(
            store, tmp_path / "we.parquet", monkeypatch, *args
        )
    for path in (store / "cache" / "parts").iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600


def _csv(store: Path, command: str, *args: str) -> str:
    run = run_cli(command, "--store", store, "--format", "csv", "-o", "-", *args)
    assert run.exit_code == 0, run.stderr
    return run.stdout


def test_influencers_and_households_after_nightly_ingests_match_a_build_from_events(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELMINE_TIE_CACHE", raising=False)
    store = tmp_path / "store"
    base = (SAMPLE / "cells.csv", SAMPLE / "customers.csv")
    assert run_cli("ingest", *base, "--store", store, "-q").exit_code == 0
    for files in _split(tmp_path):
        assert run_cli("ingest", *files, "--store", store, "-q").exit_code == 0
        influencers = _csv(store, "influencers", "--top", "15")
    households = _csv(store, "households", "--since", "2026-01-15")
    with monkeypatch.context() as m:
        m.setenv("RELMINE_TIE_CACHE", "false")
        assert influencers == _csv(store, "influencers", "--top", "15")
        # households read the parties' cells from the aggregates too
        assert households == _csv(store, "households", "--since", "2026-01-15")
    assert influencers.count("\n") == 16
    assert households.count("\n") > 100


def _cached_copy(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Path]:
    """A copy of the sample store with the tie cache on, and its part aggregates' folder."""
    monkeypatch.delenv("RELMINE_TIE_CACHE", raising=False)
    store = tmp_path / "store"
    shutil.copytree(sample_store, store)
    return store, store / "cache" / "parts"


def test_aggregates_of_parts_gone_from_the_store_are_removed(
    tmp_path: Path, sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, folder = _cached_copy(sample_store, tmp_path, monkeypatch)
    _graph(store, tmp_path / "all.parquet")
    assert sorted(p.name.split(".", 1)[1] for p in folder.iterdir()) == [
        "ids.parquet",
        "ids.parquet",
        "rows.parquet",
        "rows.parquet",
        "transfers.parquet",
    ]
    # a store rebuilt without its bank part (say, restored from an older copy of its manifest)
    manifest = json.loads((store / "manifest.json").read_text())
    manifest["tables"]["bank"] = []
    (store / "manifest.json").write_text(json.dumps(manifest))
    phone = _graph(store, tmp_path / "phone.parquet")
    assert sorted(p.name.split(".", 1)[1] for p in folder.iterdir()) == [
        "ids.parquet",
        "rows.parquet",
    ]
    assert pl.read_parquet(io.BytesIO(phone))["bank_n"].sum() == 0


def test_aggregates_built_with_other_settings_are_kept_only_for_the_latest(
    tmp_path: Path, sample_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The current set of aggregates and the most recently used other one stay; older go."""
    store, folder = _cached_copy(sample_store, tmp_path, monkeypatch)

    def bases() -> set[str]:
        return {p.name.split("-", 1)[1].split(".", 1)[0] for p in folder.iterdir()}

    _graph(store, tmp_path / "default.parquet")
    default = bases()
    assert len(default) == 1
    monkeypatch.setenv("RELMINE_NIGHT_START", "21")
    at_21 = _graph(store, tmp_path / "21.parquet")
    assert len(bases()) == 2 and default < bases()
    monkeypatch.setenv("RELMINE_NIGHT_START", "23")
    _graph(store, tmp_path / "23.parquet")
    latest = bases()
    assert len(latest) == 2 and not default & latest  # the default's set, least recent, went
    # going back to 21 uses its aggregates and keeps both sets
    monkeypatch.setenv("RELMINE_NIGHT_START", "21")
    assert _graph(store, tmp_path / "21-again.parquet") == at_21
    assert bases() == latest
    assert at_21 == _from_events(store, tmp_path / "21-events.parquet", monkeypatch)


def test_identifiers_are_numbered_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every value is its identifier's position, also when all hashes collide."""
    from relmine import numbering

    values = pl.Series(
        ["+421905000002", "SK31", "+421905000001", "SK31", "+1", "+421905000002", None]
    )
    for hashes in (
        numbering.value_hashes,
        lambda s: pl.repeat(7, s.len(), dtype=pl.UInt64, eager=True),
    ):
        monkeypatch.setattr(numbering, "value_hashes", hashes)
        ids, numbers = partials._numbered(values)
        assert ids.name == "identifier"
        assert numbers.dtype == pl.UInt32
        assert sorted(ids.to_list(), key=str) == sorted(
            ["+1", "+421905000001", "+421905000002", "SK31", None], key=str
        )
        assert ids.gather(numbers).to_list() == values.to_list()
