"""Benchmark of ``relmine tem`` on a demo world's store (10 M call records at 1 M people).

    python benchmarks/tem.py                                   # the 1,000,000-person world
    python benchmarks/tem.py --store DIR/store                 # an existing demo store (read only)

A demo world has no employees, so the run is ``--all-customers``: every person of the register
is an employee and their employer is their department. That is the heaviest case: almost every
call record has an employee at one end (most at both), so every row is classified, priced and
aggregated, the internal graph has one node per employer, and the anomaly searches run over
every person. The tariff is ``examples/tem/tariff.toml``. ``relmine tem`` runs as its own
process (wall time and peak RSS from ``os.wait4``), once: it writes the usage table, and its
summary on stderr (a JSON line) counts the anomalies.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import ROOT, machine, markdown_table, measure, relmine_cmd
from graph import add_world_arguments, store_events, world_store

#: Wall time ``relmine tem`` should stay under on the 1,000,000-person world (issue 8).
TARGET_SECONDS = 60.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_world_arguments(parser)
    store = world_store(parser.parse_args())
    rows = store_events(store)["cdr"]
    print(f"store: {store} ({rows:,} call records)")
    print(f"machine: {machine()}\n")
    tariff = str(ROOT / "examples" / "tem" / "tariff.toml")
    tmp = Path(tempfile.mkdtemp())
    try:
        out = tmp / "usage.parquet"
        cmd = relmine_cmd(
            "--log-format", "json", "tem", "--store", str(store), "--tariff", tariff,
            "--all-customers", "-o", str(out),
        )  # fmt: skip
        result = measure("relmine tem --all-customers", cmd, rows=rows)
        usage = pl.read_parquet(out)
        print(f"usage: {usage.height:,} employees, total cost {usage['cost'].sum():,.2f}")
        print(markdown_table([result]))
        verdict = "met" if result.seconds < TARGET_SECONDS else "missed"
        print(f"target (< {TARGET_SECONDS:.0f} s): {verdict}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
