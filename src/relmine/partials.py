"""Per-part pair aggregates: the tie table from what each ingest added, not from every event again.

A store's event tables are made of part files that never change once committed
(:mod:`relmine.store`). So the events of each part are aggregated once, into *event rows summed
per part* (:data:`relmine.graph.ROW_KEYS`: caller and callee or payer and payee, channel, local
day, cell and home-cell basis, with counts, seconds, cents, squared cents, time-of-day counts and
the first and last local times), and kept in the store's cache next to the tie tables. Every
feature of the tie table is a sum, an extreme or a distinct count of these rows, so the tie table
of a store is its parts' aggregates combined: identifiers mapped to nodes through the register of
the moment, pairs of one node dropped, rows summed again per pair (:func:`combined_ties`). It is
the same table, to the byte, as :func:`relmine.graph.tie_features` builds from the events.

After a nightly ingest, only the new part is read and aggregated; the older parts' aggregates are
read from the cache. What the aggregates are keyed by makes them independent of everything
else that changes:

* of other parts -- the rows are per part, and combining them re-counts distinct days;
* of the register -- the rows keep raw identifiers (phone numbers, IBANs, as per-part numbers
  into the list of the part's distinct identifiers), so a new customers register only re-maps
  them;
* of ``--since/--until`` and ``--channels`` -- the rows are per local day and per channel, so a
  window or a channel choice is a filter on them.

One trap is handled separately: a transfer between two of our accounts is booked on both
statements, and the two bookings are one transfer (:data:`relmine.graph.TRANSFER_KEY`). Bookings
of one part are de-duplicated in its aggregate; a transfer whose bookings came in two parts (two
statement files of the same days) is found from the distinct transfers each bank part keeps
beside its aggregate, read only for parts whose days overlap another's, and subtracted once.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from relmine.config import Settings
from relmine.graph import (
    CHANNELS,
    ROW_SUMS,
    TRANSFER_KEY,
    Window,
    _aggregate,
    _call_events,
    _cells_of_parties,
    _event_rows,
    _finish_ties,
    _sum_rows,
    _transfer_events,
    code_digests,
    party_cells,
    phone_calls,
    sorted_ranks,
    tie_features,
)
from relmine.numbering import dense_codes
from relmine.register import node_map
from relmine.store import DIR_MODE, FILE_MODE, TABLES, Store

__all__ = [
    "PART_SETTINGS",
    "PartAggregate",
    "combined_party_cells",
    "combined_ties",
    "part_aggregate",
]

#: The settings the per-part aggregates depend on (part of their cache key): the hours that
#: make the time-of-day counts and the home-cell bases. The weight's coefficients and what a
#: regular flow is apply when the aggregates are combined.
PART_SETTINGS = ("night_start", "night_end", "evening_start", "work_start", "work_end")

#: The cache folder of the per-part aggregates, under the store's ``cache/``.
FOLDER = "parts"

#: Parts aggregated at the same time (threads) when their aggregates are not cached.
PART_WORKERS = 2

#: Sets of aggregates kept in the cache, by what they were built with (settings, relmine's
#: version and code): the current one and the most recently used others, up to this many. An
#: upgrade or a change of the hours otherwise left a whole set behind (400 MB a million people).
PART_BASES_KEEP = 2


@dataclass(frozen=True)
class PartAggregate:
    """The aggregate of one part file of the ``cdr`` or ``bank`` table.

    Attributes
    ----------
    ids : Series
        The part's distinct identifiers (in an order fixed by their hashes); ``u`` and ``v`` of
        the rows are positions in it.
    rows : LazyFrame
        Event rows summed over :data:`relmine.graph.ROW_KEYS`.
    transfers : LazyFrame or None
        Bank parts: the part's distinct transfers (:data:`relmine.graph.TRANSFER_KEY`), to find
        transfers booked in two parts.
    """

    ids: pl.Series
    rows: pl.LazyFrame
    transfers: pl.LazyFrame | None


def part_aggregate(store: Store, table: str, part: str, settings: Settings) -> PartAggregate:
    """The aggregate of one committed part, from the store's cache or built and cached.

    Parameters
    ----------
    store : Store
        The store holding the part.
    table : str
        ``cdr`` or ``bank``.
    part : str
        The part's path as the manifest names it (``data/<run>/<table>-<n>.parquet``).
    settings : Settings
        The hours of :data:`PART_SETTINGS`.

    Returns
    -------
    PartAggregate
        Cached in ``cache/parts/`` (owner-only, written atomically, best effort: a read-only
        store only costs building it again next time).
    """
    folder = store.root / "cache" / FOLDER
    stem = f"{_digest(part)}-{_digest(_basis(settings))}"
    paths = {kind: folder / f"{stem}.{kind}.parquet" for kind in ("ids", "transfers", "rows")}
    kinds = ("ids", "transfers", "rows") if table == "bank" else ("ids", "rows")
    if paths["rows"].is_file():
        try:
            aggregate = _scan(paths, kinds)
        except (OSError, pl.exceptions.PolarsError):
            pass  # unreadable (e.g. truncated by a crash of the disk): build it again
        else:
            with contextlib.suppress(OSError):  # a read-only store: recency is only a hint
                os.utime(paths["rows"])  # most recently used, for pruning
            return aggregate
    ids, rows, transfers = _build(store, table, part, settings)
    frames = {"ids": ids.to_frame(), "transfers": transfers, "rows": rows}
    # rows last: they mark the aggregate complete; once written, they are read from the file
    # when combined, so that the parts' aggregates are never all in memory at once
    if all(_cache_frame(frames[kind], folder, paths[kind]) for kind in kinds):
        try:
            return _scan(paths, kinds)
        except (OSError, pl.exceptions.PolarsError):
            pass
    return PartAggregate(ids, rows.lazy(), None if transfers is None else transfers.lazy())


def _scan(paths: dict[str, Path], kinds: tuple[str, ...]) -> PartAggregate:
    ids = pl.read_parquet(paths["ids"])["identifier"]
    transfers = pl.scan_parquet(paths["transfers"]) if "transfers" in kinds else None
    if transfers is not None:
        transfers.collect_schema()  # fails here if the file is missing
    return PartAggregate(ids, pl.scan_parquet(paths["rows"]), transfers)


def _build(
    store: Store, table: str, part: str, settings: Settings
) -> tuple[pl.Series, pl.DataFrame, pl.DataFrame | None]:
    """Read one part's events and sum them per identifier pair, channel, day and cell."""
    scan = pl.scan_parquet(store.root / part, schema=TABLES[table], missing_columns="insert")
    transfers = None
    if table == "cdr":
        events = _call_events(phone_calls(scan, CHANNELS))
    else:
        booked = scan.filter(pl.col("counterparty").is_not_null())
        transfers = booked.select(*TRANSFER_KEY).unique().collect(engine="streaming")
        events = _transfer_events(transfers.lazy())
    events = events.filter(
        pl.col("u").is_not_null() & pl.col("v").is_not_null() & (pl.col("u") != pl.col("v"))
    ).collect(engine="streaming")
    ids, numbers = _numbered(pl.concat([events["u"], events["v"]]))
    n = events.height
    events = events.with_columns(u=numbers.slice(0, n), v=numbers.slice(n, n))
    del numbers
    rows = _sum_rows(_event_rows(events.lazy(), settings))
    rows = rows.with_columns(pl.col("cell_id").cast(pl.String)).collect(engine="streaming")
    return ids, rows, transfers


def _numbered(values: pl.Series) -> tuple[pl.Series, pl.Series]:
    """The distinct ``values`` (``identifier``), and each value's position among them.

    The values are numbered by hash (:func:`relmine.numbering.dense_codes`, exact): on a part
    of 10 M calls that is a fraction of a second instead of 7.6 seconds for ``unique``, a sort
    and two joins on the strings. The identifiers are left in the order of their hashes: sorting
    a part's million distinct strings cost 1.9 CPU-seconds and nothing reads them in order (the
    parts' identifiers are numbered again, together, when combined).
    """
    codes, distinct = dense_codes(values)
    return distinct.rename("identifier"), codes


def combined_ties(
    store: Store,
    *,
    window: Window = Window(),
    channels: tuple[str, ...] = CHANNELS,
    settings: Settings | None = None,
) -> pl.DataFrame:
    """The tie table of :func:`relmine.graph.tie_features`, from the per-part aggregates.

    Parts whose aggregate is cached are not read; the others are read once and cached
    (:func:`part_aggregate`). Aggregates of parts that are no longer in the store are removed.

    Parameters
    ----------
    store, window, channels, settings
        As for :func:`relmine.graph.tie_features`.

    Returns
    -------
    DataFrame
        The same table, to the byte, as :func:`relmine.graph.tie_features`.

    Raises
    ------
    StoreError
        As :func:`relmine.graph.tie_features`: no events in the window.

    Examples
    --------
    >>> ties = combined_ties(Store.open(Path("relmine-store")))  # doctest: +SKIP
    """
    settings = settings or store.settings
    combined = _combined_rows(store, window, channels, settings)
    if combined is None:  # nothing to combine: the events path says what is missing
        return tie_features(store, window=window, channels=channels, settings=settings)
    rows, names, count = combined
    ties = _aggregate(rows, settings, window, row_count=count)
    return _finish_ties(ties, names, store, settings, window)


def combined_party_cells(
    store: Store, *, window: Window = Window(), settings: Settings | None = None
) -> pl.DataFrame:
    """:func:`relmine.graph.party_cells` from the per-part aggregates (the same table)."""
    settings = settings or store.settings
    combined = _combined_rows(store, window, ("voice", "sms"), settings)
    if combined is None:
        return party_cells(store, window=window, settings=settings, aggregates=False)
    rows, names, _ = combined
    cells = _cells_of_parties(rows)
    return cells.with_columns(node_id=names.gather(cells["node_id"])).sort("node_id")


def _combined_rows(
    store: Store, window: Window, channels: tuple[str, ...], settings: Settings
) -> tuple[pl.LazyFrame, pl.Series, int] | None:
    """The parts' aggregated rows in the window and channels, ``u, v`` as vertex numbers.

    Returns the rows, the sorted node ids the numbers stand for, and the parts' rows before
    the window and channels (an upper bound of the rows, from the files' metadata); None
    without any part.
    """
    tables = ["cdr"] if {"voice", "sms"} & set(channels) else []
    tables += ["bank"] if "bank" in channels else []
    parts = [(t, p) for t in tables for p in store.manifest["tables"].get(t, [])]
    _prune(store, settings)
    # Two parts at a time: one part's build leaves a core idle in its single-threaded steps
    # (numbering, writing the cache), which the other's fills. On the 1 M world's 12 parts,
    # 16-17 instead of 19-22 s, for one more part's events in memory (about 0.7 GB).
    with ThreadPoolExecutor(max_workers=PART_WORKERS) as pool:
        built = list(pool.map(lambda part: part_aggregate(store, *part, settings), parts))
    aggregates = [(t, aggregate) for (t, _), aggregate in zip(parts, built, strict=True)]
    if not aggregates:
        return None
    # Every part's identifiers numbered at once by hash (exact), so that a part's vertex numbers
    # are a gather, not a join on the strings: for the 12 parts of a 10 M-call world (8 M
    # identifiers) about 1.7 instead of 4.7 seconds.
    codes, ids = dense_codes(pl.concat([a.ids for _, a in aggregates]))
    numbers, names = _numbers(ids, node_map(store).collect())
    vertex = numbers["i"]  # in the order of ``ids``
    frames = []
    start = 0
    for _, aggregate in aggregates:
        lookup = vertex.gather(codes.slice(start, aggregate.ids.len()))
        start += aggregate.ids.len()
        rows = _chosen(aggregate.rows, window, channels).with_columns(
            u=pl.lit(lookup).gather(pl.col("u")), v=pl.lit(lookup).gather(pl.col("v"))
        )
        frames.append(rows.filter(pl.col("u") != pl.col("v")))
    banks = [a for t, a in aggregates if t == "bank"]
    if banks:
        frames += _twice_booked(banks, numbers, window, settings)
    count = sum(a.rows.select(pl.len()).collect().item() for _, a in aggregates)
    return pl.concat(frames, how="vertical_relaxed"), names, count


def _numbers(ids: pl.Series, nodes: pl.DataFrame) -> tuple[pl.DataFrame, pl.Series]:
    """Each identifier's vertex number (``identifier``, ``i``, in the order of the distinct
    ``ids``) and the sorted node ids.

    Vertex numbers are the nodes' ranks among the sorted node ids, as in
    :func:`relmine.graph.relationship_events` (``coded``), so the ties sort the same way.
    """
    table = (
        ids.to_frame("identifier")
        .join(nodes, on="identifier", how="left", maintain_order="left")
        .with_columns(pl.coalesce("node_id", "identifier").alias("node_id"))
    )
    # ``nodes`` has one row per identifier (:func:`relmine.register.node_map`), so the rows stay
    # one per identifier, in order; no join back on the node ids' strings.
    names, ranks = sorted_ranks(table["node_id"])
    numbered = pl.DataFrame(
        {"identifier": table["identifier"], "i": pl.Series(ranks, dtype=pl.UInt32)}
    )
    return numbered, names


def _chosen(rows: pl.LazyFrame, window: Window, channels: tuple[str, ...]) -> pl.LazyFrame:
    """The rows in the window (local dates) and of the chosen channels."""
    keep = pl.col("channel").cast(pl.String).is_in(list(channels))
    if window.since is not None:
        keep &= pl.col("day") >= window.since
    if window.until is not None:
        keep &= pl.col("day") <= window.until
    return rows.filter(keep)


def _twice_booked(
    banks: list[PartAggregate], numbers: pl.DataFrame, window: Window, settings: Settings
) -> list[pl.DataFrame]:
    """Rows that take back the second booking of transfers booked in two or more parts.

    Such a transfer is counted once in each part's aggregate; its bookings have the same local
    time, so only parts whose days overlap can share one, and only their transfers are read.
    The rows' first and last times are null: the transfer itself stays, so its times do too.
    """
    day = pl.col("day").dt.epoch("d")
    # a part without rows spans [1, 0]: it overlaps nothing
    days = [
        a.rows.select(day.min().fill_null(1), day.max().fill_null(0).alias("to")) for a in banks
    ]
    spans = pl.concat(days).collect().to_numpy()
    overlap = (spans[:, None, 0] <= spans[None, :, 1]) & (spans[None, :, 0] <= spans[:, None, 1])
    np.fill_diagonal(overlap, False)
    shared = [a.transfers for a, hit in zip(banks, overlap.any(axis=1), strict=True) if hit]
    if not shared:
        return []
    # Each part's transfers are distinct already, so a transfer booked twice has its hash in two
    # parts. Only hashes are gathered (8 bytes a transfer: all 73 M of the 50 M-row world's
    # statements overlap in days), and only the transfers whose hash repeats are read whole and
    # grouped by their values, which stays exact when two transfers share a hash.
    key = pl.struct(*TRANSFER_KEY).hash(0)
    hashes = [window.filter(t).select(key).collect(engine="streaming") for t in shared]
    every = np.concatenate([h.to_series().to_numpy() for h in hashes])
    del hashes
    every.sort()
    repeated = np.unique(every[1:][every[1:] == every[:-1]])
    del every
    if not len(repeated):
        return []
    candidates = pl.Series(repeated)
    transfers = pl.concat(
        [window.filter(t).filter(key.is_in(candidates.implode())) for t in shared]
    )
    twice = (
        transfers.group_by(*TRANSFER_KEY)
        .agg(_k=pl.len().cast(pl.Int64))
        .filter(pl.col("_k") > 1)
        .collect()
    )
    rows = _event_rows(_transfer_events(twice.lazy()), settings).collect()
    taken = -(twice["_k"] - 1)
    rows = rows.with_columns(
        *[pl.col(c) * taken for c in ROW_SUMS],
        pl.col("cell_id").cast(pl.String),
        first=pl.lit(None, rows["first"].dtype),
        last=pl.lit(None, rows["last"].dtype),
    )
    for side in ("u", "v"):
        numbered = numbers.rename({"identifier": side, "i": "_i"})
        rows = rows.join(numbered, on=side).with_columns(pl.col("_i").alias(side)).drop("_i")
    return [rows.filter(pl.col("u") != pl.col("v")).lazy()]


def _basis(settings: Settings) -> str:
    """What a part's aggregate depends on besides the part: settings, version and code."""
    from relmine import __version__

    basis = {
        "settings": {name: getattr(settings, name) for name in PART_SETTINGS},
        "relmine": __version__,
        "code": code_digests(),
    }
    return json.dumps(basis, sort_keys=True, default=str)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _prune(store: Store, settings: Settings) -> None:
    """Remove the aggregates of parts that are no longer in the store, and the sets built with
    other settings or code than the current set and the most recently used others
    (:data:`PART_BASES_KEEP` sets in all); best effort."""
    folder = store.root / "cache" / FOLDER
    if not folder.is_dir():
        return
    live = {_digest(p) for parts in store.manifest["tables"].values() for p in parts}
    current = _digest(_basis(settings))
    used: dict[str, float] = {}  # basis -> when one of its aggregates was last used
    kept: list[tuple[Path, str]] = []
    for path in folder.glob("*.parquet"):
        part, _, rest = path.name.partition("-")
        if part not in live:
            _remove(path)
            continue
        basis = rest.split(".", 1)[0]
        try:
            used[basis] = max(used.get(basis, 0.0), path.stat().st_mtime)
        except OSError:
            continue
        kept.append((path, basis))
    others = sorted((b for b in used if b != current), key=lambda b: used[b], reverse=True)
    keep = {current, *others[: PART_BASES_KEEP - 1]}
    for path, basis in kept:
        if basis not in keep:
            _remove(path)


def _remove(path: Path) -> None:
    """Delete a cached file; a read-only store keeps it."""
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _cache_frame(frame: pl.DataFrame, folder: Path, path: Path) -> bool:
    """Write ``frame`` to ``path`` atomically, owner-only; False when it could not be written."""
    tmp = folder / f".{path.name}.{uuid.uuid4().hex}.tmp"
    try:
        folder.parent.mkdir(mode=DIR_MODE, exist_ok=True)
        folder.mkdir(mode=DIR_MODE, exist_ok=True)
        # no statistics: the rows are in no order, so they would prune nothing, and cost a
        # quarter of the write
        frame.write_parquet(tmp, compression="zstd", compression_level=1, statistics=False)
        os.chmod(tmp, FILE_MODE)
        os.replace(tmp, path)
        return True
    except (OSError, pl.exceptions.PolarsError):
        return False  # best effort (disk full, read-only store): the aggregate is used all same
    finally:
        tmp.unlink(missing_ok=True)
