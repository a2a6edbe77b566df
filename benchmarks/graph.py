"""Benchmark of ``relmine graph``, ``communities`` and ``households`` on a demo world's store.

    python benchmarks/graph.py                    # 1,000,000 people: about 10 M call rows
    python benchmarks/graph.py --people 100000    # quicker

The world and its store are made once (``relmine demo``, seeded) into
``benchmarks/work/graph-<people>-<seed>/`` and reused; the store's tie-table cache is emptied
first. Each command runs as its own process, so its peak RSS (``os.wait4``) is its own:

- **graph**: events -> tie table (kept in the store's cache) -> ``ties.parquet``;
- **communities**: the cached tie table -> Louvain (igraph) -> ``communities.parquet``;
- **households**: the cached tie table -> pair scores -> constrained grouping (with the parties'
  cells from the events) -> ``households.parquet``; these two are how a user's or a nightly
  job's run after ``graph`` goes;
- **communities, cold** and **households, cold** (``RELMINE_TIE_CACHE=false``): the same, building
  the tie table from the events first, as when no command has built it yet.

The cached runs' outputs are checked to be byte-identical to the cold runs'.

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

#: Peak RSS (4 GB, in MiB as measured) and wall time each command should stay under.
TARGET_SECONDS = 60.0
TARGET_RSS_MB = 4e9 / 2**20


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


def add_world_arguments(parser: argparse.ArgumentParser) -> None:
    """``--people``, ``--seed`` of the demo world to make, or ``--store`` of an existing one."""
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", type=Path, help="an existing demo store instead (read only)")


def world_store(args: argparse.Namespace) -> Path:
    """The ``--store`` given, else the store of the demo world of ``--people`` and ``--seed``."""
    if args.store is not None:
        return args.store
    WORK.mkdir(exist_ok=True)
    return make_world(WORK / f"graph-{args.people}-{args.seed}", people=args.people, seed=args.seed)


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

    shutil.rmtree(store / "cache", ignore_errors=True)
    tmp = Path(tempfile.mkdtemp(dir=WORK))
    try:
        results = []
        runs = [
            ("graph", "graph", {}),
            ("communities", "communities", {}),
            ("households", "households", {}),
            ("communities, cold", "communities", {"RELMINE_TIE_CACHE": "false"}),
            ("households, cold", "households", {"RELMINE_TIE_CACHE": "false"}),
        ]
        for label, name, env in runs:
            out = tmp / f"{label.replace(', ', '-')}.parquet"
            cmd = relmine_cmd(name, "--store", str(store), "-o", str(out), "-q")
            results.append(measure(f"relmine {label}", cmd, rows=events, env=env))
            print(
                f"{label}: {results[-1].seconds:.1f} s, {results[-1].peak_rss_mb:,.0f} MiB",
                file=sys.stderr,
            )
        for name in ("communities", "households"):
            same = (tmp / f"{name}.parquet").read_bytes() == (
                tmp / f"{name}-cold.parquet"
            ).read_bytes()
            print(f"{name}: cached and cold outputs {'identical' if same else 'DIFFER'}")
        ties = pl.read_parquet(tmp / "graph.parquet", columns=["a", "b"])
        nodes = pl.concat([ties["a"], ties["b"]]).n_unique()
        print(f"ties: {ties.height:,}; nodes: {nodes:,}\n")
        print(markdown_table(results))
        print("\n" + targets_line(results, seconds=TARGET_SECONDS, rss_mb=TARGET_RSS_MB))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
