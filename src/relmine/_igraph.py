"""How relmine imports igraph (:func:`load_igraph`), kept apart so the command line can choose
it without importing anything else."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["IGRAPH_IMPORT", "load_igraph"]

#: Whether :func:`load_igraph` imports igraph without matplotlib: the command line's choice
#: (:func:`relmine.cli.main`); in a program using relmine as a library, igraph keeps its drawing.
IGRAPH_IMPORT = {"without_matplotlib": False}


def load_igraph() -> Any:
    """The ``igraph`` module; for the command line, imported without matplotlib.

    python-igraph imports ``matplotlib.pyplot`` as it is imported, for drawing graphs: about
    0.8 s at the start of every command that builds a graph, though a command never draws with
    igraph (the report draws with matplotlib's own canvas and imports it first). Under
    :data:`IGRAPH_IMPORT`, unless matplotlib is loaded already, it is hidden for the moment of
    the import, which sends igraph down the path it takes on a machine without matplotlib (its
    drawing functions say so when called); matplotlib itself stays importable afterwards.
    """
    if "igraph" in sys.modules:
        return sys.modules["igraph"]
    hide = IGRAPH_IMPORT["without_matplotlib"] and "matplotlib" not in sys.modules
    if hide:
        sys.modules["matplotlib"] = None  # type: ignore[assignment]  # an import of it fails
    try:
        import igraph
    finally:
        if hide and sys.modules.get("matplotlib", False) is None:
            del sys.modules["matplotlib"]
    return igraph
