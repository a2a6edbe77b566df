"""The store: atomic commits under SIGKILL, the writer lock, settings saved with the store."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from conftest import DATA, ROOT, run_cli, status, tree
from relmine.store import Store


def _big_cdr(path: Path, rows: int = 600_000, seed: int = 0) -> Path:
    """A CDR file large enough that its ingest takes a second or more."""
    rng = np.random.default_rng(seed)
    subscribers = 905_000_000 + rng.choice(999_999, size=50_000, replace=False)
    a = rng.choice(subscribers, rows)
    b = rng.choice(subscribers, rows)
    start = np.datetime64("2026-01-05T00:00:00") + rng.integers(0, 80 * 86400, rows).astype(
        "timedelta64[s]"
    )
    pl.DataFrame(
        {
            "caller": ["+421" + str(x) for x in a],
            "callee": ["0" + str(x) for x in b],
            "start_time": pl.Series(start.astype("datetime64[ms]")).dt.strftime(
                "%Y-%m-%d %H:%M:%S"
            ),
            "duration_s": rng.integers(1, 600, rows),
        }
    ).write_csv(path)
    return path


def _kill_when(store: Path, big: Path, ready) -> int:
    """Start an ingest, SIGKILL it once ``ready(store)`` is true; return its exit status."""
    # Batches of 100,000 rows: the file is written as six parts, one after another.
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "RELMINE_INGEST_BATCH_ROWS": "100000"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "relmine", "ingest", str(big), "--store", str(store), "-q"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if ready(store):
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.002)
    return proc.wait()


def _staging(store: Path) -> list[Path]:
    return list((store / "data").glob(".tmp-*"))


@pytest.mark.parametrize(
    "point",
    ["staging created", "first part written", "parts written"],
)
def test_sigkill_during_ingest_leaves_the_store_as_it_was(tmp_path: Path, point: str) -> None:
    store = tmp_path / "store"
    big = _big_cdr(tmp_path / "big.csv")
    assert run_cli("ingest", DATA / "bank_jan.csv", "--store", store).exit_code == 0
    before = status(store)
    manifest_before = (store / "manifest.json").read_bytes()

    def ready(s: Path) -> bool:
        staging = _staging(s)
        if point == "staging created":
            return bool(staging)
        parts = [p for d in staging for p in d.glob("*.parquet")]
        return len(parts) >= (1 if point == "first part written" else 2)

    code = _kill_when(store, big, ready)
    assert code == -signal.SIGKILL, "the ingest finished before it could be killed"
    assert (store / "manifest.json").read_bytes() == manifest_before
    assert status(store) == before  # readable and unchanged

    # The next writer cleans up and the file ingests in full.
    assert run_cli("ingest", big, "--store", store, "-q").exit_code == 0
    assert not _staging(store)
    after = status(store)
    assert after["files"][-1]["rows"] == 600_000
    referenced = {
        p.split("/")[1] for ps in Store.open(store).manifest["tables"].values() for p in ps
    }
    assert {d.name for d in (store / "data").iterdir()} == referenced


def test_second_writer_waits_for_the_lock(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run_cli("ingest", DATA / "bank_jan.csv", "--store", store)
    opened = Store.open(store)
    finished = threading.Event()
    with opened.transaction():
        worker = threading.Thread(
            target=lambda: (
                run_cli("ingest", DATA / "bank_janfeb.csv", "--store", store),
                finished.set(),
            )
        )
        worker.start()
        time.sleep(0.5)
        assert not finished.is_set(), "the second writer did not wait for the lock"
    worker.join(30)
    assert finished.is_set()
    assert [f["accepted"] for f in status(store)["files"]] == [2, 1]


def test_settings_are_saved_with_a_new_store_and_reused(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run = run_cli(
        "ingest",
        DATA / "calls_basic.csv",
        "--store",
        store,
        "--region",
        "cz",
        "--timezone",
        "Europe/Prague",
        "--max-reject-rate",
        "1",
    )
    assert run.exit_code == 0, run.stderr
    toml = (store / "relmine.toml").read_text()
    assert 'region = "CZ"' in toml and 'timezone = "Europe/Prague"' in toml
    assert status(store)["settings"]["region"] == "CZ"


def test_unknown_settings_are_refused(tmp_path: Path) -> None:
    run = run_cli("ingest", DATA / "bank_jan.csv", "--store", tmp_path / "s", "--region", "XX")
    assert run.exit_code == 1
    assert "unknown region 'XX'" in run.stderr
    assert not (tmp_path / "s").exists()
    run = run_cli(
        "ingest", DATA / "bank_jan.csv", "--store", tmp_path / "s", "--timezone", "Mars/Base"
    )
    assert run.exit_code == 1 and "unknown time zone" in run.stderr


def test_status_of_a_missing_store_says_how_to_make_one(tmp_path: Path) -> None:
    run = run_cli("status", "--store", tmp_path / "nothing")
    assert run.exit_code == 1
    assert "no relmine store at" in run.stderr and "relmine ingest" in run.stderr
    assert tree(tmp_path) == {}
