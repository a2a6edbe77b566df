"""The corporate demo world: one company's phone records, its employees, a tariff and the truth.

:func:`make_corporate_world` writes what a company feeds to ``relmine tem``: the call records of
its corporate phones (``calls.csv``), the employees register (``customers.csv``: employees with
department and cost centre, and the client companies with their phone numbers), a tariff
(``tariff.toml``, the same as ``examples/tem/tariff.toml``), a watch list of competitors'
numbers (``watch-list.csv``) and ``truth/anomalies.csv``, the anomalies planted in it.

The model
---------
Employees work in six departments. On working days they call colleagues (mostly of their own
department, some of the departments they work with), clients (sales and operations most), in
working hours; everyone has a few private contacts (family, friends) called now and then, in
the evenings and at weekends too, and everyone sometimes calls a toll-free hotline. Clients call
back. A few employees travel on business (Austria, Czechia, Germany) and call as usual while
roaming. Hours come from the profiles of :mod:`relmine.demo` (``work``, ``household``,
``evening``), sampled the same way.

Planted anomalies (``truth/anomalies.csv``: ``node_id``, ``anomaly``, ``partner``):

- ``premium``: two employees call premium-rate numbers (0900 ...);
- ``roaming_spike``: one employee on a trip to Egypt talks for hours a day while roaming;
- ``private``: two employees call one private number each at length, every evening and weekend;
- ``competitor``: two employees are in contact with numbers on the watch list.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from relmine.demo import _FEMALE, _MALE, _PROFILE_NAMES, _SURNAMES, _Period, _sample_times
from relmine.errors import ConfigError

__all__ = ["CORPORATE_TARIFF", "make_corporate_world", "run_corporate_demo"]

#: The tariff the corporate world is priced with (``examples/tem/tariff.toml`` is this text).
CORPORATE_TARIFF = (Path(__file__).parent / "tem_tariff.toml").read_text(encoding="utf-8")

_DEPARTMENTS = ("Sales", "Operations", "Finance", "IT", "HR", "Management")
_DEPARTMENT_P = np.array([0.30, 0.28, 0.12, 0.14, 0.06, 0.10])
#: Departments that work together (besides each with itself).
_WORK_WITH = {
    "Sales": ("Operations", "Management", "Finance"),
    "Operations": ("Sales", "IT"),
    "Finance": ("Management", "HR", "Sales"),
    "IT": ("Operations", "HR"),
    "HR": ("Finance", "Management"),
    "Management": ("Sales", "Finance", "HR"),
}
#: Client calls per employee and working day, by department.
_CLIENT_RATE = {"Sales": 2.0, "Operations": 1.0, "Management": 0.6}
_COLLEAGUE_RATE = 3.0  # calls to colleagues per employee and working day
_PRIVATE_PER_MONTH = 2.0  # calls and messages to each private contact
_HOTLINE_PER_MONTH = 1.0
_TRIP_COUNTRIES = ("AT", "CZ", "DE")
_CLIENTS = 40
_COMPANY_WORDS = ("Stavby", "Logistik", "Potraviny", "Elektro", "Agro", "Medical", "Software")
#: The watch list: the same numbers as ``examples/tem/watch-list.csv``.
_WATCH = (
    ("+421250101234", "Konkurencia Telekom a.s. (switchboard)"),
    ("+421250101299", "Konkurencia Telekom a.s. (sales)"),
    ("+421944555010", "Rivalis s.r.o. (head of sales)"),
)
_HOTLINES = ("+421800123456", "+421800500600", "+421850111222")
_PREMIUM = ("+421900112233", "+421900445566")


def make_corporate_world(out_dir: Path, *, employees: int = 120, seed: int = 0) -> Path:
    """Write the corporate world into ``out_dir`` and return ``out_dir``.

    Files: ``calls.csv``, ``customers.csv``, ``tariff.toml``, ``watch-list.csv`` and
    ``truth/anomalies.csv`` (see the module docstring). Everything is drawn from
    ``numpy.random.default_rng(seed)``: the same arguments give byte-identical files. The period
    is January and February 2026.

    Raises
    ------
    ConfigError
        If ``employees`` is below 30 (too few for the planted anomalies and departments).

    Examples
    --------
    >>> make_corporate_world(Path("corp"))  # doctest: +SKIP
    PosixPath('corp')
    """
    if employees < 30:
        raise ConfigError(f"employees must be at least 30 (got {employees}); try 120")
    out_dir = Path(out_dir)
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    period = _Period.make(dt.date(2026, 1, 1), 2)
    n = employees
    dept = rng.choice(len(_DEPARTMENTS), n, p=_DEPARTMENT_P)
    dept[: len(_DEPARTMENTS)] = np.arange(len(_DEPARTMENTS))  # every department has someone
    phone = _numbers(rng, 9, n, prefixes=(905, 908, 915, 917, 948))
    # clients: Bratislava fixed lines, a fifth of them Prague ones
    clients = _numbers(rng, 9, _CLIENTS, prefixes=(23, 24, 25, 26, 27)).to_numpy()
    czech = rng.random(_CLIENTS) < 0.2
    clients = np.where(czech, np.char.replace(clients.astype(str), "+4212", "+4202"), clients)
    private = _numbers(rng, 9, n * 3, prefixes=(902, 903, 904, 910, 911, 944, 949))
    streams: list[pl.DataFrame] = []
    work, household, evening = (_PROFILE_NAMES.index(p) for p in ("work", "household", "evening"))

    def add(caller, callee, count, profile, median_s, msg_p=0.0, roaming=None) -> None:
        caller, callee = np.broadcast_arrays(np.atleast_1d(caller), np.atleast_1d(callee))
        count = np.broadcast_to(np.asarray(count), caller.shape)
        idx = np.repeat(np.arange(caller.size), count)
        if not idx.size:
            return
        day, hour = _sample_times(rng, np.full(idx.size, profile), period)
        seconds = rng.integers(0, 3600, idx.size)
        msg = rng.random(idx.size) < msg_p
        dur = np.clip(np.round(rng.lognormal(np.log(median_s), 0.7, idx.size)), 5, 7200)
        streams.append(
            pl.DataFrame(
                {
                    "caller": caller[idx],
                    "callee": callee[idx],
                    "t": (day * 24 + hour) * 3600 + seconds,
                    "day": day,
                    "duration_s": np.where(msg, 0, dur).astype(np.int64),
                    "type": np.where(msg, "sms", "voice"),
                    "roaming_country": roaming,
                },
                schema_overrides={"roaming_country": pl.String},
            )
        )

    months = 2
    weeks = period.days / 7
    emp = phone.to_numpy()
    # colleagues: 80 % in the own department, the rest in the departments worked with
    for i in range(n):
        own = np.flatnonzero((dept == dept[i]) & (np.arange(n) != i))
        partners = [_DEPARTMENTS.index(d) for d in _WORK_WITH[_DEPARTMENTS[dept[i]]]]
        near = np.flatnonzero(np.isin(dept, partners))
        count = rng.poisson(_COLLEAGUE_RATE * weeks * 5)
        mine_own = (rng.random(count) < 0.8) & (own.size > 0) | (near.size == 0)
        pick = rng.integers(0, 1 << 30, count)
        peers = np.where(mine_own, own[pick % max(own.size, 1)], near[pick % max(near.size, 1)])
        add(emp[i], emp[peers], 1, work, 150.0, msg_p=0.3)
        rate = _CLIENT_RATE.get(_DEPARTMENTS[dept[i]], 0.1)
        mine = rng.choice(_CLIENTS, 6, replace=False)
        k = rng.poisson(rate * weeks * 5)
        add(emp[i], clients[mine[rng.integers(0, 6, k)]], 1, work, 240.0)
        back = rng.poisson(rate * weeks * 5 * 0.3)
        add(clients[mine[rng.integers(0, 6, back)]], emp[i], 1, work, 240.0)
        contacts = private.to_numpy()[3 * i : 3 * i + 3]
        add(emp[i], contacts, rng.poisson(_PRIVATE_PER_MONTH * months, 3), household, 120.0, 0.4)
        hotline = np.array(_HOTLINES)[rng.integers(0, 3, rng.poisson(_HOTLINE_PER_MONTH * months))]
        add(emp[i], hotline, 1, work, 200.0)
    # business trips: as usual, while roaming
    truth: list[tuple[str, str, str]] = []
    ids = pl.Series([f"E{i + 1:04d}" for i in range(n)])
    planted = rng.choice(np.arange(len(_DEPARTMENTS), n), 8, replace=False)
    travellers = rng.choice(np.setdiff1d(np.arange(n), planted), 6, replace=False)
    calls = pl.concat(streams)
    trip_days: list[pl.DataFrame] = []
    for j, who in enumerate(travellers):
        start = int(rng.integers(5, period.days - 10))
        trip_days.append(
            pl.DataFrame(
                {"caller": [emp[who]] * 4, "day": list(range(start, start + 4))},
                schema={"caller": pl.String, "day": pl.Int64},
            ).with_columns(trip=pl.lit(_TRIP_COUNTRIES[j % len(_TRIP_COUNTRIES)]))
        )
    trips = pl.concat(trip_days)
    calls = (
        calls.join(trips, on=["caller", "day"], how="left")
        .with_columns(roaming_country=pl.coalesce("roaming_country", "trip"))
        .drop("trip")
    )
    streams = [calls]
    p1, p2, r1, v1, v2, c1, c2, _ = planted.tolist()
    # premium-rate numbers
    add(emp[p1], _PREMIUM[0], 4, evening, 300.0)
    add(emp[p2], _PREMIUM[1], 2, work, 180.0)
    truth += [(ids[p1], "premium", _PREMIUM[0]), (ids[p2], "premium", _PREMIUM[1])]
    # a roaming spike: three days in Egypt, two hours of calls a day
    start = int(rng.integers(10, period.days - 10))
    for d in range(start, start + 3):
        k = 15
        day = np.full(k, d)
        hour = rng.integers(9, 22, k)
        streams.append(
            pl.DataFrame(
                {
                    "caller": [emp[r1]] * k,
                    "callee": clients[rng.integers(0, _CLIENTS, k)],
                    "t": (day * 24 + hour) * 3600 + rng.integers(0, 3600, k),
                    "day": day,
                    "duration_s": rng.integers(400, 600, k),
                    "type": ["voice"] * k,
                    "roaming_country": ["EG"] * k,
                }
            )
        )
    truth.append((ids[r1], "roaming_spike", "EG"))
    # heavy private traffic: one number, every evening and weekend
    for who in (v1, v2):
        number = private[3 * who + 2]
        add(emp[who], number, 30, evening, 600.0, msg_p=0.2)
        add(number, emp[who], 10, evening, 600.0)
        truth.append((ids[who], "private", number))
    # competitors
    add(emp[c1], _WATCH[0][0], 3, work, 400.0)
    add(_WATCH[2][0], emp[c2], 2, work, 300.0)
    add(emp[c2], _WATCH[2][0], 2, evening, 500.0, msg_p=0.5)
    truth += [(ids[c1], "competitor", _WATCH[0][0]), (ids[c2], "competitor", _WATCH[2][0])]

    _write_calls(pl.concat(streams), period, out_dir / "calls.csv")
    _write_register(rng, ids, phone, dept, clients, out_dir / "customers.csv")
    (out_dir / "tariff.toml").write_text(CORPORATE_TARIFF, encoding="utf-8")
    pl.DataFrame({"phone": [w[0] for w in _WATCH], "name": [w[1] for w in _WATCH]}).write_csv(
        out_dir / "watch-list.csv", line_terminator="\n"
    )
    pl.DataFrame(truth, schema=["node_id", "anomaly", "partner"], orient="row").sort(
        "node_id", "anomaly"
    ).write_csv(out_dir / "truth" / "anomalies.csv", line_terminator="\n")
    return out_dir


def _numbers(
    rng: np.random.Generator, digits: int, n: int, *, prefixes: tuple[int, ...]
) -> pl.Series:
    """``n`` distinct Slovak E.164 numbers of ``digits`` national digits with the prefixes."""
    prefix = np.array(prefixes)[rng.integers(0, len(prefixes), 3 * n)]
    width = digits - len(str(prefixes[0]))
    rest = rng.integers(10 ** (width - 1), 10**width, 3 * n)
    numbers = pl.Series((prefix * 10**width + rest).astype(np.int64)).unique(maintain_order=True)
    return ("+421" + numbers.head(n).cast(pl.String)).rename("phone")


def _write_calls(calls: pl.DataFrame, period: _Period, path: Path) -> None:
    """Sort by time and write; a third of the numbers in national writing (0905 ...)."""
    national = pl.col("caller").str.replace(r"^\+421", "0")
    calls.sort("t", "caller", "callee").with_row_index("i").select(
        caller=pl.when(pl.col("i") % 3 == 0).then(national).otherwise(pl.col("caller")),
        callee="callee",
        start_time=pl.concat_str(
            pl.lit(period.dates).gather(pl.col("t") // 86_400),
            pl.lit(" "),
            (pl.col("t") % 86_400 // 3600).cast(pl.String).str.zfill(2),
            pl.lit(":"),
            (pl.col("t") % 3600 // 60).cast(pl.String).str.zfill(2),
            pl.lit(":"),
            (pl.col("t") % 60).cast(pl.String).str.zfill(2),
        ),
        duration_s=pl.when(pl.col("type") == "voice").then(pl.col("duration_s").cast(pl.String)),
        type="type",
        cell_id=pl.lit(None, pl.String),
        roaming_country="roaming_country",
    ).write_csv(path, line_terminator="\n")


def _write_register(
    rng: np.random.Generator,
    ids: pl.Series,
    phone: pl.Series,
    dept: np.ndarray,
    clients: np.ndarray,
    path: Path,
) -> None:
    """Employees with department and cost centre, and the client companies."""
    n = ids.len()
    gender = rng.integers(0, 2, n)
    first = np.where(gender == 0, rng.integers(0, len(_MALE), n), rng.integers(0, len(_FEMALE), n))
    sur = rng.integers(0, len(_SURNAMES), n)
    names = [
        f"{(_MALE if g == 0 else _FEMALE)[f]} {_SURNAMES[s][g]}"
        for g, f, s in zip(gender.tolist(), first.tolist(), sur.tolist(), strict=True)
    ]
    staff = pl.DataFrame(
        {
            "customer_id": ids,
            "phone": phone,
            "name": names,
            "kind": "employee",
            "department": [_DEPARTMENTS[d] for d in dept.tolist()],
            "cost_center": [f"CC-{100 + 10 * d}" for d in dept.tolist()],
        }
    )
    words = np.array(_COMPANY_WORDS)[rng.integers(0, len(_COMPANY_WORDS), len(clients))]
    firms = pl.DataFrame(
        {
            "customer_id": [f"K{i + 1:03d}" for i in range(len(clients))],
            "phone": list(clients),
            "name": [f"{w} {_SURNAMES[i % len(_SURNAMES)][0]} s.r.o." for i, w in enumerate(words)],
            "kind": "company",
        }
    )
    pl.concat([staff, firms], how="diagonal").select(
        "customer_id", "phone", "name", "kind", "department", "cost_center"
    ).write_csv(path, line_terminator="\n")


def run_corporate_demo(directory: Path, *, seed: int = 0) -> tuple[list[tuple[str, Any]], Any]:
    """Make the corporate world in ``directory/world``, ingest it and run ``relmine tem`` on it.

    Writes ``directory/store`` (made afresh) and the tables of the expense report as
    ``directory/tem-<table>.parquet``. Returns the summary rows (the report's totals, the planted
    anomalies found and the flags that were not planted) and the
    :class:`~relmine.tem.TemResult`.
    """
    import shutil

    from relmine.ingest.core import ingest
    from relmine.output import write_table
    from relmine.store import MANIFEST, Store
    from relmine.tem import expense_report, load_tariff, load_watch_list

    directory = Path(directory)
    world = make_corporate_world(directory / "world", seed=seed)
    store_dir = directory / "store"
    if (store_dir / MANIFEST).is_file():
        shutil.rmtree(store_dir)
    ingest(
        [world / "customers.csv", world / "calls.csv"],
        store_dir=store_dir,
        region="SK",
        timezone="Europe/Bratislava",
    )
    store = Store.open(store_dir)
    result = expense_report(
        store,
        load_tariff(world / "tariff.toml"),
        watch_list=load_watch_list(world / "watch-list.csv", region="SK"),
    )
    for name, frame in result.frames().items():
        write_table(frame, str(directory / f"tem-{name}.parquet"))
    truth = pl.read_csv(world / "truth" / "anomalies.csv", infer_schema=False)
    keys = ["node_id", "anomaly", "partner"]
    found = truth.join(result.anomalies, on=keys, how="semi").height
    unplanted = result.anomalies.join(truth, on=keys, how="anti").height
    items = [
        *result.totals,
        ("planted anomalies found", f"{found} of {truth.height}"),
        ("flags not planted", unplanted),
        ("world", str(world)),
        ("store", str(store_dir)),
        ("tables", str(directory / "tem-*.parquet")),
    ]
    return items, result
