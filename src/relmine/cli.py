"""The ``relmine`` command line: thin commands over the library.

Each command parses its options, calls one library function and renders the result. Library errors
(:class:`~relmine.errors.RelmineError`) become one line on stderr and the exit code from SPEC §4;
nothing shows a traceback unless ``--debug``, and a traceback never shows local variables.
"""

from __future__ import annotations

import functools
import json
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


class StatusFormat(StrEnum):
    table = "table"
    json = "json"


def _err(message: str) -> None:
    sys.stderr.write(f"relmine: {message}\n")
    sys.stderr.flush()


def _handles_errors(fn: F) -> F:
    """Turn library errors into one stderr line and SPEC exit codes."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except RelmineError as exc:
            if kwargs.get("debug"):
                traceback.print_exc()
            if isinstance(exc, RejectRateExceeded) and exc.report and not kwargs.get("quiet"):
                _show_ingest(exc.report)
            _err(f"error: {exc}")
            raise typer.Exit(exc.exit_code) from None
        except KeyboardInterrupt:
            _err("interrupted; the store is as it was before this run")
            raise typer.Exit(130) from None
        except (typer.Exit, typer.Abort):
            raise
        except Exception as exc:  # an unexpected failure: no message text, it may hold data
            if kwargs.get("debug"):
                traceback.print_exc()
                _err(f"internal error: {type(exc).__name__}: {exc}")
            else:
                _err(
                    f"internal error ({type(exc).__name__}); rerun with --debug for details "
                    "and report it (its output may quote your data: remove that before sharing)"
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
) -> None:
    """Mine the relationships hidden in bank-statement and call-detail records."""


def _show_ingest(report: Any) -> None:
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
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Read bank statements, call records, the customers register or cells into the store."""
    from relmine.ingest.core import ingest as run_ingest
    from relmine.store import default_store_dir

    report = run_ingest(
        paths,
        store_dir=default_store_dir(store),
        kind=kind.value,
        region=region,
        timezone=timezone,
        max_reject_rate=max_reject_rate,
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
    quiet: QuietOpt = False,
    debug: DebugOpt = False,
) -> None:
    """Make a synthetic bank + telco world with ground truth and run the pipeline on it."""
    from relmine.demo import run_demo

    result = run_demo(directory, people=people, seed=seed)
    if quiet:
        return
    from relmine.render import status_tables, truth_table

    out = _out()
    for table in [*status_tables(result.status), truth_table(result.checks)]:
        out.print(table)
    out.print("where things are:")
    for label, path in result.outputs.items():
        out.print(f"  {label:<12} {path}")


def main() -> None:
    """Entry point of the ``relmine`` script."""
    app()
