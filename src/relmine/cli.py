"""The ``relmine`` command line: thin commands over the library.

Each command parses its options, calls one library function and renders the result. Library errors
(:class:`~relmine.errors.RelmineError`) become one line on stderr and the exit code from SPEC §4;
nothing shows a traceback unless ``--debug``, and a traceback never shows local variables.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import traceback
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console

from relmine import __version__
from relmine.errors import RejectRateExceeded, RelmineError

__all__ = ["app", "main"]

app = typer.Typer(
    name="relmine",
    help="Mine the relationships hidden in bank-statement and call-detail records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _out() -> Console:
    """Console for results on stdout; wide when it is not a terminal, so tables do not wrap."""
    return Console(highlight=False, width=None if sys.stdout.isatty() else 160)


F = TypeVar("F", bound=Callable[..., Any])

StoreOpt = Annotated[
    Path | None,
    typer.Option("--store", help="Store directory [default: $RELMINE_STORE or ./relmine-store]."),
]
QuietOpt = Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing but errors.")]
DebugOpt = Annotated[bool, typer.Option("--debug", help="Show a traceback on errors.")]


class Kind(StrEnum):
    auto = "auto"
    bank = "bank"
    cdr = "cdr"
    customers = "customers"
    cells = "cells"
    bandicoot = "bandicoot"


class DataEngine(StrEnum):
    polars = "polars"
    spark = "spark"


EngineOpt = Annotated[
    DataEngine,
    typer.Option(
        "--engine",
        help="Run the event work on this machine (polars) or on Apache Spark (spark; needs "
        "pip install 'relmine[spark]' and Java 17).",
    ),
]
SparkMasterOpt = Annotated[
    str | None,
    typer.Option(
        "--spark-master",
        help="Spark master URL with --engine spark [$SPARK_MASTER, else Spark's configuration, "
        "else local[*]].",
    ),
]


class StatusFormat(StrEnum):
    table = "table"
    json = "json"


class LogFormat(StrEnum):
    text = "text"
    json = "json"


LogFormatOpt = Annotated[
    LogFormat | None,
    typer.Option(
        "--log-format",
        help="Messages and summaries on stderr as text, or as JSON lines for log collectors "
        "[$RELMINE_LOG_FORMAT or text].",
    ),
]

#: How messages reach stderr: set by --log-format (per command or before it), else the env.
_LOG = {"format": LogFormat.text}


def _log_json() -> bool:
    return _LOG["format"] is LogFormat.json


def _err(message: str, *, level: str = "info", **fields: Any) -> None:
    """One message on stderr: ``relmine: ...``, or a JSON line with ``--log-format json``."""
    if _log_json():
        record = {"level": level, "message": message, **fields}
        sys.stderr.write(json.dumps(record, default=str, sort_keys=True) + "\n")
    else:
        sys.stderr.write(f"relmine: {message}\n")
    sys.stderr.flush()


def _set_log_format(value: LogFormat | str | None) -> None:
    """``--log-format``, else ``$RELMINE_LOG_FORMAT``, else text."""
    env = os.environ.get("RELMINE_LOG_FORMAT", "").strip().lower()
    if value is None:
        value = env if env in ("text", "json") else "text"
    _LOG["format"] = LogFormat(value)


def _handles_errors(fn: F) -> F:
    """Turn library errors into one stderr line and SPEC exit codes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if kwargs.get("log_format") is not None:  # after the command's name; else the root's
            _set_log_format(kwargs["log_format"])
        try:
            return fn(*args, **kwargs)
        except RelmineError as exc:
            if kwargs.get("debug"):
                traceback.print_exc()
            if isinstance(exc, RejectRateExceeded) and exc.report and not kwargs.get("quiet"):
                _show_ingest(exc.report)
            _err(f"error: {exc}", level="error", exit_code=exc.exit_code)
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _err("interrupted; the store is as it was before this run", level="error")
            raise typer.Exit(130) from None
        except BrokenPipeError:  # the reader of stdout went away (`| head`): nothing to report
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - no flush error at exit
            raise typer.Exit(1) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # an unexpected failure: no message text, it may hold data
            if kwargs.get("debug"):
                traceback.print_exc()
                _err(f"internal error: {type(exc).__name__}: {exc}", level="error")
            else:
                _err(
                    f"internal error ({type(exc).__name__}); rerun with --debug for details "
                    "and report it (its output may quote your data: remove that before sharing)",
                    level="error",
                )
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"relmine {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
    log_format: LogFormatOpt = None,
) -> None:
    """Mine the relationships hidden in bank-statement and call-detail records."""
    _set_log_format(log_format)


def _show_ingest(report: Any) -> None:
    if _log_json():  # for a log collector: one line per file, on stderr
        for f in report.files:
            _err("ingest", **f.record(), status=f.status)
        return
    from relmine.render import ingest_table, reasons_table

    out = _out()
    out.print(ingest_table(report))
    reasons = reasons_table([f.record() for f in report.files])
    if reasons is not None:
        out.print(reasons)


@app.command()
@_handles_errors
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="CSV files, or directories of them.")],
    kind: Annotated[
        Kind, typer.Option(help="Kind of the files; auto decides per file.")
    ] = Kind.auto,
    store: StoreOpt = None,
    region: Annotated[
        str | None, typer.Option(help="Country for national phone numbers, e.g. SK.")
    ] = None,
    timezone: Annotated[
        str | None, typer.Option(help="IANA zone of timestamps without an offset.")
    ] = None,
    max_reject_rate: Annotated[
        float | None, typer.Option(help="Largest share of bad rows a file may have [0.05].")
    ] = None,
    no_wait: Annotated[
        bool,
        typer.Option("--no-wait", help="Fail at once if another process is writing the store."),
    ] = False,
    mapping: Annotated[
        Path | None, typer.Option(help="Mapping file (TOML) for exports that are not canonical.")
    ] = None,
    date_format: Annotated[
        str | None, typer.Option(help="Format of dates/times, e.g. '%d/%m/%Y %H:%M'.")
    ] = None,
    pseudonymize: Annotated[
        bool,
        typer.Option(
            "--pseudonymize", help="Store keyed tokens, not phone numbers, accounts or names."
        ),
    ] = False,
    key_file: Annotated[
        Path | None, typer.Option(help="Key for --pseudonymize [default: $RELMINE_KEY].")
    ] = None,
    engine: EngineOpt = DataEngine.polars,
    spark_master: SparkMasterOpt = None,
    quiet: QuietOpt = False,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Read bank statements, call records, the customers register or cells into the store."""
    from relmine.ingest.digest import FileDigests

    # Hashing the files starts first: it runs on the other core while Polars is imported and
    # the files are sniffed (0.2-0.3 s of 0.45 for a 600 MB file).
    with FileDigests(paths) as digests:
        from relmine.ingest.core import ingest as run_ingest
        from relmine.ingest.pseudonym import load_key
        from relmine.store import default_store_dir

        spark: dict[str, Any] = {}
        if engine is DataEngine.spark:
            from relmine.spark import spark_ingest as run_ingest  # type: ignore[assignment]

            spark = {"master": spark_master}
        report = run_ingest(
            paths,
            store_dir=default_store_dir(store),
            kind=kind.value,
            region=region,
            timezone=timezone,
            max_reject_rate=max_reject_rate,
            mapping=mapping,
            date_format=date_format,
            pseudonymize_key=load_key(key_file) if pseudonymize else None,
            wait=not no_wait,
            digests=digests,
            **spark,
        )
    if not quiet:
        _show_ingest(report)


@app.command()
@_handles_errors
def status(
    store: StoreOpt = None,
    format: Annotated[StatusFormat, typer.Option("--format", help="Output format.")] = (
        StatusFormat.table
    ),
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Show what the store holds: files, rows, rejects, events, identifiers and nodes."""
    from relmine.render import status_tables
    from relmine.status import store_status
    from relmine.store import Store, default_store_dir

    result = store_status(Store.open(default_store_dir(store)))
    if format is StatusFormat.json:
        typer.echo(json.dumps(result, indent=2, sort_keys=True))
        return
    out = _out()
    for table in status_tables(result):
        out.print(table)


@app.command()
@_handles_errors
def demo(
    directory: Annotated[
        Path, typer.Argument(help="Where to write the sample world and its store.")
    ] = Path("relmine-demo"),
    people: Annotated[int, typer.Option(min=10, help="Number of people in the world.")] = 2000,
    seed: Annotated[int, typer.Option(help="Seed of every random choice.")] = 0,
    corporate: Annotated[
        bool,
        typer.Option("--corporate", help="A company's phone records instead, for relmine tem."),
    ] = False,
    quiet: QuietOpt = False,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Make a synthetic bank + telco world with ground truth and run the pipeline on it."""
    from relmine.demo import run_demo

    if corporate:
        from relmine.demo_corporate import run_corporate_demo

        items, _ = run_corporate_demo(directory, seed=seed)
        _summary("corporate demo (relmine tem)", items, None, quiet)
        return

    result = run_demo(directory, people=people, seed=seed)
    if quiet:
        return
    from relmine.render import quality_table, status_tables, truth_table

    out = _out()
    tables = [*status_tables(result.status), truth_table(result.checks)]
    for table in [*tables, quality_table(result.quality)]:
        out.print(table)
    out.print("where things are:")
    for label, path in result.outputs.items():
        out.print(f"  {label:<12} {path}")


SinceOpt = Annotated[
    str | None, typer.Option("--since", help="First local date of the window (YYYY-MM-DD).")
]
UntilOpt = Annotated[
    str | None, typer.Option("--until", help="Last local date of the window (YYYY-MM-DD).")
]
ChannelsOpt = Annotated[
    str | None, typer.Option("--channels", help="Channels to use: voice,sms,bank [all].")
]
OutOpt = Annotated[
    str | None,
    typer.Option(
        "--output", "-o", help="Write to FILE (.parquet .csv .json .ndjson) or - (stdout)."
    ),
]
SeedOpt = Annotated[int, typer.Option("--seed", help="Seed of every random choice.")]
TiesOpt = Annotated[
    Path | None,
    typer.Option(
        "--ties", help="Read the tie table written by `relmine graph -o FILE.parquet` instead."
    ),
]


#: The tie columns shown on a terminal; ``-o`` writes them all.
TERMINAL_TIE_COLUMNS = (
    "a",
    "b",
    "weight",
    "voice_n",
    "sms_n",
    "bank_n",
    "active_days",
    "reciprocity",
    "night_share",
    "same_home_cell",
)


class TableFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"
    json = "json"
    ndjson = "ndjson"


class GraphFormat(StrEnum):
    parquet = "parquet"
    csv = "csv"
    json = "json"
    ndjson = "ndjson"
    graphml = "graphml"
    gexf = "gexf"


class Method(StrEnum):
    louvain = "louvain"
    leiden = "leiden"
    cpm = "cpm"


class Engine(StrEnum):
    igraph = "igraph"
    networkx = "networkx"


def _ties(
    store: Path | None,
    since: str | None,
    until: str | None,
    channels: str | None,
    ties_file: Path | None = None,
    columns: tuple[str, ...] | None = None,
) -> Any:
    """Open the store and get the tie table for the window and channels (or read the file).

    ``columns``: only those the command reads (its modules' ``TIE_COLUMNS_READ``), so that the
    others are never in memory; all by default.
    """
    from relmine.graph import load_ties, parse_channels, parse_window, read_ties
    from relmine.store import Store, default_store_dir

    opened = Store.open(default_store_dir(store))
    window = parse_window(since, until)
    if columns is not None:
        columns = tuple(dict.fromkeys(columns))  # once each, in order
    if ties_file is not None:
        return opened, window, read_ties(ties_file, columns)
    ties = load_ties(opened, window=window, channels=parse_channels(channels), columns=columns)
    return opened, window, ties


def _emit(
    frame: Any,
    output: str | None,
    fmt: str | None,
    title: str,
    quiet: bool,
    *,
    source: Path | None = None,
) -> None:
    """Write ``frame`` to ``output`` or, without one, show its first rows on the terminal.

    ``source``: a Parquet file already holding ``frame`` (:func:`relmine.output.write_table`).
    """
    from relmine.output import write_table
    from relmine.render import frame_table

    if output is None:
        _out().print(frame_table(frame, title=title))
        return
    used = write_table(frame, output, fmt=fmt, source=source)
    if not quiet and (output != "-" or _log_json()):
        _err(f"wrote {frame.height:,} rows to {output} ({used})", rows=frame.height, format=used)


def _summary(title: str, items: list[tuple[str, Any]], output: str | None, quiet: bool) -> None:
    """Figures about a result: to stdout with the table, to stderr when stdout holds data."""
    if quiet:
        return
    if _log_json():
        _err(title, **{name.replace(" ", "_"): value for name, value in items})
        return
    from relmine.render import summary_table

    console = _out() if output is None else Console(stderr=True, highlight=False)
    console.print(summary_table(title, items))


@app.command()
@_handles_errors
def graph(
    store: StoreOpt = None,
    output: OutOpt = None,
    format: Annotated[
        GraphFormat | None, typer.Option("--format", help="Output format [from -o's extension].")
    ] = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    channels: ChannelsOpt = None,
    engine: EngineOpt = DataEngine.polars,
    spark_master: SparkMasterOpt = None,
    quiet: QuietOpt = False,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """The tie table: one row per related pair, with its weight and the features behind it."""
    from relmine.graph import cached_ties_file, graph_summary, parse_channels, write_graph

    cached = None
    if engine is DataEngine.spark:
        ties = _spark_ties(store, since, until, channels, spark_master)
    else:
        opened, window, ties = _ties(store, since, until, channels)
        cached = cached_ties_file(opened, window=window, channels=parse_channels(channels))
    if not quiet:  # counting the nodes is seconds on millions of ties: not for nothing
        _summary("graph", graph_summary(ties), output, quiet)
    if output is not None and (
        format in (GraphFormat.graphml, GraphFormat.gexf)
        or str(output).lower().endswith((".graphml", ".gexf"))
    ):
        used = write_graph(ties, output, fmt=format.value if format else None)
        if not quiet:
            _err(f"wrote {ties.height:,} ties to {output} ({used})")
        return
    shown = (
        ties
        if output is not None
        else ties.select(TERMINAL_TIE_COLUMNS).sort(
            "weight", "a", "b", descending=[True, False, False]
        )
    )
    # the cached table is the same table in the same Parquet: copied, not encoded again
    fmt = format.value if format else None
    _emit(shown, output, fmt, "strongest ties", quiet, source=cached if output else None)


@app.command()
@_handles_errors
def communities(
    store: StoreOpt = None,
    output: OutOpt = None,
    format: Annotated[TableFormat | None, typer.Option("--format", help="Output format.")] = None,
    method: Annotated[
        Method, typer.Option(help="Louvain, Leiden, or cpm (Leiden, no resolution limit).")
    ] = Method.louvain,
    resolution: Annotated[
        float | None, typer.Option(help="Larger gives smaller communities [1; cpm 0.02].")
    ] = None,
    seed: SeedOpt = 0,
    engine: Annotated[Engine, typer.Option(help="igraph, or networkx (reference).")] = (
        Engine.igraph
    ),
    stats: Annotated[
        str | None, typer.Option("--stats", help="Also write per-community statistics to FILE.")
    ] = None,
    ties_file: TiesOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    channels: ChannelsOpt = None,
    quiet: QuietOpt = False,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Communities (Louvain or Leiden on weighted modularity), numbered by size."""
    from relmine.communities import TIE_COLUMNS_READ, community_stats, detect_communities
    from relmine.graph import EXCLUSION_COLUMNS, Vertices, excluded_parties
    from relmine.output import write_table

    read = (*TIE_COLUMNS_READ, *EXCLUSION_COLUMNS)
    opened, _, ties = _ties(store, since, until, channels, ties_file, read)
    vertices = Vertices.of(ties)
    result = detect_communities(
        ties,
        method=method.value,
        resolution=resolution,
        seed=seed,
        engine=engine.value,
        apart=excluded_parties(ties, opened, opened.settings, vertices=vertices),
        vertices=vertices,
        leiden_iterations=opened.settings.leiden_iterations,
    )
    del vertices
    if stats is not None:
        write_table(community_stats(ties, result.frame), stats)
    sizes = result.frame.unique("community_id")["community_size"]
    items = [
        ("method", f"{result.method} ({result.engine}), resolution {result.resolution}"),
        ("seed", seed),
        ("modularity", round(result.modularity, 4)),
        ("communities", sizes.len()),
        ("largest", int(sizes.max())),
        ("median size", float(sizes.median())),
        ("singletons", int((sizes == 1).sum())),
    ]
    _summary("communities", items, output, quiet)
    _emit(result.frame, output, format.value if format else None, "communities", quiet)


@app.command()
@_handles_errors
def households(
    store: StoreOpt = None,
    output: OutOpt = None,
    format: Annotated[TableFormat | None, typer.Option("--format", help="Output format.")] = None,
    max_size: Annotated[
        int | None, typer.Option("--max-size", min=1, help="Largest household [8].")
    ] = None,
    ties_file: TiesOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    channels: ChannelsOpt = None,
    quiet: QuietOpt = False,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Households from everyday-life signals: shared home cell, evenings, money, reciprocity."""
    import dataclasses

    import polars as pl

    from relmine.households import TIE_COLUMNS_READ, detect_households

    opened, window, ties = _ties(store, since, until, channels, ties_file, TIE_COLUMNS_READ)
    settings = opened.settings
    if max_size is not None:
        settings = dataclasses.replace(settings, household_max_size=max_size)
    frame = detect_households(ties, opened, window=window, settings=settings)
    sizes = frame.unique("household_id")["household_size"]
    items = [
        (f"households of {n}", int((sizes == n).sum())) for n in range(2, int(sizes.max()) + 1)
    ]
    items = [("people in households", int(sizes.filter(sizes > 1).sum())), *items]
    _summary("households", [*items, ("singletons", int((sizes == 1).sum()))], output, quiet)
    shown = frame if output is not None else frame.filter(pl.col("household_size") > 1)
    _emit(shown, output, format.value if format else None, "households", quiet)


@app.command()
@_handles_errors
def cycles(
    store: StoreOpt = None,
    output: OutOpt = None,
    format: Annotated[TableFormat | None, typer.Option("--format", help="Output format.")] = None,
    max_gap: Annotated[
        float | None, typer.Option("--max-gap", min=0, help="Most days between two hops [30].")
    ] = None,
    amount_tolerance: Annotated[
        float | None,
        typer.Option("--amount-tolerance", min=0, help="Hop vs previous hop amount [0.1]."),
    ] = None,
    min_length: Annotated[
        int | None, typer.Option("--min-length", min=2, help="Fewest hops [2].")
    ] = None,
    max_length: Annotated[int | None, typer.Option("--max-length", help="Most hops [6].")] = None,
    min_amount: Annotated[
        float | None, typer.Option("--min-amount", min=0, help="Ignore smaller transfers [0].")
    ] = None,
    any_order: Annotated[
        bool, typer.Option("--any-order", help="Hops may be booked in any time order.")
    ] = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    quiet: QuietOpt = False,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Money cycles A -> B -> ... -> A: intra-group financing and round-tripping."""
    from relmine.cycles import find_cycles
    from relmine.graph import parse_window
    from relmine.store import Store, default_store_dir

    result = find_cycles(
        Store.open(default_store_dir(store)),
        window=parse_window(since, until),
        max_gap=max_gap,
        amount_tolerance=amount_tolerance,
        min_length=min_length,
        max_length=max_length,
        min_amount=min_amount,
        any_order=any_order,
    )
    _summary("cycles", result.summary(), output, quiet)
    _emit(result.frame, output, format.value if format else None, "money cycles", quiet)


@app.command()
@_handles_errors
def risk(
    store: StoreOpt = None,
    output: OutOpt = None,
    format: Annotated[TableFormat | None, typer.Option("--format", help="Output format.")] = None,
    companies: Annotated[
        bool, typer.Option("--companies", help="Companies: suppliers, customers, groups.")
    ] = False,
    seed: SeedOpt = 0,
    ties_file: TiesOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    channels: ChannelsOpt = None,
    quiet: QuietOpt = False,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Network credit capacity, exposure to defaults, money cycles; --companies for B2B ties."""
    from relmine import risk as network

    opened, window, ties = _ties(store, since, until, channels, ties_file)
    if companies:
        frame = network.company_ties(ties, opened, window=window, seed=seed)
        _summary("companies", network.company_summary(frame), output, quiet)
        _emit(frame, output, format.value if format else None, "companies", quiet)
        return
    frame = network.network_risk(ties, opened, window=window)
    _summary("network risk", network.risk_summary(frame), output, quiet)
    shown = frame if output is not None else frame.select(network.TERMINAL_COLUMNS)
    _emit(shown, output, format.value if format else None, "most exposed to defaults", quiet)


TopOpt = Annotated[
    int | None,
    typer.Option("--top", min=0, help="How many to list; 0 for every eligible party [100]."),
]


@app.command()
@_handles_errors
def influencers(
    store: StoreOpt = None,
    output: OutOpt = None,
    format: Annotated[TableFormat | None, typer.Option("--format", help="Output format.")] = None,
    top: TopOpt = None,
    seed: SeedOpt = 0,
    include_companies: Annotated[
        bool, typer.Option("--include-companies", help="Rank the register's companies too.")
    ] = False,
    what_if: Annotated[
        str | None,
        typer.Option("--what-if", metavar="ID", help="Show who would follow ID out instead."),
    ] = None,
    ties_file: TiesOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    channels: ChannelsOpt = None,
    quiet: QuietOpt = False,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Customers on whom others' communication depends, ranked by a combined score."""
    from relmine.influence import TIE_COLUMNS_READ, rank_influencers

    opened, _, ties = _ties(store, since, until, channels, ties_file, TIE_COLUMNS_READ)
    if what_if is not None:
        _show_domino(ties, opened, what_if, seed, output, format, quiet)
        return
    result = rank_influencers(ties, opened, top=top, seed=seed, include_companies=include_companies)
    items = [
        ("ranked parties", result.ranked),
        ("not influencers", result.excluded.height),
        ("domino simulated for", result.candidates),
        ("seed", seed),
        ("listed", result.frame.height),
    ]
    _summary("influencers", items, output, quiet)
    _emit(result.frame, output, format.value if format else None, "influencers", quiet)


def _show_domino(
    ties: Any,
    opened: Any,
    party: str,
    seed: int,
    output: str | None,
    format: TableFormat | None,
    quiet: bool,
) -> None:
    from relmine.influence import what_if

    result = what_if(ties, opened, party, seed=seed)
    followers = result.frame.height - 1
    items = [
        ("churns", result.node_id),
        ("followers in the cascade", followers),
        ("expected customers lost", round(result.expected, 2)),
        ("seed", seed),
    ]
    _summary("domino", items, output, quiet)
    _emit(result.frame, output, format.value if format else None, "who follows", quiet)


@app.command()
@_handles_errors
def domino(
    party: Annotated[
        str, typer.Argument(metavar="ID", help="Customer id, phone number or account number.")
    ],
    store: StoreOpt = None,
    output: OutOpt = None,
    format: Annotated[TableFormat | None, typer.Option("--format", help="Output format.")] = None,
    seed: SeedOpt = 0,
    ties_file: TiesOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    channels: ChannelsOpt = None,
    quiet: QuietOpt = False,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Who would follow ID out if they churned: in order, with the dependence behind each step."""
    from relmine.influence import TIE_COLUMNS_READ

    opened, _, ties = _ties(store, since, until, channels, ties_file, TIE_COLUMNS_READ)
    _show_domino(ties, opened, party, seed, output, format, quiet)


@app.command()
@_handles_errors
def profile(
    party: Annotated[
        str,
        typer.Argument(
            metavar="ID", help="Customer id, phone number (any writing) or account (IBAN)."
        ),
    ],
    store: StoreOpt = None,
    format: Annotated[StatusFormat, typer.Option("--format", help="table or json.")] = (
        StatusFormat.table
    ),
    top: Annotated[
        int | None, typer.Option("--top", min=1, help="Strongest contacts to list [10].")
    ] = None,
    households_file: Annotated[
        Path | None,
        typer.Option("--households", help="Read households from `relmine households -o FILE`."),
    ] = None,
    communities_file: Annotated[
        Path | None,
        typer.Option("--communities", help="Read communities from `relmine communities -o FILE`."),
    ] = None,
    influencers_file: Annotated[
        Path | None,
        typer.Option(
            "--influencers", help="Read ranks from `relmine influencers --top 0 -o FILE`."
        ),
    ] = None,
    risk_file: Annotated[
        Path | None, typer.Option("--risk", help="Read risk figures from `relmine risk -o FILE`.")
    ] = None,
    method: Annotated[Method, typer.Option(help="Communities: louvain, leiden or cpm.")] = (
        Method.louvain
    ),
    resolution: Annotated[float | None, typer.Option(help="Communities' resolution.")] = None,
    seed: SeedOpt = 0,
    ties_file: TiesOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    channels: ChannelsOpt = None,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """The contact card of one customer, phone number or account."""
    from relmine.graph import parse_channels
    from relmine.profile import contact_card
    from relmine.register import find_party
    from relmine.render import card_renderables
    from relmine.store import Store, default_store_dir

    found = find_party(Store.open(default_store_dir(store)), party)
    opened, window, ties = _ties(store, since, until, channels, ties_file)
    card = contact_card(
        opened,
        found,
        ties=ties,
        window=window,
        channels=parse_channels(channels),
        top=top,
        households=households_file,
        communities=communities_file,
        influencers=influencers_file,
        risk=risk_file,
        method=method.value,
        resolution=resolution,
        seed=seed,
    )
    if format is StatusFormat.json:
        typer.echo(json.dumps(card.to_dict(), indent=2, ensure_ascii=False))
        return
    out = _out()
    for shown in card_renderables(card):
        out.print(shown)


@app.command()
@_handles_errors
def path(
    first: Annotated[str, typer.Argument(metavar="A", help="Customer id, phone or account.")],
    second: Annotated[str, typer.Argument(metavar="B", help="Customer id, phone or account.")],
    store: StoreOpt = None,
    output: OutOpt = None,
    format: Annotated[
        TableFormat | None,
        typer.Option("--format", help="Output format; without -o, writes to stdout."),
    ] = None,
    max_hops: Annotated[
        int | None, typer.Option("--max-hops", min=1, help="Longest chain wanted [no limit].")
    ] = None,
    via_companies: Annotated[
        bool,
        typer.Option(
            "--via-companies", help="Let chains pass through companies and hotline-like numbers."
        ),
    ] = False,
    ties_file: TiesOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    channels: ChannelsOpt = None,
    quiet: QuietOpt = False,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """The strongest chain of relationships between two parties, and the one of fewest hops."""
    from relmine.graph import excluded_parties
    from relmine.paths import strongest_paths
    from relmine.register import find_party
    from relmine.store import Store, default_store_dir

    opened = Store.open(default_store_dir(store))
    a, b = (find_party(opened, text).node_id for text in (first, second))
    _, _, ties = _ties(store, since, until, channels, ties_file)
    apart = None if via_companies else excluded_parties(ties, opened, opened.settings)
    result = strongest_paths(ties, a, b, max_hops=max_hops, apart=apart)
    if output is None and format is not None:
        output = "-"
    _summary("path", result.summary(), output, quiet)
    if output is not None or result.hops.height:
        _emit(result.hops, output, format.value if format else None, "chains", quiet)


class ReportFormat(StrEnum):
    html = "html"
    md = "md"


def _output_file(kind: str) -> Any:
    return Annotated[
        Path | None,
        typer.Option(f"--{kind}", help=f"Read {kind} from `relmine {kind} -o FILE`."),
    ]


@app.command()
@_handles_errors
def report(
    store: StoreOpt = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="Write to FILE (.html or .md), or - (HTML, stdout)."),
    ] = None,
    format: Annotated[
        ReportFormat | None,
        typer.Option("--format", help="html, or md (Markdown with PNG charts beside it)."),
    ] = None,
    communities_file: _output_file("communities") = None,
    households_file: _output_file("households") = None,
    influencers_file: _output_file("influencers") = None,
    top: Annotated[
        int | None, typer.Option("--top", min=1, help="Rows of the influencer table [20].")
    ] = None,
    tem_tariff: Annotated[
        Path | None,
        typer.Option("--tem", metavar="TARIFF", help="Add telco expenses priced by TARIFF."),
    ] = None,
    watch_list: Annotated[
        Path | None, typer.Option("--watch-list", help="With --tem: competitors' numbers (CSV).")
    ] = None,
    all_customers: Annotated[
        bool, typer.Option("--all-customers", help="With --tem: every person is an employee.")
    ] = False,
    method: Annotated[Method, typer.Option(help="Communities: louvain, leiden or cpm.")] = (
        Method.louvain
    ),
    resolution: Annotated[float | None, typer.Option(help="Communities' resolution.")] = None,
    seed: SeedOpt = 0,
    ties_file: TiesOpt = None,
    since: SinceOpt = None,
    until: UntilOpt = None,
    channels: ChannelsOpt = None,
    quiet: QuietOpt = False,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """An HTML report with charts (or Markdown): ingest, graph, groups, influencers, activity."""
    from relmine.graph import parse_channels
    from relmine.report import build_report, write_report

    opened, window, ties = _ties(store, since, until, channels, ties_file)
    expenses = None
    if tem_tariff is not None:
        expenses = _expenses(opened, tem_tariff, watch_list, all_customers, window, "department")
    content = build_report(
        opened,
        ties,
        window=window,
        channels=parse_channels(channels),
        seed=seed,
        communities=communities_file,
        households=households_file,
        influencers=influencers_file,
        method=method.value,
        resolution=resolution,
        top=top,
        tem=expenses,
    )
    fmt = format.value if format else None
    target = output or ("report.md" if fmt == "md" else "report.html")
    done = write_report(content, target, fmt=fmt)
    if not quiet and (target != "-" or _log_json()):
        size = f"{done['bytes'] / 1024:,.0f} KiB"
        beside = f", charts in {done['folder']}" if "folder" in done else ""
        _err(f"wrote {target} ({done['format']}, {size}, {done['charts']} charts{beside})", **done)


def _expenses(
    opened: Any, tariff: Path, watch_list: Path | None, all_customers: bool, window: Any, by: str
) -> Any:
    """``relmine.tem.expense_report`` with the tariff and watch list read from their files."""
    from relmine.tem import expense_report, load_tariff, load_watch_list

    watched = None
    if watch_list is not None:
        watched = load_watch_list(watch_list, region=opened.settings.region)
    return expense_report(
        opened,
        load_tariff(tariff),
        by=by,
        watch_list=watched,
        all_customers=all_customers,
        window=window,
    )


class TemBy(StrEnum):
    employee = "employee"
    department = "department"


class TemWhat(StrEnum):
    usage = "usage"
    partners = "partners"
    departments = "departments"
    anomalies = "anomalies"
    destinations = "destinations"


@app.command()
@_handles_errors
def tem(
    tariff: Annotated[Path, typer.Option("--tariff", help="Tariff file (TOML), see README.")],
    store: StoreOpt = None,
    output: OutOpt = None,
    format: Annotated[TableFormat | None, typer.Option("--format", help="Output format.")] = None,
    by: Annotated[
        TemBy, typer.Option("--by", help="Usage and partners per employee or department.")
    ] = (TemBy.employee),
    what: Annotated[
        TemWhat,
        typer.Option(
            "--what",
            help="usage, partners (top external), departments (graph), anomalies, destinations.",
        ),
    ] = TemWhat.usage,
    watch_list: Annotated[
        Path | None, typer.Option("--watch-list", help="CSV phone,name of competitors' numbers.")
    ] = None,
    all_customers: Annotated[
        bool,
        typer.Option("--all-customers", help="Every person of the register is an employee."),
    ] = False,
    since: SinceOpt = None,
    until: UntilOpt = None,
    quiet: QuietOpt = False,
    log_format: LogFormatOpt = None,
    debug: DebugOpt = False,
) -> None:
    """Telco expense management: traffic, minutes, cost, partners, departments, anomalies."""
    from relmine.graph import parse_window
    from relmine.store import Store, default_store_dir

    opened = Store.open(default_store_dir(store))
    window = parse_window(since, until)
    result = _expenses(opened, tariff, watch_list, all_customers, window, by.value)
    _summary("tem", result.totals, output, quiet)
    frame = result.frames()[what.value] if output is not None else result.terminal(what.value)
    _emit(frame, output, format.value if format else None, f"tem: {what.value}", quiet)


def _spark_ties(
    store: Path | None,
    since: str | None,
    until: str | None,
    channels: str | None,
    master: str | None,
) -> Any:
    """The tie table aggregated on Spark, kept in the store's tie cache for the next commands."""
    from relmine.graph import parse_channels, parse_window
    from relmine.spark import spark_tie_features
    from relmine.store import Store, default_store_dir

    opened = Store.open(default_store_dir(store))
    window = parse_window(since, until)
    chosen = parse_channels(channels)
    return spark_tie_features(opened, window=window, channels=chosen, master=master, cache=True)


def main() -> None:
    """Entry point of the ``relmine`` script."""
    from relmine._igraph import IGRAPH_IMPORT

    IGRAPH_IMPORT["without_matplotlib"] = True  # no command draws with igraph: a second sooner
    app()
