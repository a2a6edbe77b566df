"""Benchmark of ``relmine ingest`` on a 10-million-row CDR file, next to a bare Polars floor.

    python benchmarks/ingest.py                 # 10,000,000 rows, about 1,000,000 subscribers
    python benchmarks/ingest.py --rows 1000000  # quicker

The file is generated once (seeded) into ``benchmarks/work/`` and reused. Each measured step runs
as its own process, so peak RSS (``os.wait4``) is that step's alone:

- **floor**: ``scan_csv -> group_by(caller, callee) -> sink_parquet`` with explicit timestamp
  parsing — the least any tool must do to read the file and aggregate pairs;
- **relmine ingest**: sniff, hash, parse, normalise phones to E.164, validate, de-duplicate, write
  the store (Parquet parts + rejects + manifest).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _measure import machine, markdown_table, measure, relmine_cmd

WORK = Path(__file__).resolve().parent / "work"

FLOOR = """
import polars as pl, sys
(pl.scan_csv(sys.argv[1], schema_overrides={"start_time": pl.String, "caller": pl.String,
                                             "callee": pl.String})
   .with_columns(pl.col("start_time").str.to_datetime("%Y-%m-%d %H:%M:%S"))
   .group_by("caller", "callee")
   .agg(pl.len().alias("n"), pl.col("duration_s").cast(pl.Int64, strict=False).sum(),
        pl.col("start_time").min().alias("first"), pl.col("start_time").max().alias("last"))
   .sink_parquet(sys.argv[2]))
"""


#: Shares of the writings ``+421…``, ``0…``, ``00421…``, ``421…``, ``+421 9xx xxx xxx``,
#: ``09xx xxx xxx`` for the caller (A-number) and callee (B-number) columns.
WRITINGS = {
    # An operator's switch writes the A-number one way; the B-number is as dialled.
    "operator": ([0, 0, 0, 1, 0, 0], [0.25, 0.70, 0.05, 0, 0, 0]),
    # Every row picks a writing at random: the worst case for per-value normalisation.
    "mixed": ([0.5, 0.25, 0.08, 0.05, 0.06, 0.06], [0.5, 0.25, 0.08, 0.05, 0.06, 0.06]),
}


def make_cdr(path: Path, *, rows: int, seed: int = 0, writings: str = "operator") -> None:
    """A CDR file with ``rows`` calls/messages among about ``rows / 10`` subscribers.

    Numbers are written as in real exports (``+421…``, ``0…``, ``00421…``, ``421…``, with and
    without spaces; see :data:`WRITINGS`), so normalisation does real work.
    """
    p_caller, p_callee = WRITINGS[writings]
    rng = np.random.default_rng(seed)
    n_subs = max(rows // 10, 1000)
    # Slovak mobile prefixes 0901-0919 except 0913, which is not assigned (not a valid number).
    prefixes = np.array([p for p in range(901, 920) if p != 913]) * 1_000_000
    codes = rng.choice(len(prefixes) * 1_000_000, size=n_subs, replace=False)
    subs = prefixes[codes // 1_000_000] + codes % 1_000_000
    # Heavy-tailed activity: some subscribers call far more than others.
    weights = rng.pareto(1.5, n_subs) + 1
    weights /= weights.sum()
    chunk = 2_000_000
    with open(path, "wb") as fh:
        fh.write(b"caller,callee,start_time,duration_s,type,cell_id\n")
        for lo in range(0, rows, chunk):
            n = min(chunk, rows - lo)
            a = rng.choice(subs, n, p=weights)
            b = rng.choice(subs, n, p=weights)
            secs = rng.integers(0, 90 * 86400, n)
            voice = rng.random(n) < 0.6
            frame = pl.DataFrame(
                {
                    "a": a.astype(str),
                    "b": b.astype(str),
                    "form_a": rng.choice(6, n, p=p_caller),
                    "form_b": rng.choice(6, n, p=p_callee),
                    "t": pl.Series(
                        (
                            np.datetime64("2026-01-01T00:00:00") + secs.astype("timedelta64[s]")
                        ).astype("datetime64[ms]")
                    ),
                    "d": np.where(voice, rng.integers(1, 1800, n), 0),
                    "voice": voice,
                    "cell": rng.integers(1, 5000, n),
                }
            )

            def written(col: str, form: str) -> pl.Expr:
                d = pl.col(col)
                spaced = pl.concat_str(
                    d.str.slice(0, 3), d.str.slice(3, 3), d.str.slice(6, 3), separator=" "
                )
                return (
                    pl.when(pl.col(form) == 0)
                    .then("+421" + d)
                    .when(pl.col(form) == 1)
                    .then("0" + d)
                    .when(pl.col(form) == 2)
                    .then("00421" + d)
                    .when(pl.col(form) == 3)
                    .then("421" + d)
                    .when(pl.col(form) == 4)
                    .then("+421 " + spaced)
                    .otherwise("0" + spaced)
                )

            frame.select(
                caller=written("a", "form_a"),
                callee=written("b", "form_b"),
                start_time=pl.col("t").dt.strftime("%Y-%m-%d %H:%M:%S"),
                duration_s=pl.when("voice").then(pl.col("d")),
                type=pl.when("voice").then(pl.lit("voice")).otherwise(pl.lit("sms")),
                cell_id=pl.lit("C") + pl.col("cell").cast(pl.String),
            ).write_csv(fh, include_header=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--writings",
        choices=sorted(WRITINGS),
        default="operator",
        help="how phone numbers are written (operator: one writing per column as switches "
        "export them; mixed: a random writing per row)",
    )
    args = parser.parse_args()

    WORK.mkdir(exist_ok=True)
    csv = WORK / f"cdr-{args.rows}-{args.seed}-{args.writings}.csv"
    if not csv.exists():
        print(f"generating {csv} ...", file=sys.stderr)
        make_cdr(csv, rows=args.rows, seed=args.seed, writings=args.writings)
    size = csv.stat().st_size / 2**20
    print(f"input: {csv} ({size:,.0f} MiB, {args.rows:,} rows, {args.writings} writings)")
    print(f"machine: {machine()}\n")

    tmp = Path(tempfile.mkdtemp(dir=WORK))
    try:
        floor = measure(
            "floor: polars scan_csv -> group_by -> sink_parquet",
            [sys.executable, "-c", FLOOR, str(csv), str(tmp / "pairs.parquet")],
            rows=args.rows,
        )
        ingest = measure(
            "relmine ingest (parse + normalise + dedup + store)",
            relmine_cmd("ingest", str(csv), "--store", str(tmp / "store"), "-q"),
            rows=args.rows,
        )
        print(markdown_table([floor, ingest]))
        cpu = f"floor {floor.cpu_seconds:.1f}, relmine ingest {ingest.cpu_seconds:.1f}"
        print(f"\nCPU seconds (user + system): {cpu}")
        print(f"\nrelmine ingest / floor: {ingest.seconds / floor.seconds:.2f}x")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
