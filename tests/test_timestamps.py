"""Timestamp detection and parsing: explicit formats, offsets, the local clock and DST."""

from __future__ import annotations

import polars as pl

from relmine.ingest.timestamps import detect_timestamp_format, parse_timestamps


def _parse(values: list[str], zone: str = "Europe/Bratislava") -> pl.DataFrame:
    fmt = detect_timestamp_format(values)
    lf = parse_timestamps(pl.LazyFrame({"t": values}), pl.col("t"), fmt, timezone=zone)
    return lf.select(utc="ts_utc", local="ts_local").collect()


def test_bratislava_gap_and_overlap() -> None:
    out = _parse(
        [
            "2026-03-29 01:59:59",
            "2026-03-29 02:00:00",  # clocks go forward: 02:00-02:59 does not exist
            "2026-03-29 02:59:59",
            "2026-03-29 03:00:00",
            "2026-10-25 02:30:00",  # clocks go back: 02:30 happens twice, the earlier is taken
        ]
    )
    assert out["utc"].dt.strftime("%H:%M:%S").to_list() == [
        "00:59:59",
        None,
        None,
        "01:00:00",
        "00:30:00",
    ]
    assert out["local"].null_count() == 2


def test_offsets_are_instants_and_keep_their_local_clock() -> None:
    out = _parse(["2026-07-01T23:30:00+02:00", "2026-07-01T21:30:00Z"], zone="America/New_York")
    assert out["utc"].dt.strftime("%Y-%m-%d %H:%M").to_list() == ["2026-07-01 21:30"] * 2
    assert out["local"].dt.strftime("%H:%M").to_list() == ["23:30", "21:30"]


def test_detection_picks_the_fewest_formats() -> None:
    fmt = detect_timestamp_format(["2026-01-01 10:00:00"] * 3 + ["2026-01-01 10:00:00.25", "bad"])
    assert fmt.naive == ("%Y-%m-%d %H:%M:%S%.f",)
    assert detect_timestamp_format(["2026-01-01 10:00:00"]).naive == ("%Y-%m-%d %H:%M:%S",)
    assert detect_timestamp_format(["2026-01-01"]).naive == ("%Y-%m-%d",)
    assert detect_timestamp_format(["2026-01-01T10:00:00Z"]).with_offset
    assert detect_timestamp_format(["yesterday"]).empty


# Zones whose clocks change in unusual ways: half-hour and 30-minute shifts, negative DST, a
# skipped day (Apia, 2011), DST suspended for Ramadan, offsets with seconds (Amsterdam before
# 1937), changes at midnight (São Paulo).
_ODD_ZONES = [
    "Europe/Bratislava",
    "America/St_Johns",
    "Australia/Lord_Howe",
    "Europe/Dublin",
    "Asia/Kathmandu",
    "Pacific/Apia",
    "Africa/Casablanca",
    "Europe/Amsterdam",
    "America/Sao_Paulo",
    "UTC",
]


def test_wall_clock_times_become_the_instants_a_value_by_value_conversion_gives() -> None:
    import numpy as np

    from relmine.ingest.timestamps import _MAX_TABLE_HOURS, local_to_utc

    step = 17 * 60 + 7  # seconds: every minute of the hour is hit over the years
    windows = [
        ("1900-01-01", "1915-01-01"),
        ("1935-01-01", "1950-01-01"),
        ("2005-01-01", "2026-01-01"),
    ]
    for zone in _ODD_ZONES:
        for start, end in windows:
            seconds = np.arange(
                np.datetime64(start, "s").astype(np.int64),
                np.datetime64(end, "s").astype(np.int64),
                step,
            )
            local = pl.Series("t", seconds * 1_000_000).cast(pl.Datetime("us"))
            local = local.scatter([3, 7], None)  # missing values stay missing
            expected = local.dt.replace_time_zone(
                zone, ambiguous="earliest", non_existent="null"
            ).dt.convert_time_zone("UTC")
            got = local_to_utc(local, zone)
            assert got.dtype == pl.Datetime("us", "UTC")
            assert got.equals(expected), (zone, start)
    # values spread over more hours than a table holds are converted one by one, with equal
    # results; so is a column of nothing
    spread = pl.Series("t", [0, (_MAX_TABLE_HOURS + 5) * 3_600_000_000, None], dtype=pl.Int64).cast(
        pl.Datetime("us")
    )
    expected = spread.dt.replace_time_zone(
        "Europe/Dublin", ambiguous="earliest"
    ).dt.convert_time_zone("UTC")
    assert local_to_utc(spread, "Europe/Dublin").equals(expected)
    assert local_to_utc(spread.clear(2), "UTC").to_list() == [None, None]
