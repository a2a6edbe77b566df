"""Telco expense management: a company's own phone records, costed and read for anomalies.

A company feeds its corporate phones' call records and an employees register (customers with
``kind = employee``, ``department``, optional ``cost_center``) to relmine. :func:`expense_report`
prices every call and message with a tariff file, tells internal traffic (both ends are
employees) from external, and gives per employee or department: calls, messages, minutes, cost,
the share of traffic in working hours, the top external partners, the communication graph
between departments, and anomalies with their reason in words.

Pricing
-------
An event is billed to its caller when the caller is an employee (an incoming call costs the
company nothing). Its *destination class* decides the price:

``roaming``
    the caller was roaming (``roaming_country``), priced by that country or the default;
``internal``
    the callee is an employee too;
``premium``, ``toll_free``, ``shared_cost``, ``mobile``, ``fixed``, ``other``
    national numbers by their ``phonenumbers`` number type (``fixed_line_or_mobile`` counts as
    mobile; voip, UAN, pager, personal and unknown numbers as ``other``);
``international``
    a number of another country (premium-rate numbers abroad stay ``premium``), priced by the
    country or the default;
``short``
    a national short number (premium-rate short codes are ``premium``, free ones ``toll_free``).

A voice call of ``d > 0`` seconds bills ``setup + per_minute x b / 60`` with ``b`` the duration
rounded up to the tariff's increments (``first_s``, then ``increment_s``); an unanswered call
(0 s) costs nothing; a message bills ``per_message``. Each event is priced exactly in millionths
of the currency and totals are rounded to cents once, so totals are exact and deterministic.

Anomalies
---------
``premium``
    calls or messages to premium-rate numbers;
``roaming_spike``
    days on which the employee's roaming minutes are at least ``tem_roaming_factor`` times their
    own usual minutes a day at home (the median over days with calls, not roaming) and at least
    ``tem_roaming_min_minutes``;
``private``
    heavy traffic with one non-business number (not a company of the register, national or
    foreign mobile or fixed, in contact with at most ``tem_private_max_employees`` employees),
    mostly (``tem_private_share``) outside working hours;
``competitor``
    any call or message, either way, with a number on the watch list.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from relmine.config import Settings
from relmine.errors import ConfigError, InputError
from relmine.graph import Window
from relmine.store import Store

__all__ = [
    "BY",
    "DESTINATIONS",
    "WHAT",
    "Tariff",
    "TemResult",
    "expense_report",
    "load_tariff",
    "load_watch_list",
]

#: Destination classes of a priced event (see the module docstring).
DESTINATIONS = (
    "internal",
    "mobile",
    "fixed",
    "international",
    "premium",
    "roaming",
    "toll_free",
    "shared_cost",
    "short",
    "other",
)
#: Classes every tariff must price; the others fall back as :data:`_FALLBACK` says.
_REQUIRED = ("internal", "mobile", "fixed", "international", "premium", "roaming")
_FALLBACK = {"toll_free": None, "shared_cost": "fixed", "short": "fixed", "other": "fixed"}
_PRICE_KEYS = ("per_minute", "per_message", "setup")
_PER_COUNTRY = ("international", "roaming")
_MICRO = 1_000_000

#: Owners of the usage and partners tables.
BY = ("employee", "department")
#: Tables of a result, by the name ``relmine tem --what`` takes.
WHAT = ("usage", "partners", "departments", "anomalies", "destinations")

_NATIONAL = {
    "mobile": "mobile",
    "fixed_line_or_mobile": "mobile",
    "fixed_line": "fixed",
    "premium_rate": "premium",
    "toll_free": "toll_free",
    "shared_cost": "shared_cost",
    "short_premium": "premium",
    "short_free": "toll_free",
    "short": "short",
}
_NONE = "(none)"
#: Columns shown on a terminal, after the owner's.
_TERMINAL = {
    "usage": (
        "employees",
        "calls_internal",
        "calls_external",
        "messages_internal",
        "messages_external",
        "billed_minutes",
        "cost",
        "work_share",
        "anomalies",
        "top_partners",
    ),
    "anomalies": ("anomaly", "partner", "events", "minutes", "cost", "reason"),
}
_DESTINATION = pl.Enum(DESTINATIONS)
#: Polars engines of the large collects: joins ran about 20 % faster on the in-memory engine,
#: large group-bys (hundreds of thousands of groups) several times faster on the streaming one
#: (benchmarks/RESULTS.md, ``relmine tem``).
_ENGINE = "in-memory"
_GROUP_ENGINE = "streaming"


@dataclass(frozen=True)
class Tariff:
    """A price list: per destination class (and country), per minute, per message, per call.

    Attributes
    ----------
    currency : str
        ISO 4217 code the prices are in.
    first_s, increment_s : int
        Billing increments: a call is billed at least ``first_s`` seconds, then in steps of
        ``increment_s`` (60/60: per started minute; 1/1: per second; 60/1: first minute, then
        per second).
    prices : pl.DataFrame
        ``destination``, ``country`` (empty for the class's default), ``per_minute``,
        ``per_message``, ``setup`` in millionths of the currency.
    """

    currency: str
    first_s: int
    increment_s: int
    prices: pl.DataFrame = field(repr=False)


def load_tariff(path: Path) -> Tariff:
    """Read a tariff file (TOML; the format is in the README, section ``relmine tem``).

    Raises
    ------
    ConfigError
        If the file cannot be read, is not TOML, lacks a required class, or has a key or value
        that is not understood.

    Examples
    --------
    >>> load_tariff(Path("examples/tem/tariff.toml")).increment_s  # doctest: +SKIP
    60
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read the tariff {path}: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"the tariff {path} is not valid TOML: {exc}") from None
    where = f"tariff {path}"
    top = {"currency", "increment_s", "first_s", *DESTINATIONS}
    unknown = sorted(set(data) - top)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {unknown[0]!r}; known: currency, increment_s, first_s and the "
            f"classes {', '.join(DESTINATIONS)}"
        )
    missing = [name for name in _REQUIRED if name not in data]
    if missing:
        raise ConfigError(
            f"{where}: no [{missing[0]}] table; every tariff prices {', '.join(_REQUIRED)} "
            "(per_minute, per_message, setup)"
        )
    increment = _whole_seconds(data.get("increment_s", 60), "increment_s", where)
    first = _whole_seconds(data.get("first_s", increment), "first_s", where)
    rows: list[dict[str, Any]] = []
    for name in DESTINATIONS:
        table = data.get(name)
        if table is None:
            fallback = _FALLBACK.get(name)
            table = data[fallback] if fallback else {}
        if not isinstance(table, dict):
            raise ConfigError(f"{where}: [{name}] must be a table of prices")
        rows.append({"destination": name, "country": "", **_prices(table, name, where)})
        for key, value in table.items():
            if key in _PRICE_KEYS:
                continue
            if name not in _PER_COUNTRY or not isinstance(value, dict):
                raise ConfigError(
                    f"{where}: [{name}] has unknown key {key!r}; use {', '.join(_PRICE_KEYS)}"
                    + (
                        " or a country table such as [international.CZ]"
                        if name in _PER_COUNTRY
                        else ""
                    )
                )
            if not (len(key) == 2 and key.isalpha()):
                raise ConfigError(f"{where}: [{name}.{key}] is not an ISO 3166 country code")
            country = {**{k: table.get(k, 0) for k in _PRICE_KEYS}, **value}
            rows.append(
                {
                    "destination": name,
                    "country": key.upper(),
                    **_prices(country, f"{name}.{key}", where),
                }
            )
    currency = str(data.get("currency", "EUR")).upper()
    prices = pl.DataFrame(
        rows,
        schema={
            "destination": pl.String,
            "country": pl.String,
            "per_minute": pl.Int64,
            "per_message": pl.Int64,
            "setup": pl.Int64,
        },
    )
    return Tariff(currency=currency, first_s=first, increment_s=increment, prices=prices)


def _whole_seconds(value: Any, name: str, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{where}: {name} must be a whole number of seconds, at least 1")
    return value


def _prices(table: dict[str, Any], name: str, where: str) -> dict[str, int]:
    """The prices of one table in millionths of the currency (missing keys cost nothing)."""
    out = {}
    for key in _PRICE_KEYS:
        value = table.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise ConfigError(f"{where}: [{name}] {key} must be a number, at least 0")
        out[key] = round(value * _MICRO)
    return out


def load_watch_list(path: Path, *, region: str) -> pl.DataFrame:
    """Read a watch list of competitors' numbers: a CSV with columns ``phone`` and ``name``.

    Numbers may be written in any common form; they are normalised like the call records'.

    Returns
    -------
    pl.DataFrame
        ``phone`` (E.164), ``watch_name``; one row per number.

    Raises
    ------
    InputError
        If the file cannot be read, lacks a column, or a number is not a phone number.
    """
    from relmine.ingest.identity import phone_table

    path = Path(path)
    try:
        raw = pl.read_csv(path, infer_schema=False)
    except (OSError, pl.exceptions.PolarsError) as exc:
        raise InputError(f"cannot read the watch list {path}: {exc}") from None
    columns = {c.strip().lower(): c for c in raw.columns}
    if "phone" not in columns:
        raise InputError(
            f"the watch list {path} has no column 'phone' (found: {', '.join(raw.columns)}); "
            "write a CSV with columns phone,name"
        )
    frame = raw.select(
        raw=pl.col(columns["phone"]).str.strip_chars(),
        watch_name=pl.col(columns["name"]) if "name" in columns else pl.lit(None, pl.String),
    ).drop_nulls("raw")
    table = phone_table(frame["raw"], region=region)
    bad = table.filter(pl.col("phone").is_null())
    if bad.height:
        raise InputError(
            f"the watch list {path} has {bad.height} value(s) that are no phone number (region "
            f"{region}); fix or remove them"
        )
    return (
        frame.join(table.select("raw", "phone"), on="raw")
        .select("phone", pl.coalesce("watch_name", "phone").alias("watch_name"))
        .unique("phone", keep="first", maintain_order=True)
        .sort("phone")
    )


@dataclass(frozen=True)
class TemResult:
    """What :func:`expense_report` found.

    Attributes
    ----------
    by : str
        ``employee`` or ``department``: the owner of ``usage`` and ``partners``.
    usage : pl.DataFrame
        One row per employee (or department): traffic, minutes, cost, time shares, top partners.
    partners : pl.DataFrame
        The top external partners of each employee (or department), with their cost.
    departments : pl.DataFrame
        The internal communication graph: one row per (``from_department``,
        ``to_department``) with calls, messages, minutes and cost of the calls between them.
    anomalies : pl.DataFrame
        One row per anomaly: employee, kind, partner, figures and the reason in words.
    destinations : pl.DataFrame
        Cost and traffic per destination class (and country where priced by country).
    totals : list of (str, Any)
        Figures about the whole run, for the summary.
    currency : str
        The tariff's currency.
    """

    by: str
    usage: pl.DataFrame
    partners: pl.DataFrame
    departments: pl.DataFrame
    anomalies: pl.DataFrame
    destinations: pl.DataFrame
    totals: list[tuple[str, Any]]
    currency: str

    def frames(self) -> dict[str, pl.DataFrame]:
        """Every table by its ``--what`` name (for the HTML report and library users)."""
        return {name: getattr(self, name) for name in WHAT}

    def terminal(self, what: str) -> pl.DataFrame:
        """Table ``what`` with the columns that fit on a terminal (``-o`` writes them all)."""
        frame = self.frames()[what]
        narrow = _TERMINAL.get(what)
        if narrow is None:
            return frame
        owner = ["node_id", "department"] if self.by == "employee" else ["department"]
        return frame.select(c for c in [*owner, *narrow] if c in frame.columns)


def expense_report(
    store: Store,
    tariff: Tariff,
    *,
    by: str = "employee",
    watch_list: pl.DataFrame | None = None,
    all_customers: bool = False,
    window: Window = Window(),
    settings: Settings | None = None,
) -> TemResult:
    """Cost and read the company's phone traffic: usage, partners, departments, anomalies.

    Parameters
    ----------
    store : Store
        Holds the corporate call records and the employees register.
    tariff : Tariff
        From :func:`load_tariff`.
    by : {"employee", "department"}
        Owner of the usage and partners tables.
    watch_list : pl.DataFrame, optional
        From :func:`load_watch_list`: competitors' numbers.
    all_customers : bool
        Treat every person of the register as an employee (for a store without employees, such
        as an operator's); the department is then the ``department``, else the ``employer_id``.
    window : Window
        Local dates to keep.
    settings : Settings, optional
        Defaults to the store's.

    Returns
    -------
    TemResult

    Raises
    ------
    ConfigError
        If ``by`` is unknown or the register has no employees.

    Examples
    --------
    >>> result = expense_report(Store.open(path), load_tariff(tariff))  # doctest: +SKIP
    >>> result.usage.select("node_id", "cost").head(3)  # doctest: +SKIP
    """
    if by not in BY:
        raise ConfigError(f"unknown --by {by!r}; use one of {', '.join(BY)}")
    settings = settings or store.settings
    staff = _staff(store, all_customers=all_customers)
    events = _priced_events(store, staff, tariff, window=window, settings=settings)
    if watch_list is None:
        watch_list = pl.DataFrame(schema={"phone": pl.String, "watch_name": pl.String})
    view = _employee_view(events)
    names = _partner_names(store, watch_list)
    owner = "node_id" if by == "employee" else "department"
    pairs = _external_pairs(view)
    partners = _partners(pairs, names, owner, staff, settings)
    anomalies = _anomalies(view, pairs, names, watch_list, staff, tariff, settings)
    usage = _usage(view, partners, anomalies, owner, staff)
    departments = _department_graph(events, staff)
    destinations = _destinations(events)
    totals = _totals(events, anomalies, staff, tariff)
    return TemResult(
        by=by,
        usage=usage,
        partners=partners,
        departments=departments,
        anomalies=anomalies,
        destinations=destinations,
        totals=totals,
        currency=tariff.currency,
    )


# ---------------------------------------------------------------------------------------------
# Employees and events
# ---------------------------------------------------------------------------------------------


def _staff(store: Store, *, all_customers: bool) -> pl.DataFrame:
    """``phone -> node_id, department, cost_center`` of every employee's phone.

    ``nk`` and ``dk`` number the employees and departments in the order of their names.
    """
    customers = store.scan("customers")
    kind = "person" if all_customers else "employee"
    chosen = customers.filter(pl.col("kind") == kind)
    department = pl.coalesce("department", "employer_id") if all_customers else pl.col("department")
    per_customer = chosen.group_by("customer_id").agg(
        department=department.drop_nulls().first(),
        cost_center=pl.col("cost_center").drop_nulls().first(),
    )
    phones = (
        chosen.filter(pl.col("phone").is_not_null())
        .select("phone", "customer_id")
        .unique("phone", keep="first", maintain_order=True)
        .join(per_customer, on="customer_id")
        .select(
            "phone",
            node_id="customer_id",
            department=pl.col("department").fill_null(_NONE),
            cost_center="cost_center",
        )
        .collect(engine=_ENGINE)
        # Integer codes: the per-event tables group by them, much faster than by text.
        .with_columns(
            nk=pl.col("node_id").rank("dense").cast(pl.UInt32),
            dk=pl.col("department").rank("dense").cast(pl.UInt32),
        )
    )
    if phones.is_empty():
        hint = (
            "no person of the register has a phone"
            if all_customers
            else "the register has no employees with a phone (kind = employee); ingest an "
            "employees register with columns customer_id, phone, kind, department (and "
            "cost_center), or pass --all-customers to treat every person of the register as one"
        )
        raise ConfigError(hint)
    return phones


def _priced_events(
    store: Store, staff: pl.DataFrame, tariff: Tariff, *, window: Window, settings: Settings
) -> pl.DataFrame:
    """One row per call or message with an employee at one end, classified and priced."""
    cdr = window.filter(store.scan("cdr")).select(
        "caller", "callee", "ts_local", "duration_s", "type", "roaming_country"
    )
    codes = staff.lazy().select(key=_phone_key(pl.col("phone")), nk="nk", dk="dk")
    a = codes.rename({"key": "caller_key", "nk": "a", "dk": "a_dept"})
    b = codes.rename({"key": "callee_key", "nk": "b", "dk": "b_dept"})
    ours = (
        cdr.with_columns(
            caller_key=_phone_key(pl.col("caller")), callee_key=_phone_key(pl.col("callee"))
        )
        .join(a, on="caller_key", how="left")
        .join(b, on="callee_key", how="left")
        .filter(pl.col("a").is_not_null() | pl.col("b").is_not_null())
        .collect(engine=_ENGINE)
    )
    # The number type of every distinct outside party: one phonenumbers answer per number.
    from relmine.ingest.identity import phone_types

    outside = pl.concat(
        [
            ours.filter(pl.col("b").is_null())["callee"],
            ours.filter(pl.col("a").is_null())["caller"],
        ]
    )
    home = settings.region
    types = phone_types(outside, region=home).select(
        partner_key=_phone_key(pl.col("phone")),
        number_class=pl.when(pl.col("country") == home)
        .then(pl.col("type").replace_strict(_NATIONAL, default="other"))
        .when(pl.col("type").is_in(["premium_rate", "short_premium"]))
        .then(pl.lit("premium"))
        .when(pl.col("country").is_not_null())
        .then(pl.lit("international"))
        .otherwise(pl.lit("other")),
        number_country=pl.col("country"),
    )
    hour = pl.col("ts_local").dt.hour()
    weekend = pl.col("ts_local").dt.weekday() >= 6
    s = settings
    night = (hour >= s.night_start) | (hour < s.night_end)
    work = ~weekend & (hour >= s.work_start) & (hour < s.work_end)
    outgoing = pl.col("a").is_not_null()
    # The outside end; null for internal events, which need no number type.
    partner_phone = (
        pl.when(pl.col("b").is_null())
        .then(pl.col("callee"))
        .when(pl.col("a").is_null())
        .then(pl.col("caller"))
    )
    partner_key = (
        pl.when(pl.col("b").is_null())
        .then(pl.col("callee_key"))
        .when(pl.col("a").is_null())
        .then(pl.col("caller_key"))
    )
    destination = (
        pl.when(pl.col("roaming_country").is_not_null())
        .then(pl.lit("roaming"))
        .when(pl.col("internal"))
        .then(pl.lit("internal"))
        .otherwise(pl.col("number_class"))
    )
    country = (
        pl.when(pl.col("destination") == "roaming")
        .then(pl.col("roaming_country"))
        .when(pl.col("destination") == "international")
        .then(pl.col("number_country"))
        .otherwise(pl.lit(""))
    )
    events = (
        ours.lazy()
        .with_columns(partner_phone=partner_phone, partner_key=partner_key, outgoing=outgoing)
        .join(types.lazy(), on="partner_key", how="left")
        .with_columns(
            internal=pl.col("a").is_not_null() & pl.col("b").is_not_null(),
            voice=pl.col("type") == "voice",
            seconds=pl.col("duration_s").fill_null(0).clip(0).cast(pl.Int64),
            work=work,
            night=night,
            weekend=weekend,
            evening=~work & ~night & ~weekend,
            day=pl.col("ts_local").dt.date(),
        )
        .with_columns(destination=destination.fill_null("other").cast(_DESTINATION))
        .with_columns(country=country.fill_null(""))
        .drop(
            "caller",
            "callee",
            "caller_key",
            "callee_key",
            "partner_key",
            "duration_s",
            "type",
            "number_class",
            "number_country",
        )
    )
    return _price(events, tariff).collect(engine=_ENGINE)


def _phone_key(phone: pl.Expr) -> pl.Expr:
    """An integer standing for a stored phone number, to join on instead of the text.

    An E.164 number is its digits (exact); anything else (a short number, a pseudonymised
    token) a 63-bit hash with the top bit set, so the two kinds never meet. Joining on it took
    a third of the time of joining on the text on the benchmark world.
    """
    digits = phone.str.slice(1).cast(pl.UInt64, strict=False)
    e164 = phone.str.starts_with("+") & digits.is_not_null()
    return pl.when(e164).then(digits).otherwise(phone.hash(0) | (1 << 63))


def _price(events: pl.LazyFrame, tariff: Tariff) -> pl.LazyFrame:
    """Add ``billed_s`` and ``cost_micro`` (millionths of the currency) to outgoing events.

    Prices are looked up without a join: the class's default by the destination's position in
    :data:`DESTINATIONS`, a country's own price by ``class:country`` for the two classes priced
    by country (few rows), falling back to the default.
    """
    table = tariff.prices
    default = table.filter(pl.col("country") == "")
    order = pl.DataFrame({"destination": list(DESTINATIONS)}).with_row_index("i")
    default = order.join(default, on="destination", how="left", maintain_order="left")
    countries = table.filter(pl.col("country") != "")
    keys = countries["destination"] + ":" + countries["country"]
    key = pl.when(pl.col("destination").is_in(_PER_COUNTRY)).then(
        pl.concat_str(pl.col("destination").cast(pl.String), pl.lit(":"), pl.col("country"))
    )
    position = pl.col("destination").to_physical()

    def price(name: str) -> pl.Expr:
        fallback = pl.lit(default[name]).gather(position)
        own = key.replace_strict(keys, countries[name], default=None, return_dtype=pl.Int64)
        return pl.coalesce(own, fallback)

    first, step = tariff.first_s, tariff.increment_s
    seconds = pl.col("seconds")
    steps = ((seconds - first).clip(0) + step - 1) // step
    billed = pl.when(pl.col("voice") & (seconds > 0)).then(first + steps * step).otherwise(0)
    # Each event's price is exact in millionths; per minute: round half up of price x s / 60.
    voice_cost = price("setup") + (price("per_minute") * pl.col("billed_s") + 30) // 60
    cost = (
        pl.when(~pl.col("outgoing"))
        .then(0)
        .when(pl.col("voice"))
        .then(pl.when(pl.col("billed_s") > 0).then(voice_cost).otherwise(0))
        .otherwise(price("per_message"))
    )
    return events.with_columns(billed_s=billed.cast(pl.Int64)).with_columns(
        cost_micro=cost.cast(pl.Int64)
    )


def _employee_view(events: pl.DataFrame) -> pl.LazyFrame:
    """Each event from each employee end: internal events appear for caller and callee.

    ``node_id`` and ``department`` are the employee's codes (``nk``, ``dk`` of the staff table),
    ``partner`` the outside end's phone number (null for internal events). Cost stays with the
    caller.
    """
    common = [
        "internal",
        "voice",
        "seconds",
        "billed_s",
        "work",
        "night",
        "weekend",
        "evening",
        "day",
        "ts_local",
        "destination",
        "country",
        "roaming_country",
    ]
    lf = events.lazy()
    out = lf.filter(pl.col("a").is_not_null()).select(
        *common,
        node_id="a",
        department="a_dept",
        partner="partner_phone",
        outgoing=pl.lit(value=True),
        cost_micro="cost_micro",
    )
    into = lf.filter(pl.col("b").is_not_null()).select(
        *common,
        node_id="b",
        department="b_dept",
        partner="partner_phone",
        outgoing=pl.lit(value=False),
        cost_micro=pl.lit(0, pl.Int64),
    )
    ones = {
        "call": pl.col("voice").cast(pl.Int64),
        "message": (~pl.col("voice")).cast(pl.Int64),
        "off": (~pl.col("work")).cast(pl.Int64),
    }
    return pl.concat([out, into]).with_columns(**ones)


def _partner_names(store: Store, watch_list: pl.DataFrame) -> pl.DataFrame:
    """``partner`` phone -> ``partner_id`` (register customer) and a name for companies.

    Only companies of the register and watch-listed numbers get a name: a private person's
    name is not the expense report's business.
    """
    customers = store.scan("customers")
    companies = (
        customers.filter(pl.col("kind") == "company")
        .group_by("customer_id")
        .agg(company_name=pl.col("name").drop_nulls().first())
    )
    registered = (
        customers.filter(pl.col("phone").is_not_null())
        .select(partner="phone", partner_id="customer_id")
        .unique("partner", keep="first", maintain_order=True)
        .join(companies, left_on="partner_id", right_on="customer_id", how="left")
        .with_columns(company=pl.col("company_name").is_not_null())
        .collect(engine=_ENGINE)
    )
    watched = watch_list.select(partner="phone", watch_name="watch_name")
    return registered.join(watched, on="partner", how="full", coalesce=True).select(
        "partner",
        "partner_id",
        company=pl.col("company").fill_null(value=False),
        partner_name=pl.coalesce("watch_name", "company_name"),
        watched=pl.col("watch_name").is_not_null(),
    )


def _decode(frame: pl.DataFrame, staff: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """Replace code columns by names: ``{"col": "nk"}`` employee codes, ``"dk"`` departments."""
    for column, code in columns.items():
        name = "node_id" if code == "nk" else "department"
        lookup = staff.select(code, name).unique(code).rename({code: column, name: f"_{column}"})
        frame = (
            frame.join(lookup, on=column, how="left")
            .with_columns(pl.col(f"_{column}").alias(column))
            .drop(f"_{column}")
        )
    return frame


def _cents(micro: pl.Expr) -> pl.Expr:
    """Millionths of the currency -> amount rounded to cents (half up).

    ``.round(2)``: Polars divides by a literal as a multiplication, which can miss the nearest
    double (14.040000000000001); rounding gives it back.
    """
    return (((micro + 5_000) // 10_000) / 100).round(2)


def _minutes(seconds: pl.Expr) -> pl.Expr:
    return (seconds / 60).round(1)


# ---------------------------------------------------------------------------------------------
# Tables
# ---------------------------------------------------------------------------------------------


def _external_pairs(view: pl.LazyFrame) -> pl.DataFrame:
    """Traffic of each employee with each outside number: the base of partners and private."""
    return (
        view.filter(~pl.col("internal"))
        .group_by("node_id", "partner")
        .agg(
            **_figures(
                {
                    "destination": pl.col("destination")
                    .filter(pl.col("destination") != "roaming")
                    .min(),
                    "off": pl.col("off").sum(),
                }
            )
        )
        .with_columns(events=pl.col("calls") + pl.col("messages"))
        .collect(engine=_GROUP_ENGINE)
    )


def _partners(
    pairs: pl.DataFrame, names: pl.DataFrame, owner: str, staff: pl.DataFrame, settings: Settings
) -> pl.DataFrame:
    """The top external partners of each owner by cost, then traffic."""
    if owner == "department":
        pairs = pairs.group_by("department", "partner").agg(
            pl.col("calls", "messages", "seconds", "cost_micro", "events").sum(),
            pl.col("destination").min(),
        )
    per = pairs.with_columns(
        rank=pl.int_range(1, pl.len() + 1).over(
            owner,
            order_by=[
                -pl.col("cost_micro"),
                -pl.col("events").cast(pl.Int64),
                pl.col("partner"),
            ],
        )
    ).filter(pl.col("rank") <= settings.tem_top_partners)
    per = _decode(per, staff, {owner: "nk" if owner == "node_id" else "dk"})
    return (
        per.join(names, on="partner", how="left")
        .select(
            owner,
            "rank",
            "partner",
            partner_id=pl.coalesce("partner_id", "partner"),
            partner_name="partner_name",
            destination=pl.col("destination").cast(pl.String).fill_null("roaming"),
            calls="calls",
            messages="messages",
            minutes=_minutes(pl.col("seconds")),
            cost=_cents(pl.col("cost_micro")),
        )
        .sort(owner, "rank")
    )


def _usage(
    view: pl.LazyFrame,
    partners: pl.DataFrame,
    anomalies: pl.DataFrame,
    owner: str,
    staff: pl.DataFrame,
) -> pl.DataFrame:
    """Per employee or department: traffic internal vs external, minutes, cost, time shares."""
    voice, internal = pl.col("voice"), pl.col("internal")
    seconds = pl.col("seconds")
    cost = pl.col("cost_micro")
    destination = pl.col("destination")

    def where(condition: pl.Expr, value: pl.Expr | int = 1) -> pl.Expr:
        return pl.when(condition).then(value).otherwise(0).cast(pl.Int64)

    # Columns first, then plain sums: a group-by sums plain columns on its fast path, while
    # filtered or computed aggregations take a much slower one (4x on the benchmark world).
    parts = {
        "calls_internal": where(voice & internal),
        "calls_external": where(voice & ~internal),
        "calls_made": where(voice & pl.col("outgoing")),
        "messages_internal": where(~voice & internal),
        "messages_external": where(~voice & ~internal),
        "seconds_internal": where(internal, seconds),
        "seconds_external": where(~internal, seconds),
        "roaming_micro": where(destination == "roaming", cost),
        "international_micro": where(destination == "international", cost),
        "premium_micro": where(destination == "premium", cost),
        **{name: pl.col(name).cast(pl.Int64) for name in ("work", "evening", "night", "weekend")},
    }
    aggregated = (
        view.select(owner, "billed_s", "cost_micro", **parts)
        .group_by(owner)
        .agg(pl.all().sum(), events=pl.len())
        .collect(engine=_GROUP_ENGINE)
    )
    code = "nk" if owner == "node_id" else "dk"
    aggregated = aggregated.rename({owner: code})
    if owner == "department":
        every = staff.group_by("dk", "department").agg(employees=pl.col("node_id").n_unique())
    else:
        every = staff.select("nk", "node_id", "department", "cost_center").unique("nk")
    # partners is sorted by owner and rank, and a group keeps its rows' order
    item = pl.concat_str(
        pl.coalesce("partner_name", "partner_id"),
        pl.lit(" ("),
        _amount_text((pl.col("cost") * 100).round(0).cast(pl.Int64)),
        pl.lit(")"),
    )
    top = (
        partners.filter(pl.col("rank") <= 3)
        .select(owner, item=item)
        .group_by(owner)
        .agg(top_partners=pl.col("item").str.join("; "))
    )
    flagged = anomalies.group_by(owner).agg(anomalies=pl.len())
    share = {
        f"{name}_share": (pl.col(name) / pl.col("events")).round(3).fill_nan(None)
        for name in ("work", "evening", "night", "weekend")
    }
    shown = (
        every.join(aggregated, on=code, how="left")
        .select(
            *(
                ["department", "employees"]
                if owner == "department"
                else ["node_id", "department", "cost_center"]
            ),
            *(
                pl.col(c).fill_null(0)
                for c in (
                    "calls_internal",
                    "calls_external",
                    "calls_made",
                    "messages_internal",
                    "messages_external",
                )
            ),
            minutes_internal=_minutes(pl.col("seconds_internal").fill_null(0)),
            minutes_external=_minutes(pl.col("seconds_external").fill_null(0)),
            billed_minutes=_minutes(pl.col("billed_s").fill_null(0)),
            cost=_cents(pl.col("cost_micro").fill_null(0)),
            cost_roaming=_cents(pl.col("roaming_micro").fill_null(0)),
            cost_international=_cents(pl.col("international_micro").fill_null(0)),
            cost_premium=_cents(pl.col("premium_micro").fill_null(0)),
            **share,
            offhours_share=(1 - pl.col("work") / pl.col("events")).round(3),
            _micro=pl.col("cost_micro").fill_null(0),
        )
        .join(top, on=owner, how="left")
        .join(flagged, on=owner, how="left")
        .with_columns(pl.col("anomalies").fill_null(0).cast(pl.UInt32))
    )
    return shown.sort("_micro", owner, descending=[True, False]).drop("_micro")


def _department_graph(events: pl.DataFrame, staff: pl.DataFrame) -> pl.DataFrame:
    """Calls and messages between departments (caller's -> callee's), internal events only."""
    internal = events.filter(pl.col("internal"))
    voice = pl.col("voice")
    graph = (
        internal.group_by(from_department="a_dept", to_department="b_dept")
        .agg(
            calls=voice.sum(),
            messages=(~voice).sum(),
            seconds=pl.col("seconds").sum(),
            cost_micro=pl.col("cost_micro").sum(),
            callers=pl.col("a").n_unique(),
            callees=pl.col("b").n_unique(),
        )
        .select(
            "from_department",
            "to_department",
            "calls",
            "messages",
            minutes=_minutes(pl.col("seconds")),
            cost=_cents(pl.col("cost_micro")),
            callers="callers",
            callees="callees",
        )
    )
    graph = _decode(graph, staff, {"from_department": "dk", "to_department": "dk"})
    return graph.sort("from_department", "to_department")


def _destinations(events: pl.DataFrame) -> pl.DataFrame:
    """Cost and traffic of the outgoing events per destination class and country."""
    voice = pl.col("voice")
    return (
        events.filter(pl.col("outgoing"))
        .group_by("destination", "country")
        .agg(
            calls=voice.sum(),
            messages=(~voice).sum(),
            seconds=pl.col("seconds").sum(),
            billed_s=pl.col("billed_s").sum(),
            cost_micro=pl.col("cost_micro").sum(),
        )
        .select(
            pl.col("destination").cast(pl.String),
            "country",
            "calls",
            "messages",
            minutes=_minutes(pl.col("seconds")),
            billed_minutes=_minutes(pl.col("billed_s")),
            cost=_cents(pl.col("cost_micro")),
            _micro="cost_micro",
        )
        .sort("_micro", "destination", "country", descending=[True, False, False])
        .drop("_micro")
    )


def _totals(
    events: pl.DataFrame, anomalies: pl.DataFrame, staff: pl.DataFrame, tariff: Tariff
) -> list[tuple[str, Any]]:
    outgoing = events.filter(pl.col("outgoing"))
    micro = int(outgoing["cost_micro"].sum())
    internal = int(events["internal"].sum())
    by_kind = anomalies.group_by("anomaly").len().sort("anomaly").rows()
    return [
        ("employees", staff["node_id"].n_unique()),
        ("departments", staff["department"].n_unique()),
        ("events with an employee", events.height),
        ("internal", internal),
        ("external made", int((~events["internal"] & events["outgoing"]).sum())),
        ("external received", int((~events["outgoing"]).sum())),
        ("billed minutes", int(outgoing["billed_s"].sum()) // 60),
        (f"total cost ({tariff.currency})", f"{((micro + 5_000) // 10_000) / 100:,.2f}"),
        ("anomalies", anomalies.height),
        *((f"anomalies {kind}", n) for kind, n in by_kind),
    ]


# ---------------------------------------------------------------------------------------------
# Anomalies
# ---------------------------------------------------------------------------------------------

_ANOMALY_SCHEMA = {
    "node_id": pl.String,
    "department": pl.String,
    "anomaly": pl.String,
    "partner": pl.String,
    "partner_name": pl.String,
    "events": pl.UInt32,
    "minutes": pl.Float64,
    "cost": pl.Float64,
    "first_at": pl.Datetime("us"),
    "last_at": pl.Datetime("us"),
    "reason": pl.String,
}


def _anomalies(
    view: pl.LazyFrame,
    pairs: pl.DataFrame,
    names: pl.DataFrame,
    watch_list: pl.DataFrame,
    staff: pl.DataFrame,
    tariff: Tariff,
    settings: Settings,
) -> pl.DataFrame:
    """Premium-rate numbers, roaming spikes, private-looking traffic, competitors."""
    money = _money_text(tariff.currency)
    parts = [
        _premium(view, money),
        _roaming_spikes(view, settings, money),
        _private(pairs, names, settings, money),
        _competitors(view, watch_list, money),
    ]
    codes = {"node_id": pl.UInt32, "department": pl.UInt32}
    empty = pl.DataFrame(schema={**_ANOMALY_SCHEMA, **codes})
    frame = pl.concat([empty, *parts], how="diagonal_relaxed").select(list(_ANOMALY_SCHEMA))
    frame = _decode(frame, staff, {"node_id": "nk", "department": "dk"})
    return frame.sort("node_id", "anomaly", "first_at", "partner")


def _amount_text(cents: pl.Expr) -> pl.Expr:
    """Whole cents as text with two decimals (``1234`` -> ``12.34``)."""
    whole = (cents // 100).cast(pl.String)
    return pl.concat_str(whole, pl.lit("."), (cents % 100).cast(pl.String).str.zfill(2))


def _money_text(currency: str) -> Any:
    def text(micro: pl.Expr) -> pl.Expr:
        return pl.concat_str(_amount_text((micro + 5_000) // 10_000), pl.lit(f" {currency}"))

    return text


def _figures(extra: dict[str, pl.Expr] | None = None) -> dict[str, pl.Expr]:
    """Aggregations of a group of events; the view's ``call`` and ``message`` are 0/1 columns."""
    return {
        "department": pl.col("department").first(),
        "calls": pl.col("call").sum(),
        "messages": pl.col("message").sum(),
        "seconds": pl.col("seconds").sum(),
        "cost_micro": pl.col("cost_micro").sum(),
        "first_at": pl.col("ts_local").min(),
        "last_at": pl.col("ts_local").max(),
        "days": pl.col("day").n_unique(),
        **(extra or {}),
    }


def _finish(frame: pl.LazyFrame, anomaly: str, reason: pl.Expr) -> pl.DataFrame:
    return (
        frame.with_columns(reason=reason)
        .select(
            "node_id",
            "department",
            anomaly=pl.lit(anomaly),
            partner="partner",
            partner_name=pl.col("partner_name")
            if "partner_name" in frame.collect_schema()
            else pl.lit(None, pl.String),
            events=(pl.col("calls") + pl.col("messages")).cast(pl.UInt32),
            minutes=_minutes(pl.col("seconds")),
            cost=_cents(pl.col("cost_micro")),
            first_at="first_at",
            last_at="last_at",
            reason="reason",
        )
        .collect(engine=_ENGINE)
    )


def _traffic_text() -> pl.Expr:
    """``3 calls (14.0 min), 2 messages`` from the figures' columns."""
    calls = pl.concat_str(
        pl.col("calls").cast(pl.String),
        pl.lit(" calls ("),
        _minutes(pl.col("seconds")).cast(pl.String),
        pl.lit(" min)"),
    )
    messages = pl.concat_str(pl.col("messages").cast(pl.String), pl.lit(" messages"))
    return (
        pl.when((pl.col("calls") > 0) & (pl.col("messages") > 0))
        .then(pl.concat_str(calls, pl.lit(", "), messages))
        .when(pl.col("calls") > 0)
        .then(calls)
        .otherwise(messages)
    )


def _premium(view: pl.LazyFrame, money: Any) -> pl.DataFrame:
    grouped = (
        view.filter(pl.col("outgoing") & (pl.col("destination") == "premium"))
        .group_by("node_id", "partner")
        .agg(**_figures())
    )
    reason = pl.concat_str(
        _traffic_text(),
        pl.lit(" to premium-rate number "),
        pl.col("partner"),
        pl.lit(", "),
        money(pl.col("cost_micro")),
    )
    return _finish(grouped, "premium", reason)


def _roaming_spikes(view: pl.LazyFrame, settings: Settings, money: Any) -> pl.DataFrame:
    roaming = view.filter(pl.col("outgoing") & pl.col("roaming_country").is_not_null())
    roamers = roaming.select("node_id").unique()
    made = view.filter(pl.col("outgoing") & pl.col("voice")).join(roamers, on="node_id", how="semi")
    usual = (
        made.filter(pl.col("roaming_country").is_null())
        .group_by("node_id", "day")
        .agg(seconds=pl.col("seconds").sum())
        .group_by("node_id")
        .agg(usual_s=pl.col("seconds").median())
    )
    daily = (
        roaming.group_by("node_id", "roaming_country", "day")
        .agg(day_s=pl.col("seconds").sum())
        .join(usual, on="node_id", how="left")
        .with_columns(pl.col("usual_s").fill_null(0.0))
        .filter(
            (pl.col("day_s") >= settings.tem_roaming_min_minutes * 60)
            & (pl.col("day_s") >= settings.tem_roaming_factor * pl.col("usual_s"))
        )
    )
    grouped = (
        roaming.join(daily, on=["node_id", "roaming_country", "day"], how="semi")
        .group_by("node_id", "roaming_country")
        .agg(**_figures({"usual_s": pl.lit(0.0)}))
        .join(usual, on="node_id", how="left", suffix="_u")
        .with_columns(
            usual_s=pl.col("usual_s_u").fill_null(0.0),
            partner=pl.col("roaming_country"),
        )
    )
    per_day = pl.col("seconds") / pl.col("days")
    factor = (per_day / pl.col("usual_s")).round(1).cast(pl.String)
    reason = pl.concat_str(
        pl.lit("roaming in "),
        pl.col("roaming_country"),
        pl.lit(": "),
        _minutes(pl.col("seconds")).cast(pl.String),
        pl.lit(" min of calls on "),
        pl.col("days").cast(pl.String),
        pl.lit(" day(s) ("),
        pl.col("first_at").dt.date().cast(pl.String),
        pl.lit(" to "),
        pl.col("last_at").dt.date().cast(pl.String),
        pl.lit("), "),
        pl.when(pl.col("usual_s") > 0)
        .then(
            pl.concat_str(
                factor,
                pl.lit("x the usual "),
                _minutes(pl.col("usual_s")).cast(pl.String),
                pl.lit(" min a day"),
            )
        )
        .otherwise(pl.lit("no calls at home to compare with")),
        pl.lit(", "),
        money(pl.col("cost_micro")),
    )
    return _finish(grouped, "roaming_spike", reason)


def _private(
    pairs: pl.DataFrame, names: pl.DataFrame, settings: Settings, money: Any
) -> pl.DataFrame:
    s = settings
    business = names.filter(pl.col("company") | pl.col("watched")).select("partner")
    reach = pairs.group_by("partner").agg(employees=pl.len())
    personal = pl.col("destination").is_in(["mobile", "fixed", "international"])
    grouped = (
        pairs.lazy()
        .filter(personal | pl.col("destination").is_null())  # null: only while roaming
        .join(business.lazy(), on="partner", how="anti")
        .join(reach.lazy(), on="partner", how="left")
        .filter(
            (pl.col("employees") <= s.tem_private_max_employees)
            & (pl.col("events") >= s.tem_private_min_events)
            & (pl.col("seconds") >= s.tem_private_min_minutes * 60)
            & (pl.col("off") >= s.tem_private_share * pl.col("events"))
        )
    )
    reason = pl.concat_str(
        _traffic_text(),
        pl.lit(" with "),
        pl.col("partner"),
        pl.lit(" on "),
        pl.col("days").cast(pl.String),
        pl.lit(" days, "),
        (100 * pl.col("off") / pl.col("events")).round(0).cast(pl.Int64).cast(pl.String),
        pl.lit("% in evenings, nights or weekends, a number no other employee uses, "),
        money(pl.col("cost_micro")),
    )
    return _finish(grouped, "private", reason)


def _competitors(view: pl.LazyFrame, watch_list: pl.DataFrame, money: Any) -> pl.DataFrame:
    watched = watch_list.lazy().select(partner="phone", partner_name="watch_name")
    grouped = (
        view.filter(~pl.col("internal"))
        .join(watched, on="partner")
        .group_by("node_id", "partner")
        .agg(
            **_figures(
                {
                    "partner_name": pl.col("partner_name").first(),
                    "made": pl.col("outgoing").sum(),
                }
            )
        )
    )
    reason = pl.concat_str(
        _traffic_text(),
        pl.lit(" with "),
        pl.col("partner_name"),
        pl.lit(" ("),
        pl.col("partner"),
        pl.lit(", on the watch list) on "),
        pl.col("days").cast(pl.String),
        pl.lit(" days, "),
        pl.col("made").cast(pl.String),
        pl.lit(" of them made by the employee, "),
        money(pl.col("cost_micro")),
    )
    return _finish(grouped, "competitor", reason)
