"""Shared fixtures: the repository's paths and a runner for the real CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from relmine.cli import app

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SAMPLE = ROOT / "data" / "sample"
#: Other projects' sample files, byte for byte with their licences (``data/third-party/README.md``).
THIRD_PARTY = ROOT / "data" / "third-party"


@dataclass
class Run:
    """What a CLI run printed and returned."""

    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> dict:
        return json.loads(self.stdout)


def run_cli(*args: str | Path) -> Run:
    """Run ``relmine ARGS`` in-process through Typer's CliRunner."""
    result = CliRunner().invoke(app, [str(a) for a in args], catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def run_process(*args: str | Path, **kwargs) -> subprocess.CompletedProcess:
    """Run ``python -m relmine ARGS`` in a separate process (for pipes and signals)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    kwargs.setdefault("text", True)
    return subprocess.run(
        [sys.executable, "-m", "relmine", *map(str, args)],
        capture_output=True,
        env=env,
        timeout=600,
        **kwargs,
    )


@pytest.fixture(scope="session")
def sample_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The committed sample world ingested once per test session (treat it as read-only)."""
    store = tmp_path_factory.mktemp("sample") / "store"
    files = ("customers.csv", "cells.csv", "calls.csv", "bank.csv")
    run = run_cli("ingest", *(SAMPLE / f for f in files), "--store", store)
    assert run.exit_code == 0, run.stderr
    return store


@pytest.fixture
def store(tmp_path: Path) -> Path:
    """A store path that does not exist yet."""
    return tmp_path / "store"


def status(store: Path) -> dict:
    """``relmine status --format json`` of a store."""
    run = run_cli("status", "--store", store, "--format", "json")
    assert run.exit_code == 0, run.stderr
    return run.json()


def tree(path: Path) -> dict[str, bytes]:
    """Every file under ``path`` with its bytes (to show a store was not touched)."""
    if not path.exists():
        return {}
    return {
        str(p.relative_to(path)): p.read_bytes() for p in sorted(path.rglob("*")) if p.is_file()
    }
