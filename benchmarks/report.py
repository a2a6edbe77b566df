"""Benchmark of ``relmine report`` on a demo world's store, given the nightly outputs.

    python benchmarks/report.py                                   # 1,000,000 people
    python benchmarks/report.py --people 100000                   # quicker
    python benchmarks/report.py --store S --communities C --households H --influencers I

The report is run the way a nightly job runs it: ``relmine communities``, ``households`` and
``influencers`` have written their outputs (each about 40 s on a million parties), and
``relmine report --communities C --households H --influencers I`` reads them and computes the
rest (degrees, strengths, the drawings, the hour x weekday grid) from the tie table, which the
store's cache holds once any command has built it. Outputs that are not given are written first
with the commands (not timed). The report runs as its own process (wall time and peak RSS from
``os.wait4``); the targets are under 60 s and a file under 10 MB.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import ROOT, machine, markdown_table, measure, relmine_cmd, targets_line
from graph import TARGET_RSS_MB, TARGET_SECONDS, WORK, make_world, store_events

#: Largest report file wanted (bytes).
TARGET_BYTES = 10 * 10**6
OUTPUTS = ("communities", "households", "influencers")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--people", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--store", type=Path, help="An existing store (read only).")
    for name in OUTPUTS:
        parser.add_argument(f"--{name}", type=Path, help=f"Its `relmine {name} -o` output.")
    parser.add_argument("--keep", type=Path, help="Copy the report to this file.")
    args = parser.parse_args()

    WORK.mkdir(exist_ok=True)
    store = args.store
    if store is None:
        store = make_world(
            WORK / f"graph-{args.people}-{args.seed}", people=args.people, seed=args.seed
        )
    counts = store_events(store)
    events = counts["cdr"] + counts["bank"]
    print(f"store: {store} ({counts['cdr']:,} CDR rows, {events:,} events)")
    print(f"machine: {machine()}\n")

    tmp = Path(tempfile.mkdtemp(dir=WORK))
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
        given = {}
        for name in OUTPUTS:
            path = getattr(args, name)
            if path is None:
                path = tmp / f"{name}.parquet"
                cmd = relmine_cmd(name, "--store", str(store), "-o", str(path), "-q")
                subprocess.run(cmd, env=env, check=True)
            given[name] = path
        out = tmp / "report.html"
        cmd = relmine_cmd("report", "--store", str(store), "-o", str(out), "-q")
        for name, path in given.items():
            cmd += [f"--{name}", str(path)]
        result = measure("relmine report (outputs given)", cmd, rows=events)
        size = out.stat().st_size
        page = out.read_text(encoding="utf-8")
        if args.keep is not None:
            shutil.copyfile(out, args.keep)
        charts = len(re.findall(r'<img src="data:image/png;base64,', page))
        print(f"report: {result.seconds:.1f} s, {result.peak_rss_mb:,.0f} MiB, {size:,} bytes")
        print(f"charts embedded: {charts}")
        print()
        print(markdown_table([result]))
        print("\n" + targets_line([result], seconds=TARGET_SECONDS, rss_mb=TARGET_RSS_MB))
        verdict = "met" if size < TARGET_BYTES else "missed"
        print(f"file size target (< {TARGET_BYTES / 1e6:.0f} MB): {verdict} ({size / 1e6:.2f} MB)")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
