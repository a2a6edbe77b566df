"""Benchmark of ``relmine cycles`` on a demo world's store, with the planted cycles as truth.

    python benchmarks/cycles.py                       # 1,000,000 people (about 13 M bank rows)
    python benchmarks/cycles.py --people 100000       # quicker
    python benchmarks/cycles.py --store DIR/store     # an existing demo store (read only)

The world is made once by ``benchmarks/graph.py``'s ``make_world`` (``benchmarks/work/``) unless
``--store`` names one. ``relmine cycles`` runs as its own process (wall time and peak RSS from
``os.wait4``) with the default options; its output is then compared with the world's
``truth/cycles.csv``: a planted cycle is found when a reported cycle has the same payers in the
same order from the same first booking day.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import machine, markdown_table, measure, relmine_cmd
from graph import add_world_arguments, store_events, world_store

#: Wall time ``relmine cycles`` should stay under on the 1,000,000-person world (issue 7).
TARGET_SECONDS = 60.0


def planted_found(found: pl.DataFrame, truth: pl.DataFrame) -> tuple[int, int]:
    """(planted cycles found, planted cycles): same payers in order, same first booking day."""

    def keys(frame: pl.DataFrame, day: pl.Expr) -> pl.DataFrame:
        return frame.group_by("cycle_id").agg(
            payers=pl.col("node_id").sort_by("position").str.join(" "), day=day.min()
        )

    planted = keys(truth, pl.col("booked_at").cast(pl.String))
    reported = keys(found, pl.col("booked_at").dt.date().cast(pl.String)).drop("cycle_id")
    hit = planted.join(reported.unique(), on=["payers", "day"], how="semi")
    return hit.height, planted.height


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_world_arguments(parser)
    store = world_store(parser.parse_args())
    rows = store_events(store)["bank"]
    print(f"store: {store} ({rows:,} bank rows)")
    print(f"machine: {machine()}\n")
    tmp = Path(tempfile.mkdtemp())
    try:
        out = tmp / "cycles.parquet"
        cmd = relmine_cmd("cycles", "--store", str(store), "-o", str(out))  # summary on stderr
        result = measure("relmine cycles", cmd, rows=rows)
        found = pl.read_parquet(out)
        print(markdown_table([result]))
        cycles = found["cycle_id"].n_unique()
        print(f"\ncycles: {cycles:,}; parties in a cycle: {found['node_id'].n_unique():,}")
        truth = store.parent / "world" / "truth" / "cycles.csv"
        if truth.is_file():
            hit, planted = planted_found(found, pl.read_csv(truth))
            print(f"planted cycles found: {hit:,} of {planted:,}")
        verdict = "met" if result.seconds < TARGET_SECONDS else "missed"
        print(f"target (< {TARGET_SECONDS:.0f} s): {verdict}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
