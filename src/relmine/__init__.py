"""relmine: mine the relationships hidden in bank-statement and call-detail records."""

from __future__ import annotations

import os

# igraph's PageRank (PRPACK) sums in parallel under OpenMP, and the order of a parallel sum
# changes its last bits from run to run. One OpenMP thread makes it reproducible (same store and
# seed, same bytes); it must be set before igraph is first imported, so it is set here. A value
# set by the user is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")

from relmine.errors import RelmineError

__version__ = "0.1.0"

__all__ = ["RelmineError", "__version__"]
