"""Benchmark of ``--engine spark`` (local mode) next to the Polars engine, on a demo world.

    python benchmarks/spark.py --world benchmarks/work/graph-100000-0     # an existing world
    python benchmarks/spark.py --people 100000                            # made if missing

The world's CSV files (``world/``) are only read: each engine ingests them into a store of its
own in a temporary folder, then builds the tie table from the Polars store, each command a process
of its own:

- **ingest, polars** / **ingest, spark**: customers, cells, call records and statements;
- **graph, polars** / **graph, spark**: events -> tie table -> ``ties.parquet``.

Both stores are checked to hold the same events (row counts per table, and the manifest's counts
per file), and both tie tables to be the same (rows exact, floats to 1e-9 relative). Spark runs in
local mode with ``--spark-master`` (``local[2]`` by default) and the standard Spark configuration
in ``PYSPARK_SUBMIT_ARGS`` (driver memory, shuffle partitions), which is how a user tunes it.

Peak RSS is the largest sum of the resident memory of the command's process tree (sampled every
0.2 s from ``/proc``), so the Spark engine's JVM and Python workers count with the driver; CPU
seconds are the tree's user + system time, which on a shared machine compares better than wall
time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import ROOT, Measured, machine, markdown_table, relmine_cmd
from graph import WORK, make_world

FILES = ("customers.csv", "cells.csv", "calls.csv", "bank.csv")


def _tree(root: int) -> dict[int, tuple[int, float]]:
    """``root`` and every process below it: pid -> (resident bytes, CPU seconds so far)."""
    parents: dict[int, int] = {}
    usage: dict[int, tuple[int, float]] = {}
    page, tick = os.sysconf("SC_PAGE_SIZE"), os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            pages = int((entry / "statm").read_text().split()[1])
        except (OSError, ValueError, IndexError):
            continue
        parents[int(entry.name)] = int(fields[1])
        usage[int(entry.name)] = (pages * page, (int(fields[11]) + int(fields[12])) / tick)
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [p for p, parent in parents.items() if parent == pid]
        tree.update(children)
        frontier.extend(children)
    return {p: usage[p] for p in tree if p in usage}


def measure_tree(name: str, cmd: list[str], *, rows: int, env: dict[str, str]) -> Measured:
    """Run ``cmd``; its wall time, and the peak resident memory and the CPU time of its whole
    process tree (the JVM and Python workers of Spark included; CPU time as last sampled)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **env}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    peak, cpu = 0.0, {}
    while proc.poll() is None:
        tree = _tree(proc.pid)
        peak = max(peak, sum(rss for rss, _ in tree.values()) / 2**20)
        cpu.update({pid: seconds for pid, (_, seconds) in tree.items()})
        time.sleep(0.2)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed: {' '.join(cmd)}")
    used = sum(cpu.values())
    print(f"{name}: {seconds:.1f} s, CPU {used:.1f} s, {peak:,.0f} MiB", file=sys.stderr)
    return Measured(name, rows, seconds, peak, used)


def _data_lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh) - 1


def _events(store: Path) -> dict[str, int]:
    manifest = json.loads((store / "manifest.json").read_text(encoding="utf-8"))
    return {
        table: pl.scan_parquet([store / p for p in parts]).select(pl.len()).collect().item()
        for table, parts in manifest["tables"].items()
        if parts
    }


def _files(store: Path) -> list[dict]:
    manifest = json.loads((store / "manifest.json").read_text(encoding="utf-8"))
    return [{k: v for k, v in f.items() if k != "path"} for f in manifest["files"]]


def _same_ties(polars_file: Path, spark_file: Path) -> bool:
    from polars.testing import assert_frame_equal

    try:
        assert_frame_equal(
            pl.read_parquet(spark_file),
            pl.read_parquet(polars_file),
            check_exact=False,
            rel_tol=1e-9,
            abs_tol=0.0,
        )
    except AssertionError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--world", type=Path, help="an existing demo world (only read)")
    parser.add_argument("--spark-master", default="local[2]")
    parser.add_argument(
        "--submit-args",
        default="--driver-memory 4g --conf spark.sql.shuffle.partitions=8 pyspark-shell",
        help="PYSPARK_SUBMIT_ARGS of the Spark runs",
    )
    args = parser.parse_args()

    if args.world is None:
        WORK.mkdir(exist_ok=True)
        args.world = WORK / f"graph-{args.people}-{args.seed}"
        make_world(args.world, people=args.people, seed=args.seed)
    inputs = [str(args.world / "world" / f) for f in FILES]
    print(f"world: {args.world}")
    print(f"machine: {machine()}\n")
    spark = {"PYSPARK_SUBMIT_ARGS": args.submit_args}
    engine = ["--engine", "spark", "--spark-master", args.spark_master]

    tmp = Path(tempfile.mkdtemp(prefix="relmine-spark-bench-"))
    try:
        stores = {"polars": tmp / "polars", "spark": tmp / "spark"}
        results = []
        lines = sum(_data_lines(Path(f)) for f in inputs[2:])  # call + bank rows
        for name, extra, env in (("polars", [], {}), ("spark", engine, spark)):
            cmd = relmine_cmd("ingest", *inputs, "--store", str(stores[name]), "-q", *extra)
            results.append(measure_tree(f"ingest, {name}", cmd, rows=lines, env=env))
        same_store = _events(stores["polars"]) == _events(stores["spark"]) and _files(
            stores["polars"]
        ) == _files(stores["spark"])
        events = sum(v for k, v in _events(stores["polars"]).items() if k in ("cdr", "bank"))
        ties = {name: tmp / f"ties-{name}.parquet" for name in stores}
        for name, extra, env in (("polars", [], {}), ("spark", engine, spark)):
            out = str(ties[name])
            cmd = relmine_cmd("graph", "--store", str(stores["polars"]), "-o", out, "-q", *extra)
            env = {**env, "RELMINE_TIE_CACHE": "false"} if name == "polars" else env
            results.append(measure_tree(f"graph, {name}", cmd, rows=events, env=env))
        height = pl.scan_parquet(ties["polars"]).select(pl.len()).collect().item()
        print(
            f"stores: {'the same events and counts' if same_store else 'DIFFER'}; "
            f"tie tables: {'the same' if _same_ties(ties['polars'], ties['spark']) else 'DIFFER'}"
            f" ({height:,} ties from {events:,} events)\n"
        )
        print(markdown_table(results))
        print(
            "\nCPU seconds (user + system, whole process tree): "
            + ", ".join(f"{r.name} {r.cpu_seconds:.1f}" for r in results)
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
