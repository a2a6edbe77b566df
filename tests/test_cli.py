"""The command line as a user meets it: help, version, usage errors, README coverage."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import DATA, ROOT, run_cli, run_process
from relmine import __version__
from relmine.cli import app


def test_every_command_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    commands = [c.name or c.callback.__name__ for c in app.registered_commands]
    assert commands, "no commands registered"
    for name in commands:
        assert re.search(rf"`relmine {name}\b", readme), f"relmine {name} is not in the README"


def test_readme_has_the_two_quick_start_lines() -> None:
    lines = (ROOT / "README.md").read_text().splitlines()
    assert sum(1 for ln in lines if ln.startswith("python3 -m venv") and "relmine demo" in ln) == 1
    assert sum(1 for ln in lines if ln.startswith("python3 -m venv") and "pytest" in ln) == 1


def test_version() -> None:
    run = run_cli("--version")
    assert run.exit_code == 0 and run.stdout.strip() == f"relmine {__version__}"


def test_usage_error_exits_2() -> None:
    run = run_cli("ingest", DATA / "bank_jan.csv", "--kind", "pdf")
    assert run.exit_code == 2
    run = run_cli("no-such-command")
    assert run.exit_code == 2


def test_python_m_relmine_runs_and_errors_are_one_line(tmp_path) -> None:
    proc = run_process("ingest", DATA / "binary.csv", "--store", tmp_path / "s")
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert proc.stderr.strip().splitlines() == [
        f"relmine: error: {DATA / 'binary.csv'} is not a text (CSV) file; relmine reads CSV exports"
    ]


def test_allocator_settings_survive_a_parent_that_imported_polars() -> None:
    """relmine's jemalloc options reach Polars even when started by a program using Polars.

    ``import polars`` writes its own defaults into the environment, which a child process
    inherits; relmine must not take them for the user's choice. A user's own value still wins
    (it comes last). Checked in fresh interpreters, as the CLI starts.
    """
    show = "import relmine, os, polars; print(os.environ['_RJEM_MALLOC_CONF'])"

    def final(conf: str | None) -> str:
        env = {k: v for k, v in os.environ.items() if k != "_RJEM_MALLOC_CONF"}
        env["PYTHONPATH"] = str(ROOT / "src")
        if conf is not None:
            env["_RJEM_MALLOC_CONF"] = conf
        run = subprocess.run(
            [sys.executable, "-c", show], env=env, capture_output=True, text=True, check=True
        )
        return run.stdout.strip()

    ours = "background_thread:true,dirty_decay_ms:5000,muzzy_decay_ms:0"
    polars_defaults = "dirty_decay_ms:500,muzzy_decay_ms:1000"
    # Polars puts its defaults first and the variable after them: the last value of each
    # option is the one jemalloc uses.
    assert final(None) == f"{polars_defaults},{ours}"
    assert final(polars_defaults) == f"{polars_defaults},{ours}"
    assert final(f"{polars_defaults},narenas:2") == f"{polars_defaults},{ours},narenas:2"
    assert final("dirty_decay_ms:100") == f"{polars_defaults},{ours},dirty_decay_ms:100"
