"""Acceptance on the committed sample world (``data/sample/``) against its ground truth."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from conftest import SAMPLE, run_cli, status, tree
from relmine.demo import compare_with_truth, make_world

FILES = ("customers.csv", "cells.csv", "calls.csv", "bank.csv")
TRUTH = json.loads((SAMPLE / "truth" / "summary.json").read_text())


def test_every_figure_equals_the_truth(sample_store: Path) -> None:
    checks = compare_with_truth(status(sample_store), TRUTH)
    different = [(what, truth, found) for what, truth, found in checks if truth != found]
    for what, truth, found in checks:
        print(f"{what:<42} truth {truth:>8,}  relmine {found:>8,}")
    assert not different


def test_rows_read_are_accepted_rejected_or_duplicates(sample_store: Path) -> None:
    for f in status(sample_store)["files"]:
        assert f["rows"] == f["accepted"] + f["rejected"] + f["duplicates"]
        assert f["rejected_by_reason"] == TRUTH["files"][Path(f["path"]).name]["rejected_by_reason"]


def test_phone_nodes_and_mirrored_transfers(sample_store: Path) -> None:
    st = status(sample_store)
    assert st["identifiers"]["phones"] == TRUTH["distinct_phones"]
    # Mirrored transfers are booked twice but counted once.
    assert TRUTH["mirrored_transfers"] > 1000
    assert st["events"]["bank"] == TRUTH["transfers"]


def test_ingesting_the_sample_again_changes_nothing(sample_store: Path) -> None:
    before, files_before = status(sample_store), tree(sample_store)
    run = run_cli("ingest", *(SAMPLE / f for f in FILES), "--store", sample_store)
    assert run.exit_code == 0, run.stderr
    assert run.stdout.count("already in store") == len(FILES)
    assert status(sample_store) == before
    assert tree(sample_store) == files_before


def test_the_committed_sample_is_what_the_generator_makes(tmp_path: Path) -> None:
    make_world(tmp_path, people=2000, seed=0)
    for path in [*sorted(SAMPLE.rglob("*.csv")), SAMPLE / "truth" / "summary.json"]:
        rel = path.relative_to(SAMPLE)
        fresh = hashlib.sha256((tmp_path / rel).read_bytes()).hexdigest()
        assert hashlib.sha256(path.read_bytes()).hexdigest() == fresh, f"{rel} differs"


def test_relmine_demo_runs_the_pipeline_and_agrees_with_the_truth(tmp_path: Path) -> None:
    run = run_cli("demo", tmp_path / "demo", "--people", "300", "--seed", "3")
    assert run.exit_code == 0, run.stderr
    assert "DIFFERENT" not in run.stdout
    assert run.stdout.count(" ok ") >= 20
    assert (tmp_path / "demo" / "store" / "manifest.json").is_file()
    assert str(tmp_path / "demo" / "store") in run.stdout
    # A second run replaces the store rather than mixing two worlds.
    again = run_cli("demo", tmp_path / "demo", "--people", "200", "--seed", "4")
    assert again.exit_code == 0 and "DIFFERENT" not in again.stdout


def test_relmine_demo_measures_every_analysis_against_the_truth(tmp_path: Path) -> None:
    """The default demo world: households, communities, influencers and cycles meet targets."""
    from relmine.demo import run_demo

    result = run_demo(tmp_path / "demo")
    quality = {name: value for name, value, _ in result.quality}
    print("\n" + "\n".join(f"{name}: {value:.3f}" for name, value in quality.items()))
    assert quality["household pairs: F1"] >= 0.90
    assert quality["communities: NMI with the planted circles"] >= 0.90
    assert quality["influencers: planted hubs in the top 10"] >= 0.85
    assert quality["hotlines and companies among them"] == 0
    assert quality["money cycles: planted cycles found"] == 1.0
    for name in ("influencers", "cycles"):
        assert result.outputs[name].is_file()
