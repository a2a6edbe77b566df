"""Benchmark of ``relmine graph``, ``communities`` and ``households`` on a demo world's store.

    python benchmarks/graph.py                    # 1,000,000 people: about 10 M call rows
    python benchmarks/graph.py --people 100000    # quicker

The world and its store are made once (``relmine demo``, seeded) into
``benchmarks/work/graph-<people>-<seed>/`` and reused. Each command runs as its own process, so
its peak RSS (``os.wait4``) is its own; each builds the tie table from the store itself, as a
user's run does:

- **graph**: events -> tie table -> ``ties.parquet``;
- **communities**: tie table -> Louvain (igraph) -> ``communities.parquet``;
- **households**: tie table -> pair scores -> constrained grouping -> ``households.parquet``;
- **communities --ties**, **households --ties**: the same, reading ``graph``'s tie table instead
  of rebuilding it (how a nightly job runs them).

``rows`` is the number of event rows in the store (call rows + bank rows), so rows/s is comparable
with the ingest benchmark; ties and nodes are counted from ``graph``'s output.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import ROOT, machine, markdown_table, measure, relmine_cmd, targets_line

WORK = Path(__file__).resolve().parent / "work"

#: Peak RSS and wall time each command should stay under on the project's standard machine.
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 4000.0


def make_world(directory: Path, *, people: int, seed: int) -> Path:
    """``relmine demo DIRECTORY`` once; later calls reuse it. Returns the store's path."""
    store = directory / "store"
    if (store / "manifest.json").is_file():
        return store
    shutil.rmtree(directory, ignore_errors=True)
    print(f"making the {people:,}-person world in {directory} ...", file=sys.stderr)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    cmd = relmine_cmd("demo", str(directory), "--people", str(people), "--seed", str(seed), "-q")
    subprocess.run(cmd, env=env, check=True)
    return store


def store_events(store: Path) -> dict[str, int]:
    """Rows of the store's event tables, per table (Polars reads only the Parquet footers)."""
    manifest = json.loads((store / "manifest.json").read_text(encoding="utf-8"))
    counts = {}
    for table in ("cdr", "bank"):
        parts = [store / p for p in manifest["tables"].get(table, [])]
        counts[table] = pl.scan_parquet(parts).select(pl.len()).collect().item() if parts else 0
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    WORK.mkdir(exist_ok=True)
    world = WORK / f"graph-{args.people}-{args.seed}"
    store = make_world(world, people=args.people, seed=args.seed)
    counts = store_events(store)
    events = counts["cdr"] + counts["bank"]
    print(
        f"store: {store} ({counts['cdr']:,} call rows + {counts['bank']:,} bank rows "
        f"= {events:,} events)"
    )
    print(f"machine: {machine()}\n")

    tmp = Path(tempfile.mkdtemp(dir=WORK))
    try:
        results = []
        for name in ("graph", "communities", "households"):
            out = tmp / f"{name}.parquet"
            cmd = relmine_cmd(name, "--store", str(store), "-o", str(out), "-q")
            results.append(measure(f"relmine {name}", cmd, rows=events))
            print(
                f"{name}: {results[-1].seconds:.1f} s, {results[-1].peak_rss_mb:,.0f} MB",
                file=sys.stderr,
            )
        # the nightly way: the tie table written once by `graph`, read by the analyses
        for name in ("communities", "households"):
            out = tmp / f"{name}-ties.parquet"
            cmd = relmine_cmd(
                name, "--store", str(store), "--ties", str(tmp / "graph.parquet"), "-o", str(out)
            )
            results.append(measure(f"relmine {name} --ties", [*cmd, "-q"], rows=events))
            print(
                f"{name} --ties: {results[-1].seconds:.1f} s, {results[-1].peak_rss_mb:,.0f} MB",
                file=sys.stderr,
            )
        ties = pl.read_parquet(tmp / "graph.parquet", columns=["a", "b"])
        nodes = pl.concat([ties["a"], ties["b"]]).n_unique()
        print(f"ties: {ties.height:,}; nodes: {nodes:,}\n")
        print(markdown_table(results))
        print("\n" + targets_line(results, seconds=TARGET_SECONDS, rss_mb=TARGET_RSS_MB))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
