"""The report's charts: matplotlib figures rendered to PNG bytes, without pyplot or a display.

Every chart is drawn on a :class:`matplotlib.figure.Figure` with the Agg canvas, so nothing
depends on the process's backend or a display, and no global pyplot state is kept between
charts. PNG files carry no time stamp and the ``Software`` tag is left out, so the same data give
the same bytes. Network drawings are laid out by igraph's Fruchterman-Reingold with its random
number generator seeded for the call only (the layout draws random numbers even when given a
starting position).

References
----------
Fruchterman, T. M. J., Reingold, E. M. (1991). Graph drawing by force-directed placement.
Software: Practice and Experience 21(11), 1129-1164.
Clauset, A., Shalizi, C. R., Newman, M. E. J. (2009). Power-law distributions in empirical
data. SIAM Review 51(4), 661-703 (log-binned histograms of heavy-tailed distributions).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass

import numpy as np
import polars as pl
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure

__all__ = [
    "GROUP_COLOURS",
    "ROLE_COLOURS",
    "Chart",
    "Drawing",
    "bar_chart",
    "heatmap_chart",
    "loglog_chart",
    "network_chart",
]

_BLUE = "#2b6cb0"
_GREY = "#a0aec0"
_RED = "#c53030"
_PALETTE = (
    "#2f855a",
    "#d69e2e",
    "#6b46c1",
    "#dd6b20",
    "#319795",
    "#b83280",
    "#975a16",
    "#4a5568",
)


@dataclass(frozen=True)
class Chart:
    """One rendered chart: a file-like name, its title, alternative text, and the PNG."""

    name: str
    title: str
    alt: str
    png: bytes
    width: int
    height: int


@dataclass(frozen=True)
class Drawing:
    """A small network to draw: vertices ``0..n-1``, their labels, sizes and colours, edges."""

    labels: list[str]
    sizes: np.ndarray
    colours: list[str]
    edges: np.ndarray  # (m, 2) vertex numbers
    weights: np.ndarray
    highlight: list[int]  # vertices labelled on the drawing


def _figure(width: float, height: float, *, margins: bool = True) -> Figure:
    """A figure on the Agg canvas; fixed margins (a constrained layout costs twice the time)."""
    fig = Figure(figsize=(width, height))
    FigureCanvasAgg(fig)
    if margins:
        fig.subplots_adjust(left=0.12, right=0.97, bottom=0.14, top=0.9)
    else:
        fig.subplots_adjust(left=0.01, right=0.99, bottom=0.01, top=0.93)
    return fig


def _png(fig: Figure, name: str, title: str, alt: str, dpi: int) -> Chart:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    width, height = (round(float(v) * dpi) for v in fig.get_size_inches())
    return Chart(name, title, alt, buf.getvalue(), width, height)


def loglog_chart(
    frame: pl.DataFrame, *, name: str, title: str, xlabel: str, ylabel: str, dpi: int
) -> Chart:
    """Points ``x`` -> ``count`` on log-log axes (a degree or size distribution).

    ``frame`` has columns ``x`` (positive) and ``count``; for a continuous measure ``x`` is the
    lower edge of a logarithmic bin and ``count`` the number of values in it.
    """
    fig = _figure(6.4, 4.0)
    ax = fig.add_subplot()
    data = frame.filter(pl.col("x") > 0)
    ax.plot(data["x"].to_numpy(), data["count"].to_numpy(), "o", markersize=3.5, color=_BLUE)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    alt = f"{title}: {data.height} points on log-log axes"
    return _png(fig, name, title, alt, dpi)


def bar_chart(
    labels: list[str],
    values: list[int],
    *,
    name: str,
    title: str,
    xlabel: str,
    ylabel: str,
    dpi: int,
    log: bool = False,
) -> Chart:
    """Bars of ``values`` over the category ``labels`` (household sizes, channels)."""
    fig = _figure(6.4, 3.6)
    ax = fig.add_subplot()
    ax.bar(range(len(labels)), values, color=_BLUE)
    ax.set_xticks(range(len(labels)), labels)
    if log and any(v > 0 for v in values):
        ax.set_yscale("log")
    for i, value in enumerate(values):
        ax.annotate(f"{value:,}", (i, value), ha="center", va="bottom", fontsize=8)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    alt = f"{title}: " + ", ".join(f"{k}: {v:,}" for k, v in zip(labels, values, strict=True))
    return _png(fig, name, title, alt, dpi)


def heatmap_chart(grid: np.ndarray, rows: list[str], *, name: str, title: str, dpi: int) -> Chart:
    """An hour (columns, 0-23) by weekday (``rows``) grid of counts, darker = more."""
    fig = _figure(8.0, 3.2)
    ax = fig.add_subplot()
    image = ax.imshow(grid, aspect="auto", cmap="Blues", interpolation="nearest")
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xticks(range(0, 24, 2), [f"{h:02d}" for h in range(0, 24, 2)])
    ax.set_xlabel("local hour")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, label="events")
    busiest = np.unravel_index(int(np.argmax(grid)), grid.shape) if grid.size else (0, 0)
    alt = f"{title}; busiest: {rows[busiest[0]]} {busiest[1]:02d}:00"
    return _png(fig, name, title, alt, dpi)


def network_chart(
    drawing: Drawing, *, name: str, title: str, legend: dict[str, str], seed: int, dpi: int
) -> Chart:
    """A node-link drawing laid out by Fruchterman-Reingold (seeded), edges shaded by weight.

    ``legend`` maps a colour to what it means.
    """
    import igraph

    n = len(drawing.labels)
    graph = igraph.Graph(n=n, edges=drawing.edges.tolist(), directed=False)
    start = np.random.default_rng(seed).uniform(-1.0, 1.0, (n, 2)).tolist()
    igraph.set_random_number_generator(random.Random(seed))
    try:
        weights = drawing.weights.tolist() if drawing.edges.size else None
        pos = np.array(
            graph.layout_fruchterman_reingold(weights=weights, seed=start, grid=False).coords
        ).reshape(n, 2)
    finally:
        igraph.set_random_number_generator(random)
    fig = _figure(5.2, 5.2, margins=False)
    ax = fig.add_subplot()
    if drawing.edges.size:
        segments = pos[drawing.edges]
        w = drawing.weights / drawing.weights.max() if drawing.weights.max() > 0 else None
        alpha = 0.15 + 0.6 * w if w is not None else np.full(len(segments), 0.3)
        colours = np.zeros((len(segments), 4))
        colours[:, 3] = alpha
        ax.add_collection(LineCollection(segments, colors=colours, linewidths=0.6, zorder=1))
    ax.scatter(pos[:, 0], pos[:, 1], s=drawing.sizes, c=drawing.colours, zorder=2, linewidths=0)
    for v in drawing.highlight:
        ax.annotate(
            drawing.labels[v], pos[v], fontsize=7, xytext=(4, 4), textcoords="offset points"
        )
    for colour, meaning in legend.items():
        ax.scatter([], [], s=30, c=colour, label=meaning)
    if legend:
        ax.legend(loc="lower left", fontsize=7, frameon=False)
    ax.set_title(title, fontsize=10)
    ax.set_axis_off()
    ax.autoscale_view()
    alt = f"{title}: {n} parties, {len(drawing.edges)} ties"
    return _png(fig, name, title, alt, dpi)


#: Colours a drawing gives to groups (households), in order of the group's number.
GROUP_COLOURS = _PALETTE
#: Colours of roles in drawings.
ROLE_COLOURS = {"focus": _RED, "other": _GREY, "member": _BLUE}
