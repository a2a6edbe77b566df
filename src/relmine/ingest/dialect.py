"""Sniffing an input file: is it text, which encoding and separator, which kind of data.

Everything here looks at the first few kilobytes only, so it costs nothing on a 10 GB file, and it
refuses early (before anything is written) a file that is empty, binary, header-less or of a kind
relmine cannot place.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from relmine.errors import InputError, UnknownFileKind
from relmine.schema import INPUT_COLUMNS, KINDS, REQUIRED_COLUMNS

__all__ = ["Dialect", "check_columns", "detect_kind", "sniff"]

_SAMPLE_BYTES = 64 * 1024
_SEPARATORS = (",", ";", "|", "\t")


@dataclass(frozen=True)
class Dialect:
    """How to read one CSV file.

    Attributes
    ----------
    encoding : str
        Python codec name of the file (``utf-8``, ``utf-8-sig``, ``cp1250``, ``latin-1``).
    separator : str
        Field separator.
    header : tuple of str
        Column names as written in the file.
    columns : tuple of str
        The same names lower-cased and stripped, which is how relmine matches them.
    decimal_comma : bool
        Numbers are written with a decimal comma (``12,50``).
    sample : list of list of str
        The first data rows, for format detection.
    """

    encoding: str
    separator: str
    header: tuple[str, ...]
    columns: tuple[str, ...]
    decimal_comma: bool
    sample: list[list[str]]


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample's end is not a reason to doubt UTF-8.
        if exc.start >= len(raw) - 3:
            return raw[: exc.start].decode("utf-8"), "utf-8"
    # Central-European exports are cp1250; its only undefined bytes are a handful of C1 codes.
    try:
        return raw.decode("cp1250"), "cp1250"
    except UnicodeDecodeError:
        return raw.decode("latin-1"), "latin-1"


def _looks_binary(raw: bytes) -> bool:
    if b"\x00" in raw:
        return True
    controls = sum(1 for b in raw if b < 9 or 13 < b < 32)
    return controls > max(2, len(raw) // 100)


def sniff(path: Path) -> Dialect:
    """Read the start of ``path`` and work out how to parse it.

    Raises
    ------
    InputError
        If the file cannot be opened, is empty, is binary, or has no usable header line.
    """
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_SAMPLE_BYTES)
    except IsADirectoryError:
        raise InputError(f"{path} is a directory; give the files in it") from None
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    if not raw.strip():
        raise InputError(f"{path} is empty; nothing to ingest")
    if _looks_binary(raw):
        raise InputError(f"{path} is not a text (CSV) file; relmine reads CSV exports")
    text, encoding = _decode(raw, path)
    lines = text.splitlines()
    if len(raw) == _SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    header_line = next((ln for ln in lines if ln.strip()), "")
    separator = max(_SEPARATORS, key=header_line.count)
    if header_line.count(separator) == 0:
        raise InputError(
            f"{path} has no header line with separated column names "
            f"(first line: {len(header_line)} characters, no , ; | or tab)"
        )
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=separator))
    header = tuple(h.strip() for h in rows[0])
    columns = tuple(h.lower() for h in header)
    numeric = [i + 1 for i, c in enumerate(columns) if c and _is_number(c)]
    if numeric:
        # Say where, not what: the first line of a header-less file is data (phone numbers).
        raise InputError(
            f"{path} seems to have no header line (field {numeric[0]} of its first line is a "
            "number, not a column name); add the column names as the first line"
        )
    sample = rows[1:201]
    return Dialect(
        encoding=encoding,
        separator=separator,
        header=header,
        columns=columns,
        decimal_comma=separator != "," and _decimal_comma(sample),
        sample=sample,
    )


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", "."))
    except ValueError:
        return False
    return True


def _decimal_comma(sample: list[list[str]]) -> bool:
    values = [v.strip() for row in sample for v in row]
    commas = sum(1 for v in values if "," in v and "." not in v and _is_number(v))
    dots = sum(1 for v in values if "." in v and "," not in v and _is_number(v))
    return commas > dots


def detect_kind(dialect: Dialect, path: Path) -> str:
    """Decide from the header which kind of file this is (``--kind auto``).

    A kind matches when all its required columns are present; among matching kinds the one whose
    columns cover most of the header wins.

    Raises
    ------
    UnknownFileKind
        If no kind's required columns are all present.
    """
    present = set(dialect.columns)
    scores = []
    for kind in KINDS:
        if set(REQUIRED_COLUMNS[kind]) <= present:
            scores.append((len(present & set(INPUT_COLUMNS[kind])), kind))
    if not scores:
        raise UnknownFileKind(
            f"cannot tell what kind of file {path} is from its columns "
            f"({', '.join(dialect.header)[:200]}); expected e.g. caller,callee,start_time (cdr) "
            "or account,amount,booked_at (bank); pass --kind and --mapping for other layouts"
        )
    return max(scores)[1]


def check_columns(dialect: Dialect, kind: str, path: Path) -> None:
    """Raise :class:`InputError` naming the missing required columns of ``kind``."""
    missing = [c for c in REQUIRED_COLUMNS[kind] if c not in dialect.columns]
    if missing:
        raise InputError(
            f"column{'s' if len(missing) > 1 else ''} {', '.join(f'`{m}`' for m in missing)} "
            f"not found in {path.name} (read as {kind}); found: {', '.join(dialect.header)[:200]}. "
            "Rename the columns or pass --mapping FILE"
        )
