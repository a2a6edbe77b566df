"""Sniffing an input file: is it text, which encoding and separator, which kind of data.

Everything here looks at the first few kilobytes only, so it costs nothing on a 10 GB file, and it
refuses early (before anything is written) a file that is empty, binary, header-less or of a kind
relmine cannot place.
"""

from __future__ import annotations

import contextlib
import csv
import io
import shutil
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from relmine.errors import InputError, UnknownFileKind
from relmine.ingest.mapping import Layout, Mapping, missing_columns, resolve_columns
from relmine.schema import INPUT_COLUMNS, KINDS

__all__ = ["Dialect", "detect_kind", "layout_for", "sniff", "utf8_file"]

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
    quote : str
        Quote character of fields holding the separator.
    """

    encoding: str
    separator: str
    header: tuple[str, ...]
    columns: tuple[str, ...]
    decimal_comma: bool
    sample: list[list[str]]
    quote: str = '"'
    #: Lines before the header (an export's preamble), from the mapping's ``skip_lines``.
    skip: int = 0


def _decode(raw: bytes, path: Path) -> tuple[str, str]:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return raw.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sample's end is not a reason to doubt UTF-8.
        if exc.start >= len(raw) - 3:
            return raw[: exc.start].decode("utf-8"), "utf-8"
    # Central-European exports are cp1250, Western ones latin-1. The two agree on the letters
    # they share (á é í ó ú ä ö ü ß ô ý ...); they are told apart by the bytes that are letters
    # in only one of them.
    counts = Counter(raw)
    if any(counts[b] for b in _CP1250_LETTERS) or not any(counts[b] for b in _LATIN1_LETTERS):
        try:
            return raw.decode("cp1250"), "cp1250"
        except UnicodeDecodeError:
            pass
    return raw.decode("latin-1"), "latin-1"


# Š Ť Ž š ť ž Ś Ź ś ź (0x8A-0x9F: C1 controls in latin-1), Ł Ą Ş Ż ł ą ş ľ Ľ ż (symbols there).
_CP1250_LETTERS = bytes([*range(0x8A, 0xA0), 0xA3, 0xA5, 0xAA, 0xAF, 0xB3, 0xB9, 0xBA, 0xBC])
_CP1250_LETTERS += bytes([0xBE, 0xBF])
# à À ñ Ñ å Å æ Æ in latin-1 are ŕ Ŕ ń Ń ĺ Ĺ ć Ć in cp1250: rare in Czech and Slovak, and Polish
# text has the letters above too. (è ì ò ø would be č ě ň ř, too common to tell anything.)
_LATIN1_LETTERS = bytes([0xE0, 0xC0, 0xF1, 0xD1, 0xE5, 0xC5, 0xE6, 0xC6])


def _looks_binary(raw: bytes) -> bool:
    if b"\x00" in raw:
        return True
    controls = sum(1 for b in raw if b < 9 or 13 < b < 32)
    return controls > max(2, len(raw) // 100)


def sniff(path: Path, mapping: Mapping | None = None) -> Dialect:
    """Read the start of ``path`` and work out how to parse it.

    A mapping file's ``encoding``, ``separator``, ``quote`` and ``decimal`` replace what would
    be detected. Detected: UTF-8 (with or without BOM), else cp1250 (Central-European exports),
    else latin-1; the separator that the header line uses most of ``,`` ``;`` ``|`` tab; a
    decimal comma when more numbers of the sample have a comma than a dot (never with ``,`` as
    separator).

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
    mapping = mapping or Mapping()
    if mapping.encoding is not None:
        encoding = mapping.encoding
        text = raw.decode(encoding, errors="replace")
        if encoding == "utf-8" and text.startswith("\ufeff"):
            text, encoding = text[1:], "utf-8-sig"
    else:
        text, encoding = _decode(raw, path)
    lines = text.splitlines()[mapping.skip_lines :]
    if len(raw) == _SAMPLE_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the last line of the sample may be cut
    header_line = next((ln for ln in lines if ln.strip()), "")
    separator = mapping.separator or max(_SEPARATORS, key=header_line.count)
    if header_line.count(separator) == 0:
        raise InputError(
            f"{path} has no header line with separated column names "
            f"(first line: {len(header_line)} characters, no , ; | or tab)"
        )
    quote = mapping.quote or '"'
    rows = list(csv.reader(io.StringIO("\n".join(lines)), delimiter=separator, quotechar=quote))
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
        decimal_comma=(
            mapping.decimal_comma
            if mapping.decimal_comma is not None
            else separator != "," and _decimal_comma(sample)
        ),
        sample=sample,
        quote=quote,
        skip=mapping.skip_lines,
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


def layout_for(dialect: Dialect, kind: str, path: Path, mapping: Mapping) -> Layout:
    """The file's columns named for ``kind`` (mapping, canonical names, synonyms)."""
    columns = resolve_columns(dialect.header, kind, mapping, path=path)
    return Layout(kind=kind, columns=columns, mapping=mapping)


def detect_kind(dialect: Dialect, path: Path, mapping: Mapping | None = None) -> str:
    """Decide from the header which kind of file this is (``--kind auto``).

    Each kind names the header with its synonyms; a kind matches when all its required columns
    are then present (or derivable), and among matching kinds the one whose columns cover most
    of the header wins.

    Raises
    ------
    UnknownFileKind
        If no kind's required columns are all present.
    """
    mapping = mapping or Mapping()
    scores = []
    for kind in KINDS:
        layout = layout_for(dialect, kind, path, mapping)
        if not missing_columns(layout):
            present = set(layout.columns) | layout.derived
            scores.append((len(present & set(INPUT_COLUMNS[kind])), kind))
    if not scores:
        cdr = layout_for(dialect, "cdr", path, mapping)
        hint = (
            "; it looks like a bandicoot subscriber file: pass --kind bandicoot"
            if {"other", "direction"} <= set(cdr.columns) and "served" not in cdr.columns
            else "; pass --kind and --mapping for other layouts (see examples/mappings/)"
        )
        raise UnknownFileKind(
            f"cannot tell what kind of file {path} is from its columns "
            f"({', '.join(dialect.header)[:200]}); expected e.g. caller,callee,start_time (cdr) "
            f"or account,amount,booked_at (bank){hint}"
        )
    return max(scores)[1]


@contextlib.contextmanager
def utf8_file(path: Path, dialect: Dialect) -> Iterator[Path]:
    """``path`` itself when it is UTF-8, else a temporary UTF-8 copy (removed afterwards).

    The copy is made in one streaming pass with Python's codec (about 1 s per 100 MB), so Polars
    reads every file as UTF-8 and line numbers stay those of the original.
    """
    if dialect.encoding in ("utf-8", "utf-8-sig"):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="relmine-") as tmp:
        target = Path(tmp) / "utf8.csv"
        with (
            open(path, encoding=dialect.encoding, errors="replace", newline="") as src,
            open(target, "w", encoding="utf-8", newline="") as dst,
        ):
            shutil.copyfileobj(src, dst, 1 << 20)
        yield target
