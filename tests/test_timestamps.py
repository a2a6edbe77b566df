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
