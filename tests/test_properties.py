"""Property-based tests of ingest: whatever the file, every row is accounted for or the file is
refused with one clear line, never a traceback and never a partial store.

Files are drawn by hypothesis from realistic and hostile pieces: phone numbers and IBANs in every
writing (and broken ones), timestamps in several formats (and impossible ones), quotes, separators
and line breaks inside fields, ragged rows, huge fields, mixed line endings, other encodings,
truncation at any byte, and plain random bytes. The runs are derandomised (the same examples
every time) and bounded, so the suite stays deterministic and fast.
"""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import run_cli, status, tree

#: Examples per property; the whole file runs in well under a minute.
EXAMPLES = 60

PROPERTY = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

SUBSCRIBERS = ["905123456", "911222333", "948765432", "2 123 456 78"]


def _phone() -> st.SearchStrategy[str]:
    writings: list[Callable[[str], str]] = [
        lambda s: "+421" + s.replace(" ", ""),
        lambda s: "+421 " + s,
        lambda s: "0" + s,
        lambda s: "00421" + s.replace(" ", ""),
        lambda s: "421" + s.replace(" ", ""),
        lambda s: "(0" + s[:3] + ") " + s[3:],
        lambda s: "0" + s[:3] + "/" + s[3:],
    ]
    good = st.builds(lambda s, w: w(s), st.sampled_from(SUBSCRIBERS), st.sampled_from(writings))
    bad = st.one_of(
        st.just(""),
        st.just("+"),
        st.text("0123456789+ -()", max_size=25),
        st.text(max_size=12),
    )
    return st.one_of(good, good, bad)


def _timestamp() -> st.SearchStrategy[str]:
    good = st.sampled_from(
        [
            "2026-03-01 10:00:00",
            "2026-03-01T23:59:59",
            "2026-03-29T02:30:00",  # a local time that does not exist (DST gap)
            "2026-10-25 02:30:00",  # one that exists twice
            "2026-03-01T10:00:00Z",
            "2026-03-01T10:00:00+02:00",
            "2026-03-01 10:00",
        ]
    )
    bad = st.one_of(
        st.sampled_from(["", "2026-13-45 99:99:99", "yesterday", "2026-02-30 10:00:00"]),
        st.text(max_size=20),
    )
    return st.one_of(good, good, bad)


def _iban() -> st.SearchStrategy[str]:
    good = st.sampled_from(
        [
            "SK3112000000198742637541",
            "sk31 1200 0000 1987 4263 7541",
            "SK0809000000000123123123",
            "DE89370400440532013000",
            "CZ6508000000192000145399",
        ]
    )
    bad = st.one_of(
        st.sampled_from(["SK3112000000198742637542", "DE00370400440532013000", "", "IBAN"]),
        st.text(max_size=30),
    )
    return st.one_of(good, good, bad)


def _amount() -> st.SearchStrategy[str]:
    number = st.decimals(min_value=-(10**9), max_value=10**9, places=2, allow_nan=False)
    return st.one_of(
        number.map(str),
        number.map(lambda d: str(d).replace(".", ",")),
        st.sampled_from(["", "1e400", "NaN", "-", "12.345.678,90"]),
        st.text(max_size=10),
    )


def _field_noise() -> st.SearchStrategy[str]:
    """Free text with the characters that break naive CSV handling."""
    return st.one_of(
        st.text(max_size=30),
        st.text(alphabet=",;|\"\t\r\n '=+-@", max_size=15),
        st.just("x" * 100_000),  # a huge field
        st.sampled_from(["Žilina", "Kraków", "Müller", "日本"]),
    )


CDR_COLUMNS = {
    "caller": _phone,
    "callee": _phone,
    "start_time": _timestamp,
    "duration_s": lambda: st.one_of(
        st.integers(-5, 10**7).map(str), st.sampled_from(["", "1.5", "abc"])
    ),
    "type": lambda: st.one_of(
        st.sampled_from(["voice", "sms", "mms", "call", "text", "VOICE", "", "fax"]),
        st.text(max_size=5),
    ),
    "cell_id": _field_noise,
}

BANK_COLUMNS = {
    "account": _iban,
    "counterparty": _iban,
    "amount": _amount,
    "currency": lambda: st.sampled_from(["EUR", "CZK", "", "euro"]),
    "booked_at": lambda: st.one_of(st.sampled_from(["2026-03-01", "2026-03-31"]), _timestamp()),
    "description": _field_noise,
}


@st.composite
def csv_files(draw: st.DrawFn, columns: dict[str, Callable[[], st.SearchStrategy[str]]]) -> dict:
    """A CSV file of one kind, well-formed or not, and what a correct reader must count."""
    required = [c for c in columns if c in ("caller", "callee", "start_time")] or [
        "account",
        "amount",
        "booked_at",
    ]
    optional = [c for c in columns if c not in required]
    header = required + draw(st.lists(st.sampled_from(optional), unique=True))
    if draw(st.booleans()):
        header.append(draw(st.sampled_from(["extra", "note", "CALLER_NAME"])))
    n = draw(st.integers(0, 25))
    rows = []
    for _ in range(n):
        row = [draw(columns[c]()) if c in columns else draw(_field_noise()) for c in header]
        shape = draw(st.sampled_from(["ok", "ok", "ok", "short", "long"]))
        if shape == "short":
            row = row[: draw(st.integers(1, max(1, len(row) - 1)))]
        elif shape == "long":
            row.append(draw(_field_noise()))
        rows.append(row)
    sep = draw(st.sampled_from([",", ";", "|", "\t"]))
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=sep, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow([draw(st.sampled_from([c, c.upper(), c.title()])) for c in header])
    for row in rows:
        writer.writerow(row)
    text = buf.getvalue()
    if draw(st.booleans()):
        text = text.replace("\n", "\r\n")
    encoding = draw(st.sampled_from(["utf-8", "utf-8", "utf-8-sig", "cp1250", "latin-1"]))
    data = text.encode(encoding, errors="replace")
    cut = draw(st.one_of(st.none(), st.integers(0, max(0, len(data)))))
    if cut is not None:
        data = data[:cut]
    return {"data": data, "records": None if cut is not None else n}


def _check(data: bytes, name: str, records: int | None = None, *options: str) -> None:
    """Ingest ``data``: accounted for, or refused in one line with the store untouched.

    ``records`` is the number of data records written, when known (not cut short): every one of
    them must be read, however many physical lines its quoted fields span.
    """
    folder = Path(tempfile.mkdtemp(prefix="relmine-prop-"))
    try:
        path = folder / name
        path.write_bytes(data)
        store = folder / "store"
        run = run_cli("ingest", path, "--store", store, "-q", *options)
        event(f"exit {run.exit_code}")
        assert "Traceback" not in run.stderr
        assert "internal error" not in run.stderr, run.stderr
        if run.exit_code == 0:
            files = status(store)["files"]
            for f in files:
                assert f["rows"] == f["accepted"] + f["rejected"] + f["duplicates"], f
            if records is not None:
                assert [f["rows"] for f in files] == [records]
            return
        assert run.exit_code in (1, 3), (run.exit_code, run.stderr)
        lines = run.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("relmine: error: "), run.stderr
        if run.exit_code == 1:  # refused: no store was made, or it holds nothing of the file
            assert not store.exists() or status(store)["files"] == [], tree(store).keys()
        else:  # too many bad rows: the file is not stored
            assert status(store)["files"] == []
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@PROPERTY
@given(csv_files(CDR_COLUMNS))
def test_any_call_record_file_is_accounted_for_or_refused(file: dict) -> None:
    # every bad row is kept as a reject instead of refusing the file, so the counts are checked
    _check(file["data"], "calls.csv", file["records"], "--max-reject-rate", "1")


@PROPERTY
@given(csv_files(BANK_COLUMNS))
def test_any_bank_statement_is_accounted_for_or_refused(file: dict) -> None:
    _check(file["data"], "bank.csv", file["records"], "--max-reject-rate", "1")


@PROPERTY
@given(st.binary(max_size=2_000))
def test_random_bytes_are_refused_or_accounted_for(data: bytes) -> None:
    _check(data, "random.csv")


@PROPERTY
@given(
    st.binary(max_size=500),
    st.sampled_from([b"caller,callee,start_time\n", b"account;amount;booked_at\r\n"]),
)
def test_a_good_header_over_random_bytes(data: bytes, header: bytes) -> None:
    _check(header + data, "mixed.csv")
