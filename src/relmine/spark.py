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
import datetime as dt
import os
import shutil
import warnings
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

import polars as pl

from relmine.config import Settings
from relmine.errors import ConfigError, StoreError
from relmine.graph import (
    CHANNELS,
    Window,
    _add_home_distance,
    _cache_ties,
    _pair_measures,
    _tie_key,
    _weigh,
    _window_text,
)
from relmine.register import node_map
from relmine.store import Store

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["SparkUnavailable", "spark_session", "spark_tie_features"]

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
    nodes = _register(spark, store)
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
    aggregated = rows.groupBy("a", "b").agg(
        _sum("_voice").alias("voice_n"),
        _sum("_voice_s").alias("voice_s"),
        _sum("_sms").alias("sms_n"),
        _sum("_bank").alias("bank_n"),
        _sum("_cents").alias("_cents"),
        _sum("_ab").alias("events_ab"),
        F.count(F.lit(1)).alias("_n"),
        F.countDistinct("_day").alias("active_days"),
        F.min("ts_local").alias("first_at"),
        F.max("ts_local").alias("last_at"),
        *[_sum(f"_{k}").alias(f"_{k}") for k in _SHARES],
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
        "events_ab",
        (F.col("_n") - F.col("events_ab")).alias("events_ba"),
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


def _shared_cells(ties: DataFrame, events: DataFrame, settings: Settings) -> DataFrame:
    """Spark's :func:`relmine.graph._shared_cells`: add ``shared_rest_cells`` to the ties."""
    from pyspark.sql import functions as F

    flags = _flags(settings)
    rest = flags["night"] | flags["evening"] | flags["weekend"]
    cells = (
        events.filter(F.col("cell_id").isNotNull() & (F.col("channel") != "bank") & rest)
        .select(F.col("u").alias("node_id"), "cell_id")
        .distinct()
    )
    pairs = ties.select("a", "b")
    shared = (
        pairs.join(cells.withColumnRenamed("node_id", "a"), on="a")
        .join(cells.withColumnRenamed("node_id", "b"), on=["b", "cell_id"])
        .groupBy("a", "b")
        .agg(F.count(F.lit(1)).alias("shared_rest_cells"))
    )
    known = cells.select("node_id").distinct()
    return (
        ties.join(shared, on=["a", "b"], how="left")
        .join(known.select(F.col("node_id").alias("a"), F.lit(True).alias("_ka")), "a", "left")
        .join(known.select(F.col("node_id").alias("b"), F.lit(True).alias("_kb")), "b", "left")
        .withColumn(
            "shared_rest_cells",
            F.when(
                F.col("_ka") & F.col("_kb"), F.coalesce(F.col("shared_rest_cells"), F.lit(0))
            ).cast("long"),
        )
        .drop("_ka", "_kb")
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


def _spark_ties(events: DataFrame, settings: Settings) -> DataFrame:
    """The tie table without weight, degrees, shares and distances, all in Spark."""
    from pyspark.sql import functions as F

    ties = _pairs(events, settings)
    homes = _homes(events, settings)
    ties = ties.join(
        homes.select(F.col("node_id").alias("a"), F.col("home_cell").alias("home_a")), "a", "left"
    ).join(
        homes.select(F.col("node_id").alias("b"), F.col("home_cell").alias("home_b")), "b", "left"
    )
    ties = ties.withColumn("same_home_cell", F.col("home_a") == F.col("home_b"))
    ties = _shared_cells(ties, events, settings)
    flows = _regular_flows(events, settings)
    ab = flows.select(F.col("u").alias("a"), F.col("v").alias("b"), F.col("monthly"))
    ba = flows.select(F.col("v").alias("a"), F.col("u").alias("b"), F.col("monthly"))
    ties = ties.join(ab.withColumnRenamed("monthly", "bank_regular_ab"), ["a", "b"], "left")
    ties = ties.join(ba.withColumnRenamed("monthly", "bank_regular_ba"), ["a", "b"], "left")
    return ties.select(*_SPARK_COLUMNS)


def _to_polars(frame: DataFrame) -> pl.DataFrame:
    """Collect a Spark frame on the driver as Arrow (``toArrow`` from Spark 4, else pandas)."""
    if hasattr(frame, "toArrow"):
        return pl.from_arrow(frame.toArrow())  # type: ignore[return-value]
    return pl.from_pandas(frame.toPandas())


def _finish(ties: pl.DataFrame, store: Store, window: Window, settings: Settings) -> pl.DataFrame:
    """The driver's part: reciprocity, span, recency, then relmine's own weight and distances."""
    schema = {c: _TIE_SCHEMA[c] for c in _SPARK_COLUMNS}
    ties = ties.select([pl.col(c).cast(t) for c, t in schema.items()])
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
            ties = _to_polars(_spark_ties(events, settings))
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
