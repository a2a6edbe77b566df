"""``--engine spark``: the event -> tie aggregation on Apache Spark, for data beyond one machine.

Raw events shrink about five times when they are folded into pairs, so the stage worth
distributing is the one from events to the tie table; the graph stages (communities, households,
influencers) then run unchanged, with igraph, on one large machine. :func:`spark_tie_features`
computes the same table as :func:`relmine.graph.tie_features` -- every column, the same semantics
-- with the heavy per-event work in Spark: reading the store's event parts, resolving identifiers
to nodes through the register, de-duplicating mirrored transfers, and every group-by over events
(pairs, home cells, rest cells shared by a pair, regular monthly flows). Only the aggregated ties
come back to the driver, where the small finishing steps reuse relmine's own Polars code
(:func:`relmine.graph._weigh` for ``weight``, degrees and shares, and
:func:`relmine.graph._add_home_distance`), so those are written once.

The two implementations are kept side by side (Polars in :mod:`relmine.graph`, Spark here) and
the test suite proves them equal on the sample world: same rows, integer columns exact, floats
within 1e-9 relative. Exact sums use whole cents; money is rounded half to even (``bround``) as
Polars rounds.

PySpark is an optional extra (``pip install 'relmine[spark]'``) and needs Java 17; it is imported
only when the Spark engine is used. The Spark master is ``--spark-master``, else ``$SPARK_MASTER``,
else Spark's own configuration (``spark-defaults.conf``, ``PYSPARK_SUBMIT_ARGS``), else
``local[*]``. On a cluster the store must be on storage every executor can read (a shared file
system mounted at the same path).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import os
import shutil
import uuid
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from relmine.config import Settings
from relmine.errors import ConfigError, StoreError
from relmine.graph import (
    CHANNELS,
    Window,
    _add_home_distance,
    _cache_ties,
    _join_homes,
    _pair_measures,
    _tie_key,
    _weigh,
    _window_text,
)
from relmine.ingest.dialect import utf8_file
from relmine.register import node_map
from relmine.store import TABLES, Store, Transaction

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

    from relmine.ingest.core import FileResult, IngestReport, _Planned

__all__ = [
    "SPARK_KINDS",
    "SparkUnavailable",
    "spark_ingest",
    "spark_session",
    "spark_tie_features",
]

#: The tie table's columns and types, in :func:`relmine.graph.tie_features`' order.
_TIE_SCHEMA: dict[str, pl.DataType] = {
    "a": pl.String(),
    "b": pl.String(),
    "weight": pl.Float64(),
    "voice_n": pl.Int64(),
    "voice_s": pl.Int64(),
    "sms_n": pl.Int64(),
    "bank_n": pl.Int64(),
    "bank_amount": pl.Float64(),
    "events_ab": pl.Int64(),
    "events_ba": pl.Int64(),
    "active_days": pl.Int64(),
    "first_at": pl.Datetime("us"),
    "last_at": pl.Datetime("us"),
    "night_share": pl.Float64(),
    "evening_share": pl.Float64(),
    "weekend_share": pl.Float64(),
    "work_share": pl.Float64(),
    "reciprocity": pl.Float64(),
    "span_days": pl.Float64(),
    "recency_days": pl.Float64(),
    "home_a": pl.String(),
    "home_b": pl.String(),
    "same_home_cell": pl.Boolean(),
    "home_distance_km": pl.Float64(),
    "shared_rest_cells": pl.Int64(),
    "bank_regular_ab": pl.Float64(),
    "bank_regular_ba": pl.Float64(),
    "degree_a": pl.Int64(),
    "degree_b": pl.Int64(),
    "share_a": pl.Float64(),
    "share_b": pl.Float64(),
}

#: Columns computed by Spark, before the driver adds weight, degrees, shares and distances.
_SPARK_COLUMNS = [
    c
    for c in _TIE_SCHEMA
    if c
    not in {
        "weight",
        "reciprocity",
        "span_days",
        "recency_days",
        "home_distance_km",
        "degree_a",
        "degree_b",
        "share_a",
        "share_b",
    }
]


class SparkUnavailable(ConfigError):
    """``--engine spark`` was asked for, but PySpark or Java is not installed."""


def _pyspark() -> Any:
    """Import PySpark, or say how to install it and Java."""
    try:
        import pyspark
    except ImportError:
        raise SparkUnavailable(
            "--engine spark needs PySpark: pip install 'relmine[spark]' (and Java 17, e.g. "
            "apt-get install openjdk-17-jre-headless); or use --engine polars"
        ) from None
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise SparkUnavailable(
            "--engine spark needs Java 17: install it (e.g. apt-get install "
            "openjdk-17-jre-headless) or set JAVA_HOME; or use --engine polars"
        )
    return pyspark


@contextlib.contextmanager
def spark_session(master: str | None = None) -> Iterator[SparkSession]:
    """The Spark session to run on: the active one, else a new one stopped at the end.

    Parameters
    ----------
    master : str, optional
        Spark master URL (``local[4]``, ``spark://host:7077``, ``yarn``, ...); else
        ``$SPARK_MASTER``; else whatever Spark's own configuration says (``spark-defaults.conf``,
        ``PYSPARK_SUBMIT_ARGS``), which is ``local[*]`` when it says nothing.

    Raises
    ------
    SparkUnavailable
        If PySpark or Java is missing, or Spark cannot start.

    Notes
    -----
    Spark's logs are set to ERROR and its console progress bar off: relmine's logs never show
    identifiers, and Spark's warnings could quote parts of a query plan.
    """
    _pyspark()
    from pyspark.sql import SparkSession

    # PySpark warns that it is not tested with pandas 3; relmine only hands it Arrow data
    warnings.filterwarnings("ignore", message="PySpark does not yet", category=FutureWarning)
    active = SparkSession.getActiveSession()
    if active is not None:  # e.g. inside a notebook or a test fixture: use it, leave it running
        yield active
        return
    builder = SparkSession.builder.appName("relmine")
    master = master or os.environ.get("SPARK_MASTER")
    if master:
        builder = builder.master(master)
    builder = builder.config("spark.ui.showConsoleProgress", "false").config(
        "spark.sql.session.timeZone", "UTC"
    )
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # a JVM that does not start: no data in this message
        raise SparkUnavailable(
            f"Spark did not start ({type(exc).__name__}); check Java 17 (java -version), "
            "JAVA_HOME and the master URL, or use --engine polars"
        ) from None
    session.sparkContext.setLogLevel("ERROR")
    try:
        yield session
    finally:
        session.stop()


def _parts(store: Store, table: str) -> list[str]:
    return [str(store.root / p) for p in store.manifest["tables"].get(table, [])]


def _ntz(day: dt.date) -> Column:
    from pyspark.sql import functions as F

    return F.expr(f"TIMESTAMP_NTZ '{day.isoformat()} 00:00:00'")


def _in_window(frame: DataFrame, window: Window) -> DataFrame:
    from pyspark.sql import functions as F

    if window.since is not None:
        frame = frame.filter(F.col("ts_local") >= _ntz(window.since))
    if window.until is not None:
        frame = frame.filter(F.col("ts_local") < _ntz(window.until + dt.timedelta(days=1)))
    return frame


def _register(spark: SparkSession, store: Store) -> DataFrame:
    """The register's ``identifier -> node_id`` (:func:`relmine.register.node_map`) in Spark.

    The register is small next to the events (one row per phone or account of a customer) and
    its first-listed owner of an identifier wins, which depends on the file order; so it is read
    on the driver by relmine's own code and handed to Spark as Arrow data.
    """
    table = node_map(store).collect().to_arrow()
    from pyspark.sql.types import StringType, StructField, StructType

    schema = StructType(
        [StructField("identifier", StringType()), StructField("node_id", StringType())]
    )
    if int(spark.version.split(".")[0]) >= 4:  # takes Arrow as it is
        return spark.createDataFrame(table, schema=schema)
    return spark.createDataFrame(table.to_pandas(), schema=schema)


def _events(
    spark: SparkSession, store: Store, window: Window, channels: set[str]
) -> DataFrame | None:
    """Spark's :func:`relmine.graph.relationship_events`: ``u, v, channel, ts_local, ...``."""
    from pyspark.sql import functions as F

    parts: list[DataFrame] = []
    cdr_parts = _parts(store, "cdr")
    if channels & {"voice", "sms"} and cdr_parts:
        kinds = ["voice"] if "voice" in channels else []
        kinds += ["sms", "mms"] if "sms" in channels else []
        cdr = _in_window(spark.read.parquet(*cdr_parts), window)
        cdr = cdr.filter(F.col("type").cast("string").isin(kinds))
        parts.append(
            cdr.select(
                F.col("caller").alias("u"),
                F.col("callee").alias("v"),
                F.when(F.col("type") == "voice", F.lit("voice"))
                .otherwise(F.lit("sms"))
                .alias("channel"),
                "ts_local",
                F.col("duration_s").cast("int").alias("duration_s"),
                F.lit(None).cast("double").alias("value"),
                F.col("cell_id").cast("string").alias("cell_id"),
            )
        )
    bank_parts = _parts(store, "bank")
    if "bank" in channels and bank_parts:
        bank = _in_window(spark.read.parquet(*bank_parts), window)
        bank = bank.filter(F.col("counterparty").isNotNull())
        # a transfer between two of our accounts is booked on both statements: one event
        transfers = bank.select("src", "dst", "value", "currency", "ts_utc", "ts_local").distinct()
        parts.append(
            transfers.select(
                F.col("src").alias("u"),
                F.col("dst").alias("v"),
                F.lit("bank").alias("channel"),
                "ts_local",
                F.lit(None).cast("int").alias("duration_s"),
                "value",
                F.lit(None).cast("string").alias("cell_id"),
            )
        )
    if not parts:
        return None
    events = parts[0]
    for part in parts[1:]:
        events = events.unionByName(part)
    # the register is a dimension table (one row per phone or account of a customer): sent to
    # every executor whole, so the events are joined to it where they are, without a shuffle
    nodes = F.broadcast(_register(spark, store))
    for side in ("u", "v"):
        named = nodes.withColumnRenamed("identifier", side).withColumnRenamed("node_id", "_n")
        events = (
            events.join(named, on=side, how="left")
            .withColumn(side, F.coalesce(F.col("_n"), F.col(side)))
            .drop("_n")
        )
    return events.filter(
        F.col("u").isNotNull() & F.col("v").isNotNull() & (F.col("u") != F.col("v"))
    )


def _flags(settings: Settings) -> dict[str, Column]:
    """Spark's :func:`relmine.graph._hour_flags` (local time; Spark's Sunday is 1, Saturday 7)."""
    from pyspark.sql import functions as F

    hour = F.hour("ts_local")
    weekday = F.dayofweek("ts_local")
    workday = (weekday >= 2) & (weekday <= 6)
    return {
        "night": (hour >= settings.night_start) | (hour < settings.night_end),
        "evening": (hour >= settings.evening_start) & (hour < settings.night_start),
        "weekend": ~workday,
        "work": workday & (hour >= settings.work_start) & (hour < settings.work_end),
    }


def _cents(value: Column) -> Column:
    """Money as whole cents, rounded half to even as :func:`relmine.graph._cents` does."""
    from pyspark.sql import functions as F

    return F.bround(value * F.lit(100.0), 0).cast("long")


def _sum(column: str) -> Column:
    """A sum that is 0, not null, over no values (as Polars sums)."""
    from pyspark.sql import functions as F

    return F.coalesce(F.sum(column), F.lit(0).cast("long"))


def _pairs(events: DataFrame, settings: Settings) -> DataFrame:
    """Per pair ``a < b``: counts, durations, cents, directions, days, extremes and shares."""
    from pyspark.sql import functions as F

    flags = _flags(settings)
    phone = F.col("channel") != "bank"
    voice = F.col("channel") == "voice"
    rows = events.select(
        F.least("u", "v").alias("a"),
        F.greatest("u", "v").alias("b"),
        "ts_local",
        voice.cast("long").alias("_voice"),
        F.when(voice, F.col("duration_s")).otherwise(0).cast("long").alias("_voice_s"),
        (F.col("channel") == "sms").cast("long").alias("_sms"),
        (~phone).cast("long").alias("_bank"),
        F.when(~phone, _cents(F.col("value"))).otherwise(0).alias("_cents"),
        (F.col("u") <= F.col("v")).cast("long").alias("_ab"),
        F.to_date("ts_local").alias("_day"),
        *[(flags[k] & phone).cast("long").alias(f"_{k}") for k in _SHARES],
    )
    # per pair and day first, then per pair: the days are counted as groups, not by a distinct
    # count (which Spark evaluates by copying every row once per distinct aggregate)
    sums = ["_voice", "_voice_s", "_sms", "_bank", "_cents", "_ab", *[f"_{k}" for k in _SHARES]]
    daily = rows.groupBy("a", "b", "_day").agg(
        *[_sum(c).alias(c) for c in sums],
        F.count(F.lit(1)).alias("_n"),
        F.min("ts_local").alias("first_at"),
        F.max("ts_local").alias("last_at"),
    )
    names = {"_voice": "voice_n", "_voice_s": "voice_s", "_sms": "sms_n", "_bank": "bank_n"}
    aggregated = daily.groupBy("a", "b").agg(
        *[F.sum(c).alias(names.get(c, c)) for c in [*sums, "_n"]],
        F.count(F.lit(1)).alias("active_days"),
        F.min("first_at").alias("first_at"),
        F.max("last_at").alias("last_at"),
    )
    n_phone = F.col("voice_n") + F.col("sms_n")
    return aggregated.select(
        "a",
        "b",
        "voice_n",
        "voice_s",
        "sms_n",
        "bank_n",
        (F.col("_cents") / F.lit(100.0)).alias("bank_amount"),
        F.col("_ab").alias("events_ab"),
        (F.col("_n") - F.col("_ab")).alias("events_ba"),
        "active_days",
        "first_at",
        "last_at",
        *[F.when(n_phone > 0, F.col(f"_{k}") / n_phone).alias(f"{k}_share") for k in _SHARES],
    )


_SHARES = ("night", "evening", "weekend", "work")


def _homes(events: DataFrame, settings: Settings) -> DataFrame:
    """Spark's :func:`relmine.graph.home_cells`: ``node_id``, ``home_cell``."""
    from pyspark.sql import Window as W
    from pyspark.sql import functions as F

    flags = _flags(settings)
    basis = (
        F.when(flags["night"], F.lit(0))
        .when(flags["evening"] | flags["weekend"], F.lit(1))
        .alias("basis")
    )
    phone = events.filter(F.col("cell_id").isNotNull() & (F.col("channel") != "bank"))
    counts = (
        phone.select("u", "cell_id", basis)
        .filter(F.col("basis").isNotNull())
        .groupBy("u", "basis", "cell_id")
        .agg(F.count(F.lit(1)).alias("n"))
    )
    order = W.partitionBy("u").orderBy(F.col("basis"), F.col("n").desc(), F.col("cell_id"))
    return (
        counts.withColumn("_rank", F.row_number().over(order))
        .filter(F.col("_rank") == 1)
        .select(F.col("u").alias("node_id"), F.col("cell_id").alias("home_cell"))
    )


def _shared_cells(pairs: DataFrame, events: DataFrame, settings: Settings) -> DataFrame:
    """Spark's shared rest-time cells (:func:`relmine.graph._side_columns`).

    ``a``, ``b``, ``shared_rest_cells``.

    One row per pair of ``pairs``; null where either party's cells are unknown.
    """
    from pyspark.sql import functions as F

    flags = _flags(settings)
    rest = flags["night"] | flags["evening"] | flags["weekend"]
    cells = (
        events.filter(F.col("cell_id").isNotNull() & (F.col("channel") != "bank") & rest)
        .select(F.col("u").alias("node_id"), "cell_id")
        .distinct()
    )
    shared = (
        pairs.join(cells.withColumnRenamed("node_id", "a"), on="a")
        .join(cells.withColumnRenamed("node_id", "b"), on=["b", "cell_id"])
        .groupBy("a", "b")
        .agg(F.count(F.lit(1)).alias("shared_rest_cells"))
    )
    known = cells.select("node_id").distinct()
    both = F.col("_ka") & F.col("_kb")
    return (
        pairs.join(shared, on=["a", "b"], how="left")
        .join(known.select(F.col("node_id").alias("a"), F.lit(True).alias("_ka")), "a", "left")
        .join(known.select(F.col("node_id").alias("b"), F.lit(True).alias("_kb")), "b", "left")
        .select(
            "a",
            "b",
            F.when(both, F.coalesce(F.col("shared_rest_cells"), F.lit(0)))
            .cast("long")
            .alias("shared_rest_cells"),
        )
    )


def _regular_flows(events: DataFrame, settings: Settings) -> DataFrame:
    """Spark's :func:`relmine.graph._regular_flows`: ``u``, ``v``, ``monthly``.

    The moments of the amounts are exact integers of cents (``decimal(38, 0)`` here, Int128 in
    Polars), so the mean and spread are the same floating-point numbers on both engines.
    """
    from pyspark.sql import functions as F

    exact = "decimal(38,0)"
    cents = _cents(F.col("value")).cast(exact)
    bank = events.filter(F.col("channel") == "bank").select(
        "u",
        "v",
        F.date_format("ts_local", "yyyy-MM").alias("_month"),
        cents.alias("_c"),
        (cents * cents).cast(exact).alias("_c2"),
        F.dayofmonth("ts_local").cast("double").alias("_day"),
    )
    flows = bank.groupBy("u", "v").agg(
        F.count(F.lit(1)).alias("n"),
        F.countDistinct("_month").alias("months"),
        F.sum("_c").cast(exact).alias("s1"),
        F.sum("_c2").cast(exact).alias("s2"),
        F.stddev_pop("_day").alias("day_sd"),
    )
    n = F.col("n").cast("double")
    spread = (F.col("n").cast(exact) * F.col("s2") - F.col("s1") * F.col("s1")).cast(exact)
    var = spread.cast("double") / (n * n)
    mean = F.col("s1").cast("double") / n
    cv = F.when(mean != 0, F.sqrt(var) / F.abs(mean)).otherwise(F.lit(0.0))
    regular = (
        (F.col("months") >= settings.regular_min_months)
        & (F.col("n") <= F.col("months") + 1)
        & (cv <= settings.regular_amount_cv)
        & (F.col("day_sd") <= settings.regular_day_spread)
    )
    return flows.filter(regular).select("u", "v", (mean / F.lit(100.0)).alias("monthly"))


def _spark_ties(events: DataFrame, settings: Settings) -> pl.DataFrame:
    """The tie table without weight, degrees, shares and distances.

    Spark does every aggregation over events: the pairs, the parties' home cells, the rest
    cells a pair shares, the regular flows. The four results are each far smaller than the
    events and come to the driver, where they are joined by relmine's Polars code
    (:func:`relmine.graph._join_homes`): one pass over the ties, where joining them in Spark
    would shuffle the wide tie table once per join key.
    """
    pairs = _pairs(events, settings).persist()
    shared = _to_polars(_shared_cells(pairs.select("a", "b"), events, settings))
    ties = _to_polars(pairs)
    pairs.unpersist()
    homes = _to_polars(_homes(events, settings))
    flows = _to_polars(_regular_flows(events, settings))
    ties = _join_homes(ties.lazy(), homes.lazy()).join(shared.lazy(), on=["a", "b"], how="left")
    ties = ties.join(
        flows.lazy().select(a="u", b="v", bank_regular_ab="monthly"), on=["a", "b"], how="left"
    ).join(flows.lazy().select(a="v", b="u", bank_regular_ba="monthly"), on=["a", "b"], how="left")
    return ties.select([pl.col(c).cast(_TIE_SCHEMA[c]) for c in _SPARK_COLUMNS]).collect()


def _to_polars(frame: DataFrame) -> pl.DataFrame:
    """Collect a Spark frame on the driver as Arrow (``toArrow`` from Spark 4, else pandas)."""
    if hasattr(frame, "toArrow"):
        return pl.from_arrow(frame.toArrow())  # type: ignore[return-value]
    return pl.from_pandas(frame.toPandas())


def _finish(ties: pl.DataFrame, store: Store, window: Window, settings: Settings) -> pl.DataFrame:
    """The driver's part: reciprocity, span, recency, then relmine's own weight and distances."""
    ties = ties.with_columns(**_pair_measures(window)).sort("a", "b")
    # _weigh counts degrees by vertex number: number the nodes in sorted order, as graph does
    names = pl.concat([ties["a"], ties["b"]]).unique().sort()
    coded = ties.with_columns(
        a=names.search_sorted(ties["a"]).cast(pl.UInt32),
        b=names.search_sorted(ties["b"]).cast(pl.UInt32),
    )
    weighed = _weigh(coded, settings)
    weighed = weighed.with_columns(a=names.gather(weighed["a"]), b=names.gather(weighed["b"]))
    return _add_home_distance(weighed, store).select(
        [pl.col(c).cast(t) for c, t in _TIE_SCHEMA.items()]
    )


def spark_tie_features(
    store: Store,
    *,
    window: Window = Window(),
    channels: Iterable[str] = CHANNELS,
    settings: Settings | None = None,
    master: str | None = None,
    cache: bool = False,
) -> pl.DataFrame:
    """The tie table of :func:`relmine.graph.tie_features`, aggregated on Spark.

    With ``cache``, the table is also kept in the store's tie cache under the key
    :func:`relmine.graph.load_ties` looks for, so the commands that run after it on the same
    store, window, channels and settings (``communities``, ``households``, ``influencers``, ...)
    use it unchanged, without reading the events again (unless ``tie_cache = false``).

    Parameters
    ----------
    store : Store
        The store to read; on a cluster, on storage every executor reads at the same path.
    window, channels, settings
        As for :func:`relmine.graph.tie_features`.
    master : str, optional
        Spark master URL (see :func:`spark_session`).
    cache : bool, optional
        Keep the table in the store's tie cache.

    Returns
    -------
    DataFrame
        The same table as :func:`relmine.graph.tie_features`, sorted by ``a, b``.

    Raises
    ------
    SparkUnavailable
        If PySpark or Java is missing.
    StoreError
        If the store holds no relationship events in the window.

    Examples
    --------
    >>> ties = spark_tie_features(Store.open(Path("store")), master="local[4]")  # doctest: +SKIP
    """
    settings = settings or store.settings
    channels = tuple(c for c in CHANNELS if c in set(channels))
    with spark_session(master) as spark:
        events = _events(spark, store, window, set(channels))
        if events is None:
            ties = pl.DataFrame(schema={c: _TIE_SCHEMA[c] for c in _SPARK_COLUMNS})
        else:
            # every side table (pairs, homes, rest cells, flows) reads the resolved events:
            # resolve them once
            events = events.persist()
            ties = _spark_ties(events, settings)
            events.unpersist()
    if ties.height == 0:
        raise StoreError(
            f"no calls, messages or transfers between two parties in {store.root}"
            f"{_window_text(window)}; ingest call records or bank statements first"
        )
    ties = _finish(ties, store, window, settings)
    if cache and settings.tie_cache:
        key = _tie_key(store, window, channels, settings)
        _cache_ties(ties, store.root / "cache", store.root / "cache" / f"ties-{key}.parquet")
    return ties


# --- ingest -------------------------------------------------------------------------------------

#: Input kinds whose rows Spark reads; the register and cells are small and read by the Polars
#: engine in the same run (and the same commit).
SPARK_KINDS = ("cdr", "bank")


def spark_ingest(
    paths: Sequence[Path],
    *,
    master: str | None = None,
    **options: Any,
) -> IngestReport:
    """:func:`relmine.ingest.core.ingest` with the rows of call records and statements on Spark.

    Everything about files stays on the driver and is relmine's own code: finding the files,
    sniffing the dialect, deciding the kind, the time format, the content hash, skipping files
    already in the store, the reject-rate check and the commit. The rows of ``cdr`` and ``bank``
    files are read by Spark (one line a record), normalised by relmine's own per-row code --
    the kind readers' ``normalise`` with the identity functions (E.164 phones, IBANs),
    timestamps and reasons -- run on Arrow batches inside Spark (``mapInArrow``), so the logic
    is written once; de-duplication against the file itself and the store is a Spark
    anti-join, and Spark's executors write the parts with the store's own schema. Customers and
    cells files are small and read by the Polars engine, in the same run and commit.

    The stored events, the counts (``rows = accepted + rejected + duplicates``) and the
    rejects' reasons are the Polars engine's. The rejects' line numbers are the file's physical
    lines, which differ from the Polars engine's only after a blank line; and a quoted field
    that spans lines is not supported (neither engine reads one as one record).

    Parameters
    ----------
    paths : sequence of Path
        As for :func:`relmine.ingest.core.ingest`.
    master : str, optional
        Spark master URL (see :func:`spark_session`). On a cluster, the input files and the
        store must be on storage every executor reads at the same path.
    **options
        :func:`relmine.ingest.core.ingest`'s options (``store_dir``, ``kind``, ``region``,
        ``timezone``, ``max_reject_rate``, ``date_format``, ``wait``, ...); ``mapping`` and
        ``pseudonymize_key`` are not supported by the Spark engine and must be ``None``.

    Returns
    -------
    IngestReport

    Raises
    ------
    ConfigError
        For ``--mapping``, ``--pseudonymize``, bandicoot files or operator dumps that name the
        served subscriber (read them with ``--engine polars``).
    SparkUnavailable
        If PySpark or Java is missing.
    """
    from relmine.ingest.core import ingest

    unsupported = [
        flag
        for flag, given in (
            ("--mapping", options.get("mapping") is not None),
            ("--pseudonymize", options.get("pseudonymize_key") is not None),
            ("--kind bandicoot", options.get("kind") == "bandicoot"),
        )
        if given
    ]
    if unsupported:
        raise ConfigError(
            f"--engine spark does not support {', '.join(unsupported)}; ingest those files with "
            "--engine polars (the default), then run the other files with --engine spark"
        )
    with spark_session(master) as spark:
        return ingest(paths, **options, read_file=functools.partial(_read_file, spark))


def _read_file(
    spark: SparkSession,
    plan: _Planned,
    txn: Transaction,
    result: FileResult,
    settings: Settings,
    **polars_only: Any,
) -> None:
    """Read one planned file into the transaction: ``cdr``/``bank`` on Spark, else Polars."""
    from relmine.ingest import core

    layout = plan.layout
    if layout.kind not in SPARK_KINDS:
        core._read_file(plan, txn, result, settings, **polars_only)
        return
    if plan.kind == "bandicoot" or layout.subscriber_centric or layout.mapping.time_origin:
        raise ConfigError(
            f"{plan.path.name}: --engine spark reads canonical call records and statements; "
            "read this file with --engine polars"
        )
    table = layout.kind
    work = txn.staging / f".spark-{uuid.uuid4().hex}"
    try:
        with utf8_file(plan.path, plan.dialect) as readable:
            normalised = _normalise(spark, plan, readable, result.path, settings, work)
        _store_rows(spark, normalised, table, txn, result, settings, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # Spark's own files never reach the commit


def _spark_type(dtype: pl.DataType) -> str:
    """The Spark SQL type of a store column."""
    if isinstance(dtype, pl.Datetime):
        return "timestamp" if dtype.time_zone else "timestamp_ntz"
    names = {pl.Int32: "int", pl.Int64: "long", pl.Float64: "double", pl.Boolean: "boolean"}
    return names.get(type(dtype), "string")  # strings and the event type (an Enum)


#: Columns every normalised row carries besides its table's: where it came from, and why and
#: as what it was rejected (null for good rows).
_REJECT_COLUMNS = {
    "file": pl.String(),
    "line": pl.Int64(),
    "reason": pl.String(),
    "raw": pl.String(),
}


def _numbered_lines(spark: SparkSession, path: Path, skip: int) -> DataFrame:
    """The file's lines after the header, with their 1-based line numbers (``_line``, ``value``).

    Spark splits a file into partitions by byte range; ``monotonically_increasing_id`` holds the
    partition in its high bits and the record's position in the partition in its low 33 bits,
    so a line's number is the lines of the partitions before it (ordered by the byte at which
    they start) plus its position: two passes over the text, no shuffle, no Python per line.
    """
    from pyspark.sql import functions as F

    lines = spark.read.text(str(path)).select(
        "value",
        F.monotonically_increasing_id().alias("_id"),
        F.input_file_block_start().alias("_start"),
    )
    part = F.shiftright("_id", 33)
    sizes = (
        lines.groupBy(part.alias("_part")).agg(F.min("_start").alias("s"), F.count("*").alias("n"))
    ).collect()
    offsets, seen = [], 0
    for row in sorted(sizes, key=lambda r: (r["s"], r["_part"])):
        offsets.append((int(row["_part"]), seen))
        seen += int(row["n"])
    before = spark.createDataFrame(offsets, "_part long, _before long")
    position = F.col("_id").bitwiseAND(F.lit((1 << 33) - 1))
    numbered = lines.join(F.broadcast(before), part == F.col("_part")).select(
        (F.col("_before") + position + 1).alias("_line"), "value"
    )
    # the header (and lines before it) are not rows; nor are blank lines (as for Polars)
    return numbered.filter((F.col("_line") > 1 + skip) & (F.trim("value") != ""))


def _normaliser(plan: _Planned, shown: str, settings: Settings, arrow: Any) -> Any:
    """The function Spark runs on each Arrow batch of numbered lines: relmine's own reading.

    A batch's lines are parsed by :func:`relmine.ingest.core.scan_text`, prepared by the
    layout and normalised by the kind's reader (:func:`relmine.ingest.core._normalise`), exactly
    as the Polars engine does with each batch of a file; the result is the table's columns plus
    ``file``, ``line``, ``reason`` and ``raw`` (the rejected row as written).
    """

    def normalise(batches: Iterator[Any]) -> Iterator[Any]:
        import tempfile

        from relmine.ingest import core

        reader = core._readers()[plan.layout.kind]
        table = reader.TABLE
        columns = list(TABLES[table])
        ctx = core.ReadContext(
            path=Path(shown),
            dialect=plan.dialect,
            settings=settings,
            existing=pl.LazyFrame(schema=TABLES[table]),
            layout=plan.layout,
            time_format=plan.time_format,
        )
        unskipped = dataclasses.replace(plan.dialect, skip=0)
        for batch in batches:
            lines = pl.from_arrow(batch)
            if lines.height == 0:
                continue
            with tempfile.TemporaryDirectory(prefix="relmine-spark-") as tmp:
                text = Path(tmp) / "lines.csv"
                text.write_text("\n".join(["", *lines["value"]]) + "\n", encoding="utf-8")
                rows = core.scan_text(text, unskipped).collect()
            # the temporary file's line n is the batch's line n - 1 (its first line is empty)
            rows = rows.with_columns(_line=lines["_line"].gather(rows["_line"] - 2))
            good, rejects = core._normalise(rows, plan, reader, ctx, None, columns)
            rejects = core._rejects_text(rejects, ctx, None)
            out = pl.concat([good, rejects], how="diagonal_relaxed")
            out = out.select(
                [
                    pl.col(c).cast(pl.String if isinstance(t, pl.Enum) else t)
                    for c, t in TABLES[table].items()
                ]
                + [pl.col(c).cast(t) for c, t in _REJECT_COLUMNS.items()]
            )
            yield from out.to_arrow().cast(arrow).to_batches()

    return _quiet(normalise)


def _quiet(task: Any) -> Any:
    """``task`` (a function Spark runs on batches), failing without the data in its message.

    Spark logs an executor's failure with its Python traceback; a Polars or Arrow message can
    quote values (a phone number that did not parse), so the message is replaced by the
    error's type.
    """

    @functools.wraps(task)
    def run(batches: Iterator[Any]) -> Iterator[Any]:
        try:
            yield from task(batches)
        except Exception as exc:
            raise RuntimeError(f"relmine: {task.__name__} failed ({type(exc).__name__})") from None

    return run


def _normalise(
    spark: SparkSession, plan: _Planned, readable: Path, shown: str, settings: Settings, work: Path
) -> DataFrame:
    """Every row of the file, normalised and judged, staged as Parquet in ``work``."""
    from pyspark.sql.pandas.types import to_arrow_schema
    from pyspark.sql.types import StructType

    table = plan.layout.kind
    columns = {**TABLES[table], **_REJECT_COLUMNS}
    schema = StructType.fromDDL(", ".join(f"`{c}` {_spark_type(t)}" for c, t in columns.items()))
    arrow = to_arrow_schema(schema, timezone="UTC", prefers_large_types=_large_types(spark))
    lines = _numbered_lines(spark, readable, plan.dialect.skip)
    rows = lines.mapInArrow(_normaliser(plan, shown, settings, arrow), schema)
    batch = "spark.sql.execution.arrow.maxRecordsPerBatch"
    before = spark.conf.get(batch, None)
    spark.conf.set(batch, str(settings.spark_batch_rows))
    try:
        rows.write.parquet(str(work / "rows"))
    finally:
        if before is None:
            spark.conf.unset(batch)
        else:
            spark.conf.set(batch, before)
    return spark.read.parquet(str(work / "rows"))


def _large_types(spark: SparkSession) -> bool:
    value = spark.conf.get("spark.sql.execution.arrow.useLargeVarTypes", "false")
    return str(value).lower() == "true"


def _store_rows(
    spark: SparkSession,
    rows: DataFrame,
    table: str,
    txn: Transaction,
    result: FileResult,
    settings: Settings,
    work: Path,
) -> None:
    """Split ``rows`` into the table's new events and the rejects, write both, count them."""
    from pyspark.sql import functions as F

    columns = list(TABLES[table])
    counts = rows.groupBy("reason").count().collect()  # a null reason: the good rows
    result.rows = sum(int(r["count"]) for r in counts)
    by_reason = [r for r in counts if r["reason"] is not None]
    result.rejected = sum(int(r["count"]) for r in by_reason)
    bad = rows.filter(F.col("reason").isNotNull())
    result.rejected_by_reason = dict(
        sorted(((r["reason"], int(r["count"])) for r in by_reason), key=lambda kv: (-kv[1], kv[0]))
    )
    # one row of each group of equal rows, none that the store (or this run) already holds
    fresh = rows.filter(F.col("reason").isNull()).select(columns).dropDuplicates(columns)
    held = _parts(txn.store, table) + [str(txn.staging / n) for n in txn.parts.get(table, [])]
    if held:
        old = spark.read.parquet(*held).select(columns)
        same = [fresh[c].eqNullSafe(old[c]) for c in columns]
        fresh = fresh.join(old, functools.reduce(lambda x, y: x & y, same), "left_anti")
    accepted = _write_parts(fresh, table, txn, work / "accepted")
    rejected = _write_parts(bad.select(*_REJECT_COLUMNS), "rejects", txn, work / "rejects")
    result.accepted = sum(n for _, n in accepted)
    result.duplicates = result.rows - result.accepted - result.rejected
    if result.rows and result.rejected / result.rows > settings.max_reject_rate:
        result.status = "refused"
        for name, _ in accepted:
            txn.drop_part(table, name)
        for name, _ in rejected:
            txn.drop_part("rejects", name)
        return
    result.status = "ingested"


def _write_parts(
    frame: DataFrame, table: str, txn: Transaction, folder: Path
) -> list[tuple[str, int]]:
    """Write ``frame`` as parts of ``table`` with the store's schema; their names and rows.

    Each Spark partition is written by its executor with Polars and the store's exact schema
    (the event type as an Enum, timestamps in microseconds), so the parts are the Polars
    engine's kind; the driver then moves them into the transaction, which commits them.
    """
    schema = TABLES[table]
    target = str(folder)

    def write(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        frames = [pl.from_arrow(b) for b in batches]
        rows = sum(f.height for f in frames)
        if rows:
            Path(target).mkdir(parents=True, exist_ok=True)
            name = f"{uuid.uuid4().hex}.parquet"
            data = pl.concat(frames, how="vertical_relaxed").select(
                [pl.col(c).cast(t) for c, t in schema.items()]
            )
            data.write_parquet(Path(target) / name, compression_level=1)
            yield pa.RecordBatch.from_pydict({"name": [name], "rows": [rows]})

    written = frame.mapInArrow(_quiet(write), "name string, rows long").collect()
    parts = []
    for row in sorted(written, key=lambda r: r["name"]):
        path, name = txn.part_path(table)
        os.replace(folder / row["name"], path)
        parts.append((name, int(row["rows"])))
    return parts
