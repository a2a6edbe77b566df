"""The tie table as GraphML or GEXF (for Gephi), written as it is read, a slice at a time.

NetworkX's writers hold the whole graph twice, as Python objects (a dictionary of attributes a
tie) and as an XML tree, before a byte is written: 13-17 KB a tie, so the 1 M-person world's
5.4 M ties took 24 GB and were killed before the end. Here each slice of ties becomes its XML
lines through Polars string expressions and is written at once: memory is the tie table and a
slice's text. The files read back with NetworkX as the same graph as
:func:`relmine.graph.to_networkx` builds (the tests compare them), with the same attribute
names and types; the GEXF has no date in it, so the same ties give the same bytes.

References
----------
GraphML: http://graphml.graphdrawing.org/specification.html. GEXF 1.2: https://gexf.net/schema.html.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import polars as pl

__all__ = ["write_gexf", "write_graphml"]

#: Ties turned into text at a time (about 100 MB of XML for the wide tie table).
SLICE = 100_000

_GRAPHML_HEAD = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
    'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
)
_GEXF_HEAD = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<gexf xmlns="http://www.gexf.net/1.2draft" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://www.gexf.net/1.2draft http://www.gexf.net/1.2draft/gexf.xsd" '
    'version="1.2">\n'
)


def write_graphml(ties: pl.DataFrame, path: Path) -> None:
    """Write ``ties`` (``a``, ``b`` and feature columns) as an undirected GraphML graph."""
    features = [c for c in ties.columns if c not in ("a", "b")]
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(_GRAPHML_HEAD)
        for i, name in enumerate(features):
            kind = _xml_type(ties.schema[name])
            out.write(
                f'  <key id="d{i}" for="edge" attr.name="{_escape_text(name)}" '
                f'attr.type="{kind}" />\n'
            )
        out.write('  <graph edgedefault="undirected">\n')
        for lines in _node_lines(ties, '    <node id="{}" />'):
            out.write(lines)
        data = [
            _when_present(name, f'<data key="d{i}">{{}}</data>') for i, name in enumerate(features)
        ]
        edge = pl.concat_str(
            [
                pl.format('    <edge source="{}" target="{}">', _escaped("a"), _escaped("b")),
                *data,
                pl.lit("</edge>"),
            ],
            ignore_nulls=True,
        )
        for lines in _lines(ties, edge):
            out.write(lines)
        out.write("  </graph>\n</graphml>\n")


def write_gexf(ties: pl.DataFrame, path: Path) -> None:
    """Write ``ties`` as an undirected GEXF 1.2 graph; ``weight`` is each edge's weight."""
    from relmine import __version__

    features = [c for c in ties.columns if c not in ("a", "b", "weight")]
    with path.open("w", encoding="utf-8", newline="\n") as out:
        out.write(_GEXF_HEAD)
        out.write(f"  <meta>\n    <creator>relmine {__version__}</creator>\n  </meta>\n")
        out.write('  <graph defaultedgetype="undirected" mode="static" name="">\n')
        out.write('    <attributes mode="static" class="edge">\n')
        for i, name in enumerate(features):
            kind = _xml_type(ties.schema[name])
            out.write(f'      <attribute id="{i}" title="{_escape_text(name)}" type="{kind}" />\n')
        out.write("    </attributes>\n    <nodes>\n")
        for lines in _node_lines(ties, '      <node id="{}" label="{}" />'):
            out.write(lines)
        out.write("    </nodes>\n    <edges>\n")
        values = [
            _when_present(name, f'<attvalue for="{i}" value="{{}}" />')
            for i, name in enumerate(features)
        ]
        weight = [_when_present("weight", ' weight="{}"')] if "weight" in ties.columns else []
        edge = pl.concat_str(
            [
                pl.format(
                    '      <edge source="{}" target="{}" id="{}"',
                    _escaped("a"),
                    _escaped("b"),
                    pl.int_range(pl.len()) + pl.col("_first"),
                ),
                *weight,
                pl.lit("><attvalues>"),
                *values,
                pl.lit("</attvalues></edge>"),
            ],
            ignore_nulls=True,
        )
        for lines in _lines(ties, edge, numbered=True):
            out.write(lines)
        out.write("    </edges>\n  </graph>\n</gexf>\n")


def _xml_type(dtype: pl.DataType) -> str:
    """The GraphML/GEXF type of a column, as NetworkX names it (datetimes as strings)."""
    if dtype.is_float():
        return "double"
    if dtype.is_integer():
        return "long"
    if dtype == pl.Boolean:
        return "boolean"
    return "string"


def _escape(value: pl.Expr) -> pl.Expr:
    """Text made safe inside an XML attribute or element."""
    return value.str.replace_many(
        ["&", "<", ">", '"'], ["&amp;", "&lt;", "&gt;", "&quot;"], ascii_case_insensitive=False
    )


def _escape_text(text: str) -> str:
    """:func:`_escape` of one Python string (a column's name)."""
    return pl.select(_escape(pl.lit(text))).item()


def _escaped(name: str) -> pl.Expr:
    return _escape(pl.col(name).cast(pl.String))


def _value(name: str, dtype: pl.DataType) -> pl.Expr:
    """A column's values as XML text: numbers as Polars prints them, booleans as true/false,
    datetimes as ISO 8601 (seconds, and microseconds only when there are any, as Python's
    ``isoformat``), strings escaped."""
    column = pl.col(name)
    if dtype.is_numeric() or dtype == pl.Boolean:
        return column.cast(pl.String)
    if isinstance(dtype, pl.Datetime):
        whole = column.dt.strftime("%Y-%m-%dT%H:%M:%S")
        return (
            pl.when(column.dt.microsecond() == 0)
            .then(whole)
            .otherwise(column.dt.strftime("%Y-%m-%dT%H:%M:%S%.6f"))
        )
    return _escape(column.cast(pl.String))


def _when_present(name: str, template: str) -> pl.Expr:
    """``template`` with the column's text in it, or null (left out) where the value is null."""
    return pl.format(template, pl.col(f"_{name}"))


def _lines(ties: pl.DataFrame, line: pl.Expr, *, numbered: bool = False) -> Iterator[str]:
    """The ties' XML lines, ``SLICE`` ties at a time, each slice as one string."""
    texts = {f"_{c}": _value(c, ties.schema[c]) for c in ties.columns if c not in ("a", "b")}
    for first in range(0, ties.height, SLICE):
        part = ties.slice(first, SLICE)
        if numbered:
            part = part.with_columns(_first=pl.lit(first, dtype=pl.Int64))
        text = part.with_columns(**texts).select(line.str.join("\n")).item()
        yield text + "\n"


def _node_lines(ties: pl.DataFrame, template: str) -> Iterator[str]:
    """One line a node (the sorted distinct ends), ``SLICE`` nodes at a time."""
    nodes = pl.concat([ties["a"], ties["b"]]).cast(pl.String).unique().sort().to_frame("n")
    fields = template.count("{}")
    for first in range(0, nodes.height, SLICE):
        part = nodes.slice(first, SLICE)
        line = pl.format(template, *([_escaped("n")] * fields))
        yield part.select(line.str.join("\n")).item() + "\n"
