"""``relmine ingest --pseudonymize``: nothing raw in the store, the same graph up to renaming."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from conftest import DATA, SAMPLE, THIRD_PARTY, run_cli, status, tree
from relmine.ingest.pseudonym import token

KEY = "correct horse battery staple 2026"
FILES = ("customers.csv", "cells.csv", "calls.csv", "bank.csv")


@pytest.fixture(scope="module")
def pseudo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample world ingested with --pseudonymize (key in a key file)."""
    tmp = tmp_path_factory.mktemp("pseudo")
    key_file = tmp / "relmine.key"
    key_file.write_text(KEY + "\n")
    store = tmp / "store"
    run = run_cli(
        "ingest", *(SAMPLE / f for f in FILES), "--store", store, "--pseudonymize",
        "--key-file", key_file,
    )  # fmt: skip
    assert run.exit_code == 0, run.stderr
    return store


def _nsn(value: str) -> str:
    """The last nine digits of a phone number or account: what any writing of it contains."""
    return re.sub(r"\D", "", value)[-9:]


def _store_text(store: Path) -> str:
    """Every byte of every store file, plus the decoded strings of every Parquet file."""
    parts = []
    for path in sorted(p for p in store.rglob("*") if p.is_file()):
        parts.append(path.read_bytes().decode("latin-1"))
        if path.suffix == ".parquet":
            frame = pl.read_parquet(path)
            for name, dtype in frame.schema.items():
                if dtype == pl.String:
                    parts.append("\n".join(frame[name].drop_nulls().to_list()))
    # "+421 905 123 456", "0905-123-456": drop what separates digits before looking for them.
    return re.sub(r"(?<=\d)[\s\-./()]+(?=\d)", "", "\n".join(parts))


def _windows(text: str, width: int = 9) -> set[str]:
    out = set()
    for run in re.findall(rf"\d{{{width},}}", text):
        out.update(run[i : i + width] for i in range(len(run) - width + 1))
    return out


def _raw_identifiers() -> tuple[set[str], set[str]]:
    """Every phone writing and account of the sample's input files, and every name."""
    ids: set[str] = set()
    names: set[str] = set()
    columns = {
        "calls.csv": ["caller", "callee"],
        "customers.csv": ["phone", "account"],
        "bank.csv": ["account", "counterparty"],
    }
    for name, cols in columns.items():
        frame = pl.read_csv(SAMPLE / name, infer_schema=False)
        for c in cols:
            ids.update(frame[c].drop_nulls().to_list())
    names.update(pl.read_csv(SAMPLE / "customers.csv", infer_schema=False)["name"].drop_nulls())
    bank = pl.read_csv(SAMPLE / "bank.csv", infer_schema=False)
    names.update(bank["counterparty_name"].drop_nulls())
    return ids, names


def test_no_raw_identifier_reaches_the_store(pseudo_store: Path, sample_store: Path) -> None:
    ids, names = _raw_identifiers()
    assert len(ids) > 3000 and any(" " in i for i in ids)  # many writings, spaced ones too
    # The check can fail: the plain store holds them.
    plain = _store_text(sample_store)
    assert {_nsn(i) for i in ids} & _windows(plain)
    assert any(n in plain for n in names)

    text = _store_text(pseudo_store)
    leaked = {_nsn(i) for i in ids} & _windows(text)
    assert not leaked, f"{len(leaked)} identifiers found in the pseudonymised store"
    assert not [n for n in names if n in text]
    assert not re.search(r"SK\d\d\d{4}", text)  # no IBAN, compact or spaced


def test_graph_is_the_same_up_to_renaming(
    pseudo_store: Path, sample_store: Path, tmp_path: Path
) -> None:
    for store, out in ((sample_store, "plain.parquet"), (pseudo_store, "pseudo.parquet")):
        run = run_cli("graph", "--store", store, "-o", tmp_path / out)
        assert run.exit_code == 0, run.stderr
    plain = pl.read_parquet(tmp_path / "plain.parquet")
    pseudo = pl.read_parquet(tmp_path / "pseudo.parquet")
    assert plain.height == pseudo.height > 1000

    nodes = pl.concat([plain["a"], plain["b"]]).unique().to_list()
    back = {token(n, key=KEY.encode(), domain=d): n for n in nodes for d in ("tel", "acc")}
    renamed = pseudo.with_columns(
        pl.col("a").replace(back), pl.col("b").replace(back)
    )  # customer ids are not tokens: they stay
    assert set(renamed["a"]) | set(renamed["b"]) == set(nodes)
    # Renaming can swap a pair's order: swap the per-side columns with it.
    swap = renamed["a"] > renamed["b"]
    sides = [(c, c[:-2] + "_b") for c in renamed.columns if c.endswith("_a")]
    sides += [(c, c[:-3] + "_ba") for c in renamed.columns if c.endswith("_ab")]
    exprs = []
    for left, right in [("a", "b"), *sides]:
        exprs += [
            pl.when(swap).then(pl.col(right)).otherwise(pl.col(left)).alias(left),
            pl.when(swap).then(pl.col(left)).otherwise(pl.col(right)).alias(right),
        ]
    canonical = renamed.with_columns(exprs).sort("a", "b")
    assert_frame_equal(canonical, plain.sort("a", "b"), check_exact=False, rel_tol=1e-9)
    assert status(pseudo_store)["nodes"] == status(sample_store)["nodes"]


def test_tokens_are_consistent_across_runs_and_files(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RELMINE_KEY", KEY)
    one, two = tmp_path / "one", tmp_path / "two"
    for path in ("calls_basic.csv", "calls_offsets.csv"):
        assert run_cli("ingest", DATA / path, "--store", two, "--pseudonymize",
                       "--max-reject-rate", "0.5").exit_code == 0  # fmt: skip
    run = run_cli("ingest", DATA / "calls_basic.csv", DATA / "calls_offsets.csv", "--store", one,
                  "--pseudonymize", "--max-reject-rate", "0.5")  # fmt: skip
    assert run.exit_code == 0, run.stderr

    def calls(store: Path) -> pl.DataFrame:
        parts = sorted(store.glob("data/*/cdr-*.parquet"))
        frame = pl.concat([pl.read_parquet(p) for p in parts])
        return frame.sort(frame.columns)

    assert_frame_equal(calls(one), calls(two))
    phones = set(calls(one)["caller"]) | set(calls(one)["callee"])
    assert phones == {token(p, key=KEY.encode(), domain="tel") for p in
                      ("+421905123456", "+421905654321")}  # fmt: skip
    # Rejected rows keep their reason and line; their identifiers are tokens too.
    rejects = pl.concat([pl.read_parquet(p) for p in one.glob("data/*/rejects-*.parquet")])
    assert "missing callee" in rejects["reason"].to_list()
    assert not any(re.search(r"\d{6}", r) for r in rejects["raw"].to_list())
    assert all(",2026-" in r for r in rejects["raw"].to_list())  # the time is kept


def test_without_a_key_it_refuses(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("RELMINE_KEY", raising=False)
    store = tmp_path / "s"
    run = run_cli("ingest", DATA / "calls_offsets.csv", "--store", store, "--pseudonymize")
    assert run.exit_code == 1
    assert "RELMINE_KEY" in run.stderr and "--key-file" in run.stderr
    assert tree(store) == {}
    monkeypatch.setenv("RELMINE_KEY", "short")
    run = run_cli("ingest", DATA / "calls_offsets.csv", "--store", store, "--pseudonymize")
    assert run.exit_code == 1 and "too short" in run.stderr


def test_a_store_keeps_one_key_and_never_mixes_plain_data(tmp_path: Path, monkeypatch) -> None:
    store = tmp_path / "s"
    monkeypatch.setenv("RELMINE_KEY", KEY)
    assert run_cli("ingest", DATA / "calls_offsets.csv", "--store", store,
                   "--pseudonymize").exit_code == 0  # fmt: skip
    before = tree(store)
    run = run_cli("ingest", DATA / "cells.csv", "--store", store)
    assert run.exit_code == 1 and "holds pseudonymised data" in run.stderr
    monkeypatch.setenv("RELMINE_KEY", KEY + " but another")
    run = run_cli("ingest", DATA / "cells.csv", "--store", store, "--pseudonymize")
    assert run.exit_code == 1 and "another key" in run.stderr
    assert tree(store) == before


def test_bandicoot_file_names_are_not_kept(tmp_path: Path, monkeypatch) -> None:
    """A bandicoot file is named after its subscriber: the manifest records a token instead."""
    source = THIRD_PARTY / "bandicoot" / "network"
    numbers = {"ego": "0905111222", "A": "0905333444", "B": "0905555666", "F": "0905777888",
               "H": "0905999000", "D": "0905121314"}  # fmt: skip
    folder = tmp_path / "subscribers"
    folder.mkdir()
    for path in source.glob("*.csv"):
        text = path.read_text()
        for name, number in numbers.items():
            text = re.sub(rf"(?<=,){name}(?=,)", number, text)
        (folder / f"{numbers[path.stem]}.csv").write_text(text)
    monkeypatch.setenv("RELMINE_KEY", KEY)
    store = tmp_path / "s"
    run = run_cli("ingest", folder, "--kind", "bandicoot", "--store", store, "--pseudonymize")
    assert run.exit_code == 0, run.stderr
    files = status(store)["files"]
    assert len(files) == 5
    assert all(Path(f["path"]).name.startswith("file-") for f in files)
    text = _store_text(store)
    assert not [n for n in numbers.values() if n[1:] in text]
    e164 = {token("+421" + n[1:], key=KEY.encode(), domain="tel") for n in numbers.values()}
    cdr = pl.concat([pl.read_parquet(p) for p in store.glob("data/*/cdr-*.parquet")])
    assert set(cdr["caller"]) | set(cdr["callee"]) == e164  # phone-number ids became E.164
