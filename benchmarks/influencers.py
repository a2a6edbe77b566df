"""Benchmark of ``relmine influencers --top 1000`` on a demo world's store.

    python benchmarks/influencers.py                                  # 1,000,000 people
    python benchmarks/influencers.py --people 100000                  # quicker
    python benchmarks/influencers.py --store S --ties T --truth N     # an existing world

Two runs, each its own process (wall time and peak RSS from ``os.wait4``):

- **influencers --ties**: reads the tie table written once by ``relmine graph -o`` (how a
  nightly job runs it: ``graph`` once, then the analyses);
- **influencers** (cold): builds the tie table from the store first, as a first run does.

Without ``--ties``, the tie table is written first with ``relmine graph`` (not timed here; see
``benchmarks/graph.py``). The precision@k of the planted hubs (``is_hub`` in the world's
``truth/nodes.csv``, k = 1000 here, the top listed) is printed too: the share of the listed
influencers that are planted hubs.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import ROOT, machine, markdown_table, measure, relmine_cmd, targets_line
from graph import TARGET_RSS_MB, TARGET_SECONDS, WORK, make_world, store_events

TOP = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", type=Path, help="An existing store (read only).")
    parser.add_argument("--ties", type=Path, help="Its tie table from `relmine graph -o`.")
    parser.add_argument("--truth", type=Path, help="Its world's truth/nodes.csv.")
    parser.add_argument("--skip-cold", action="store_true", help="Only the --ties run.")
    args = parser.parse_args()

    WORK.mkdir(exist_ok=True)
    if args.store is None:
        world = WORK / f"graph-{args.people}-{args.seed}"
        store = make_world(world, people=args.people, seed=args.seed)
        truth = world / "world" / "truth" / "nodes.csv"
    else:
        store, truth = args.store, args.truth
    counts = store_events(store)
    events = counts["cdr"] + counts["bank"]
    print(f"store: {store} ({events:,} events)")
    print(f"machine: {machine()}\n")

    tmp = Path(tempfile.mkdtemp(dir=WORK))
    try:
        ties = args.ties
        if ties is None:
            ties = tmp / "ties.parquet"
            env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
            cmd = relmine_cmd("graph", "--store", str(store), "-o", str(ties), "-q")
            subprocess.run(cmd, env=env, check=True)
        results = []
        base = ["influencers", "--store", str(store), "--top", str(TOP), "-q"]
        out = tmp / "influencers-ties.parquet"
        cmd = relmine_cmd(*base, "--ties", str(ties), "-o", str(out))
        results.append(measure(f"relmine influencers --top {TOP} --ties", cmd, rows=events))
        print(f"--ties: {results[-1].seconds:.1f} s, {results[-1].peak_rss_mb:,.0f} MB")
        if not args.skip_cold:
            cold = tmp / "influencers-cold.parquet"
            cmd = relmine_cmd(*base, "-o", str(cold))
            results.append(measure(f"relmine influencers --top {TOP} (cold)", cmd, rows=events))
            print(f"cold: {results[-1].seconds:.1f} s, {results[-1].peak_rss_mb:,.0f} MB")
            same = cold.read_bytes() == out.read_bytes()
            print(f"cold and --ties outputs byte-identical: {same}")
        listed = pl.read_parquet(out)
        if truth is not None and Path(truth).is_file():
            nodes = pl.read_csv(
                truth,
                columns=["node_id", "role", "is_hub"],
                schema_overrides={"is_hub": pl.Boolean},
            )
            found = listed.join(nodes, on="node_id", how="left")
            hubs = int(nodes["is_hub"].sum())
            roles = found["role"].value_counts().sort("role").rows()
            print(
                f"planted hubs: {hubs:,}; precision@{listed.height} of the listed: "
                f"{found['is_hub'].mean():.4f}; roles listed: {roles}"
            )
        print()
        print(markdown_table(results))
        print("\n" + targets_line(results, seconds=TARGET_SECONDS, rss_mb=TARGET_RSS_MB))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
