"""Writing result tables: Parquet, CSV, JSON, NDJSON to a file or to stdout, atomically.

``-o FILE`` picks the format from the extension (SPEC §4), ``-o -`` writes Parquet to stdout
unless ``--format`` says otherwise. A file is written to a temporary name beside it and renamed,
so a reader (or a cron job's next step) never sees half a file. CSV cells that a spreadsheet
would run as a formula (starting with ``= + - @``, tab or carriage return, except a plain signed
number such as an E.164 phone number) are prefixed with ``'`` (OWASP, "CSV Injection").
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import polars as pl

from relmine.errors import ConfigError, OutputError
from relmine.store import atomic_write_bytes, write_failure

__all__ = [
    "FORMATS",
    "checked_target",
    "copy_file",
    "format_for",
    "neutralise_formulas",
    "write_file",
    "write_table",
]

#: Table formats by name; graph formats are handled by :mod:`relmine.graph` callers.
FORMATS = ("parquet", "csv", "json", "ndjson")

_EXTENSIONS = {".parquet": "parquet", ".csv": "csv", ".json": "json", ".ndjson": "ndjson"}
_EXTENSIONS[".jsonl"] = "ndjson"


def format_for(target: str, fmt: str | None, *, extra: tuple[str, ...] = ()) -> str:
    """The format to write ``target`` in: ``fmt`` if given, else from the extension.

    Raises
    ------
    ConfigError
        If neither says a known format.
    """
    known = FORMATS + extra
    if fmt is not None:
        if fmt not in known:
            raise ConfigError(f"unknown format {fmt!r}; use one of {', '.join(known)}")
        return fmt
    if target == "-":
        return "parquet"
    suffix = Path(target).suffix.lower()
    by_ext = {**_EXTENSIONS, **{f".{e}": e for e in extra}}
    if suffix not in by_ext:
        raise ConfigError(
            f"cannot tell the format of {target!r} from its extension; use one of "
            f"{', '.join(sorted(by_ext))} or pass --format"
        )
    return by_ext[suffix]


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    """Prefix text cells that a spreadsheet would evaluate as a formula with ``'``."""
    text = [c for c, t in frame.schema.items() if t == pl.String]

    def risky(c: str) -> pl.Expr:
        # a signed number (an E.164 phone number, -12.5) cannot carry a formula: left as it is
        number = pl.col(c).str.contains(r"^[+\-][0-9 .]*$")
        return pl.col(c).str.contains(r"^[=+\-@\t\r]") & ~number

    return frame.with_columns(
        pl.when(risky(c)).then("'" + pl.col(c)).otherwise(pl.col(c)).alias(c) for c in text
    )


def _flat(frame: pl.DataFrame) -> pl.DataFrame:
    """CSV cannot hold lists: join them with ``;``."""
    lists = [c for c, t in frame.schema.items() if isinstance(t, pl.List)]
    return frame.with_columns(pl.col(c).cast(pl.List(pl.String)).list.join(";") for c in lists)


#: Rows encoded at a time as JSON or NDJSON (about 130 MB of text for the wide tie table).
JSON_SLICE = 200_000


def _serialise(frame: pl.DataFrame, fmt: str) -> Iterator[bytes]:
    """The encoded table, in pieces to be written one after the other.

    JSON and NDJSON come :data:`JSON_SLICE` rows at a time, the same bytes as one encoding of
    the whole table: their text is several times the table's size in memory (the 1 M-person
    world's tie table: 3.5 GB, which took the command to 5 GB), Parquet's and CSV's is not.
    """
    if fmt in ("json", "ndjson"):
        yield from _json_pieces(frame, fmt)
        return
    buf = io.BytesIO()
    if fmt == "parquet":
        # zstd's fastest level: the 5 M-tie table of a 10 M-row world in 2.4 instead of 3.4 s
        # (4.5 instead of 6.5 CPU-seconds), for 9 % more bytes.
        frame.write_parquet(buf, compression="zstd", compression_level=1, statistics=True)
    elif fmt == "csv":
        neutralise_formulas(_flat(frame)).write_csv(buf)
    else:  # pragma: no cover - format_for guards this
        raise ConfigError(f"unknown format {fmt!r}")
    yield buf.getvalue()


def _json_pieces(frame: pl.DataFrame, fmt: str) -> Iterator[bytes]:
    """:func:`_serialise` for JSON (an array of objects) and NDJSON (an object a line)."""
    if fmt == "json":
        yield b"["
    for first in range(0, frame.height, JSON_SLICE):
        buf = io.BytesIO()
        part = frame.slice(first, JSON_SLICE)
        if fmt == "ndjson":
            part.write_ndjson(buf)
            yield buf.getvalue()
        else:
            part.write_json(buf)
            objects = buf.getvalue()[1:-1]  # the slice's array without its brackets
            yield objects if first == 0 else b"," + objects
    if fmt == "json":
        yield b"]"


def write_table(
    frame: pl.DataFrame,
    target: str,
    *,
    fmt: str | None = None,
    writer: Callable[[Path], None] | None = None,
    source: Path | None = None,
) -> str:
    """Write ``frame`` to ``target`` (a path, or ``-`` for stdout); return the format used.

    Parameters
    ----------
    frame : DataFrame
        The table, already sorted.
    target : str
        A file path or ``-``.
    fmt : str, optional
        Format name; by default from the extension (Parquet for ``-``).
    writer : callable, optional
        Writes a non-table format to a temporary path (GraphML, GEXF); it is then renamed onto
        ``target`` like a table.
    source : Path, optional
        A Parquet file holding ``frame`` as this module writes it (the store's cached tie
        table): copied instead of encoding ``frame`` again when the format is Parquet.
    """
    if writer is not None:
        path = _target(target)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        if _special(path):
            tmp = Path(tempfile.gettempdir()) / tmp.name
        try:
            writer(tmp)
            if _special(path):
                with open(tmp, "rb") as src, open(path, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            else:
                os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return fmt or path.suffix.lstrip(".")
    fmt = format_for(target, fmt)
    if source is not None and fmt == "parquet" and copy_file(source, target):
        return fmt
    pieces = _serialise(frame, fmt)
    if target == "-":
        for piece in pieces:
            sys.stdout.buffer.write(piece)
        sys.stdout.buffer.flush()
    else:
        write_file(pieces, target)
    return fmt


def write_file(data: bytes | Iterable[bytes], target: str) -> None:
    """Replace the file ``target`` with ``data`` atomically; a device or pipe is written in place.

    ``data`` is the bytes, or pieces of them written one after the other.

    Raises
    ------
    ConfigError
        If the folder does not exist or ``target`` is a folder.
    OutputError
        If the write fails (disk full, read-only folder, ...); a previous file stays as it was.
    """
    path = _target(target)
    try:
        if _special(path):
            with open(path, "wb") as fh:
                for piece in [data] if isinstance(data, bytes) else data:
                    fh.write(piece)
        else:
            atomic_write_bytes(path, data, mode=None)
    except OSError as exc:
        raise _output_error(target, path, exc) from None


def copy_file(source: Path, target: str) -> bool:
    """Copy the file ``source`` to ``target`` (a path, or ``-`` for stdout) as :func:`write_file`.

    For a table already written in the format asked for (``graph`` copies the store's cached tie
    table): no second encoding. The copy gets the permissions of a new file (the umask's), not
    the source's. False, with nothing written, when ``source`` cannot be opened (a cache pruned
    meanwhile): the caller then writes the table.

    Raises
    ------
    ConfigError, OutputError
        As :func:`write_file`.
    """
    try:
        src = open(source, "rb")  # noqa: SIM115 - closed below, on every path
    except OSError:
        return False
    with src:
        if target == "-":
            sys.stdout.flush()
            shutil.copyfileobj(src, sys.stdout.buffer, 1 << 20)
            sys.stdout.buffer.flush()
            return True
        path = _target(target)
        try:
            if _special(path):
                with open(path, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                return True
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            try:
                with open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                    dst.flush()
                    os.fsync(dst.fileno())
                os.replace(tmp, path)
            finally:
                tmp.unlink(missing_ok=True)
        except OSError as exc:
            raise _output_error(target, path, exc) from None
    return True


def _output_error(target: str, path: Path, exc: OSError) -> OutputError:
    reason = write_failure(exc) or exc.strerror or type(exc).__name__
    return OutputError(
        f"cannot write {target}: {reason}; a previous {path.name}, if any, is unchanged"
    )


def checked_target(target: str) -> Path:
    """The path of an output file, checked: its folder exists and it is not a folder itself."""
    return _target(target)


def _target(target: str) -> Path:
    """The path to write, checked: its folder exists and it is not a folder itself."""
    path = Path(target)
    if path.parent and not path.parent.exists():
        raise ConfigError(f"cannot write {target}: folder {path.parent} does not exist")
    if path.is_dir():
        raise ConfigError(f"cannot write {target}: it is a folder; give a file name")
    return path


def _special(path: Path) -> bool:
    """An existing target that is not a regular file: a device or a pipe (``/dev/null``, a FIFO).

    Such a target is written in place: renaming a temporary file onto it would replace the
    device with a plain file (as root, ``-o /dev/null`` would break ``/dev/null`` for everyone).
    """
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not stat.S_ISREG(mode) and not stat.S_ISDIR(mode)
