"""Faults: owner-only store files, --no-wait, disk full, SIGKILL of output writers, readers.

Disk full is simulated portably with ``RLIMIT_FSIZE`` in the child process (writes beyond the
limit fail with ``EFBIG``, as a full disk fails with ``ENOSPC``: the same error path), and for
real on a tiny tmpfs where this machine lets the tests mount one.
"""

from __future__ import annotations

import json
import os
import re
import resource
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest

from conftest import DATA, ROOT, SAMPLE, run_cli, run_process, status, tree
from relmine.store import Store


def _sample(store: Path, *names: str) -> None:
    files = [SAMPLE / f"{n}.csv" for n in names or ("customers", "cells", "calls", "bank")]
    run = run_cli("ingest", *files, "--store", store, "-q")
    assert run.exit_code == 0, run.stderr


def _limited(size: int):
    """A ``preexec_fn`` that limits the size of any file the child writes to ``size`` bytes."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed

    return limit


def test_store_files_are_readable_by_the_owner_only(tmp_path: Path) -> None:
    store = tmp_path / "store"
    old = os.umask(0o022)  # the usual umask would make them world-readable
    try:
        _sample(store)
        assert run_cli("graph", "--store", store, "-o", tmp_path / "ties.parquet").exit_code == 0
    finally:
        os.umask(old)
    paths = [store, *store.rglob("*")]
    assert any(p.parent.name == "cache" for p in paths), "the tie table was not cached"
    loose = [
        f"{p.relative_to(tmp_path)} {stat.filemode(p.stat().st_mode)}"
        for p in paths
        if p.stat().st_mode & 0o077
    ]
    assert loose == []
    # an output the user asked for follows the umask like any file they write
    assert (tmp_path / "ties.parquet").stat().st_mode & 0o777 == 0o644


def test_no_wait_fails_at_once_while_another_process_writes(tmp_path: Path) -> None:
    store = tmp_path / "store"
    run_cli("ingest", DATA / "bank_jan.csv", "--store", store, "-q")
    before = tree(store)
    with Store.open(store).transaction():
        started = time.monotonic()
        run = run_process("ingest", DATA / "bank_janfeb.csv", "--store", store, "--no-wait")
        assert time.monotonic() - started < 30
    assert run.returncode == 1
    assert "being written by another relmine process" in run.stderr
    assert "Traceback" not in run.stderr
    assert tree(store) == before
    # and once the writer is done, the same command goes through
    run = run_process("ingest", DATA / "bank_janfeb.csv", "--store", store, "--no-wait", "-q")
    assert run.returncode == 0, run.stderr


def test_readers_see_one_version_while_a_writer_commits(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _sample(store, "customers", "cells")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    files = (SAMPLE / "calls.csv", SAMPLE / "bank.csv")
    writer = subprocess.Popen(
        [sys.executable, "-m", "relmine", "ingest", *files, "--store", str(store), "-q"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    seen = set()
    while writer.poll() is None:
        files = status(store)["files"]
        seen.add(tuple(f["path"].rsplit("/", 1)[-1] for f in files))
    assert writer.wait() == 0, writer.stderr.read()
    seen.add(tuple(f["path"].rsplit("/", 1)[-1] for f in status(store)["files"]))
    # both files arrive in one commit: never one without the other
    assert seen <= {
        ("customers.csv", "cells.csv"),
        ("customers.csv", "cells.csv", "calls.csv", "bank.csv"),
    }
    assert ("customers.csv", "cells.csv", "calls.csv", "bank.csv") in seen


def test_ingest_on_a_full_disk_says_so_and_stores_nothing(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _sample(store, "customers", "cells")
    before = tree(store)
    run = run_process(
        "ingest", SAMPLE / "calls.csv", "--store", store, preexec_fn=_limited(200_000)
    )
    assert run.returncode == 1
    assert run.stderr.startswith("relmine: error: cannot write the store at")
    assert "nothing of this run was stored" in run.stderr
    assert len(run.stderr.strip().splitlines()) == 1
    assert tree(store) == before


def test_an_output_on_a_full_disk_keeps_the_previous_file(tmp_path: Path) -> None:
    store = tmp_path / "store"
    _sample(store)
    out = tmp_path / "ties.csv"
    out.write_text("the previous output\n")
    # the tie cache cannot be written either: that costs a rebuild, not the run
    run = run_process("graph", "--store", store, "-o", out, preexec_fn=_limited(100_000))
    assert run.returncode == 1
    assert "cannot write" in run.stderr and "is unchanged" in run.stderr
    assert "Traceback" not in run.stderr
    assert out.read_text() == "the previous output\n"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


@pytest.fixture
def tiny_disk(tmp_path: Path):
    """A 400 KiB tmpfs, where this machine allows mounting one (root in a container); else skip."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=400k", "tmpfs", str(mount)], capture_output=True
    )
    if done.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here; the RLIMIT_FSIZE tests cover the path")
    yield mount
    subprocess.run(["umount", str(mount)], check=False)


def test_a_really_full_disk(tiny_disk: Path) -> None:
    store = tiny_disk / "store"
    _sample(store, "customers", "cells")
    before = tree(store)
    run = run_process("ingest", SAMPLE / "calls.csv", SAMPLE / "bank.csv", "--store", store)
    assert run.returncode == 1
    assert "no space left on the device" in run.stderr
    assert tree(store) == before
    assert status(store)["files"][-1]["path"].endswith("cells.csv")


@pytest.mark.parametrize("delay", [0.2, 0.6, 1.0, 1.4])
def test_sigkill_of_an_output_writer_leaves_the_old_or_the_new_file(
    sample_store: Path, tmp_path: Path, delay: float
) -> None:
    out = tmp_path / "households.parquet"
    new = tmp_path / "new.parquet"
    assert run_cli("households", "--store", sample_store, "-o", new, "-q").exit_code == 0
    pl.DataFrame({"node_id": ["old"]}).write_parquet(out)
    old = out.read_bytes()
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    args = ("households", "--store", str(sample_store), "-o", str(out), "-q")
    proc = subprocess.Popen(
        [sys.executable, "-m", "relmine", *args],
        env=env,
    )
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    # whatever the moment, the file is complete: the old one or the new one
    assert out.read_bytes() in (new.read_bytes(), old)


def test_debug_tracebacks_show_no_local_variables(tmp_path: Path) -> None:
    secret = "+421905777888"
    bad = tmp_path / "calls.csv"
    bad.write_text(f"caller,callee,start_time\n{secret},{secret[:-1]}9,2026-03-01 10:00:00\n")
    store = tmp_path / "store"
    # the limit lets the settings and manifest through and stops the first part file, deep in
    # ingest, where frames holding the rows are local variables
    run = run_process("ingest", bad, "--store", store, "--debug", preexec_fn=_limited(1_500))
    assert run.returncode == 1
    assert "Traceback" in run.stderr and "ingest/core.py" in run.stderr
    assert secret not in run.stderr and secret[4:] not in run.stderr
    assert json.dumps(secret) not in run.stderr


@pytest.mark.parametrize(
    "command",
    [
        ("graph",),
        ("communities",),
        ("households",),
        ("influencers",),
        ("cycles",),
        ("risk",),
        ("status",),
    ],
)
@pytest.mark.parametrize("log_format", ["text", "json"])
def test_logs_name_no_phone_number_or_account(
    sample_store: Path, tmp_path: Path, command: tuple[str, ...], log_format: str
) -> None:
    """What goes to stderr (summaries, progress, logs) never holds a raw identifier."""
    out = ["-o", str(tmp_path / "out.parquet")] if command[0] != "status" else []
    run = run_process(*command, "--store", sample_store, *out, "--log-format", log_format)
    assert run.returncode == 0, run.stderr
    assert run.stderr.strip() or command[0] == "status"
    assert re.findall(r"\+\d{8,15}", run.stderr) == []  # E.164 numbers
    assert re.findall(r"\b[A-Z]{2}\d{2}[A-Z0-9]{11,30}\b", run.stderr) == []  # IBANs


def test_ingest_report_names_no_identifier_of_a_rejected_row(tmp_path: Path) -> None:
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "caller,callee,start_time\n"
        "+421905111222,+421905333444,2026-03-01 10:00:00\n"
        "+421905555666,,2026-03-01 10:00:00\n"  # rejected: missing callee
        "+421905777888,+421905999000,not a time\n"  # rejected: bad timestamp
    )
    for log_format in ("text", "json"):
        store = tmp_path / f"store-{log_format}"
        run = run_process(
            "ingest", calls, "--store", store, "--max-reject-rate", "1", "--log-format", log_format
        )
        assert run.returncode == 0, run.stderr
        shown = run.stdout + run.stderr
        assert "missing callee" in shown and "bad timestamp" in shown
        for number in ("905111222", "905555666", "905777888", "905999000"):
            assert number not in shown
