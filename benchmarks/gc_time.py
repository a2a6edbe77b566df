"""Time a relmine command spends in Python's cyclic garbage collector.

    python benchmarks/gc_time.py households --store STORE -q -o households.parquet
    python benchmarks/gc_time.py influencers --store STORE -q -o influencers.parquet

Runs ``relmine`` with the given arguments in this process, with a ``gc.callbacks`` timer around
every collection, and prints the command's wall time, the seconds spent collecting and the
number of collections of each generation (stderr). Run it under ``/usr/bin/time -v`` for CPU
seconds and peak RSS. A stage that makes millions of container objects without pausing the
collector (:func:`relmine._gc.collector_paused`) shows seconds here.
"""

from __future__ import annotations

import gc
import sys
import time
from typing import Any


def main() -> None:
    spent = 0.0
    started = 0.0
    collections = [0, 0, 0]

    def timer(phase: str, info: dict[str, Any]) -> None:
        nonlocal spent, started
        if phase == "start":
            started = time.perf_counter()
        else:
            spent += time.perf_counter() - started
            collections[info["generation"]] += 1

    gc.callbacks.append(timer)
    from relmine.cli import main as relmine

    sys.argv = ["relmine", *sys.argv[1:]]
    begin = time.perf_counter()
    try:
        relmine()
    except SystemExit as exit_:
        if exit_.code not in (0, None):
            raise
    finally:
        gc.callbacks.remove(timer)
    print(
        f"wall {time.perf_counter() - begin:.1f} s, garbage collector {spent:.1f} s, "
        f"collections by generation {collections}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
