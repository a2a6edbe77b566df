"""relmine: mine the relationships hidden in bank-statement and call-detail records."""

from __future__ import annotations

import os

from relmine.errors import RelmineError  # no import of Polars: the settings below come first

# igraph's PageRank (PRPACK) sums in parallel under OpenMP, and the order of a parallel sum
# changes its last bits from run to run. One OpenMP thread makes it reproducible (same store and
# seed, same bytes); it must be set before igraph is first imported, so it is set here. A value
# set by the user is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")
# Polars allocates through jemalloc, which by default keeps freed pages for 10 s before giving
# them back to the system. An ingest frees and allocates gigabytes within seconds, so its peak
# resident memory counts those pages on top of the live ones; pages given back too soon are
# faulted in and zeroed again by the next batch. After 5 s, an ingest reuses the pages of the
# batch before (a batch takes 1.5-2 s): 0.8 CPU-seconds less system time per 10 M call rows than
# after 1 s, for a peak that its batches of 113 MiB of text (``ingest_batch_mb``) keep where
# batches of 170 MiB held it with 1 s. The giving back is done by jemalloc's background thread
# rather than by the thread that frees: done inline (and after 0.3 s) it cost 5 % of that
# ingest's time. Like the above, it must be set before Polars is first imported.
#
# jemalloc reads the options in order, the last value of an option winning, and Polars' import
# puts its own defaults first and the variable's value after them; so a value set by the user,
# put after relmine's, is kept. But `import polars` also writes its defaults into the
# environment, and a process started by a Python program that imported Polars (a benchmark,
# a scheduler's task, a notebook) inherits them as if the user had set them: such a leading
# copy of Polars' defaults is dropped (with it, an ingest of 10 M call rows took 1 s longer).
_POLARS_JEMALLOC = "dirty_decay_ms:500,muzzy_decay_ms:1000"
_inherited = os.environ.get("_RJEM_MALLOC_CONF", "")
if _inherited.startswith(_POLARS_JEMALLOC):
    _inherited = _inherited[len(_POLARS_JEMALLOC) :].lstrip(",")
os.environ["_RJEM_MALLOC_CONF"] = ",".join(
    part
    for part in ("background_thread:true,dirty_decay_ms:5000,muzzy_decay_ms:0", _inherited)
    if part
)
del _inherited


__version__ = "0.1.0"

__all__ = ["RelmineError", "__version__"]
