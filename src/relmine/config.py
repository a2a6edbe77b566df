"""Settings: defaults < ``relmine.toml`` in the store < environment (``RELMINE_*``) < CLI flags.

Every tunable number lives in :class:`Settings`, so no module hides a magic constant. The
store's ``relmine.toml`` is written when the store is created, from the settings in force then,
so later runs read the store's data the same way (region for phone numbers, time zone for naive
timestamps).
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import zoneinfo
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from relmine.errors import ConfigError

__all__ = ["CONFIG_FILE", "Settings", "load_settings", "settings_to_toml"]

CONFIG_FILE = "relmine.toml"


@dataclass(frozen=True)
class Settings:
    """All of relmine's tunable values, with their defaults.

    Attributes
    ----------
    region : str
        ISO 3166 country whose national writing of phone numbers is assumed (``0905…`` in ``SK``).
    timezone : str
        IANA zone of timestamps written without an offset; local hour and weekday come from it.
    currency : str
        ISO 4217 currency of bookings whose file has no ``currency`` column.
    max_reject_rate : float
        Largest share of a file's rows that may be rejected before the whole file is refused
        (exit code 3).
    night_start, night_end : int
        Local hours of the night window ``[night_start, 24) + [0, night_end)`` (22-06).
    evening_start : int
        Local hour at which the evening ``[evening_start, night_start)`` begins (18).
    work_start, work_end : int
        Working hours ``[work_start, work_end)`` on Monday to Friday (8-18).
    tie_voice, tie_sms, tie_bank, tie_days : float
        Coefficients of the tie-strength formula (:func:`relmine.graph.tie_features`): the weight
        of ``log(1 + n)`` voice calls, messages, transfers and distinct active days.
    tie_one_way : float
        Factor applied to a tie seen in one direction only (nobody ever answered or called back).
    tie_heavy_degree : float
        Degree above which a party counts as a heavy user; each of its ties is damped by
        ``sqrt(tie_heavy_degree / degree)``: a hotline called by thousands is nobody's strong tie.
    regular_min_months : int
        Distinct months in which a payer must pay a payee for the flow to count as regular
        (standing order, allowance, rent).
    regular_amount_cv : float
        Largest coefficient of variation of the amounts of a regular flow.
    regular_day_spread : float
        Largest standard deviation, in days, of the day of month of a regular flow's payments.
    household_max_size : int
        Largest household ``relmine households`` forms.
    household_threshold : float
        Smallest household score (0-1) of a pair for it to count as a household tie.
    household_min_density : float
        Smallest share of the pairs across two groups that must be in contact at all for the
        groups to merge into one household.
    hotline_min_degree : int
        Smallest number of contacts of a hotline-like party (many contacts, almost none called
        back); such parties are in no household and are not influencers.
    leiden_iterations : int
        Passes of Leiden (``communities --method leiden`` or ``cpm``) over the partition; -1 for
        as many as improve it. Each pass over the 1 M world's 5.4 M ties takes 8-15 s, and
        passes after the second add little (modularity 0.8798, 0.8853, 0.8861, 0.8862 after 1,
        2, 4 and 8) while "until stable" went on for more than 15 minutes.
    hotline_max_reciprocity : float
        Largest share of its contacts a hotline-like party calls back.
    tie_cache : bool
        Keep the tie table in the store (``cache/``) once built, so that the commands after
        ``relmine graph`` (communities, households, ...) reuse it instead of re-reading every
        event; it is rebuilt whenever the store's data, the window, the channels, the settings
        or relmine's tie code change.
    cycle_max_gap : float
        Largest number of days between a hop of a money cycle and the previous one.
    cycle_amount_tolerance : float
        Largest relative difference between a cycle hop's amount and the previous hop's.
    cycle_min_length, cycle_max_length : int
        Fewest and most hops of a money cycle.
    cycle_min_amount : float
        Transfers smaller than this take no part in money cycles (0: all).
    risk_assets_rate : float
        Share of a customer's assets counted as monthly credit capacity beside the income.
    risk_household_share : float
        Share of the other household members' capacity added to a customer's.
    risk_tie_share, risk_top_ties : float, int
        Share of the tie-weighted mean capacity of the strongest ``risk_top_ties`` contacts
        (outside the household) added to a customer's.
    risk_damping : float
        Probability that the walk of the default exposure goes on at each step.
    risk_path_hops : int
        Longest chain of contacts shown as the path of the exposure.
    risk_dependence_share, risk_dependence_min_transfers : float, int
        Share of a customer's money to and from others with one counterparty, over at least
        this many transfers, that flags dependence on a single counterparty.
    risk_company_min_counterparties : int
        Parties with regular monthly flows with at least this many others count as companies.
    influence_top : int
        Influencers ``relmine influencers`` lists without ``--top`` (0 = every eligible party).
    influence_damping : float
        Damping factor of the weighted PageRank (the chance a random walk follows a tie).
    influence_pagerank, influence_strength, influence_reach, influence_dependence : float
        Coefficients of the influence score of the log-scaled measures (see
        :mod:`relmine.influence`).
    influence_bridging, influence_domino : float
        Coefficients of the log-scaled bridging (Burt's effective size) and domino.
    domino_threshold : float
        Share of a customer's tie weight going to churned customers from which it may follow them.
    domino_probability : float
        Chance that a customer past the threshold follows (one draw per customer and run).
    domino_runs : int
        Monte Carlo runs of the churn cascade per party.
    domino_candidates : int
        Least number of parties whose domino is simulated (the best by the score without it;
        at least three times ``--top``).
    domino_batch : int
        Cascades (party x run) simulated together; bounds the memory of the simulation.
    profile_top_contacts : int
        How many of a party's strongest ties ``relmine profile`` lists (``--top``).
    report_top_influencers : int
        Rows of the influencer table of ``relmine report`` (``--top``).
    report_drawings : int
        How many of the largest communities, and of the top influencers' contacts, a report
        draws (each).
    report_draw_max_nodes : int
        Most parties in one drawing: a community's strongest members, an influencer and its
        strongest contacts.
    report_dpi : int
        Resolution of the report's PNG charts (dots per inch; a chart is 6.4 inches wide).
    tem_top_partners : int
        External partners listed per employee or department by ``relmine tem --what partners``.
    tem_private_min_events, tem_private_min_minutes, tem_private_share : int, float, float
        Private-looking traffic: at least this many calls and messages, and minutes, with one
        non-business number, at least this share of them outside working hours.
    tem_private_max_employees : int
        A number in contact with more employees than this is business, never private-looking.
    tem_roaming_factor, tem_roaming_min_minutes : float, float
        A roaming spike: a day's roaming minutes at least this many times the employee's usual
        minutes a day at home, and at least this many minutes.
    ingest_batch_rows, ingest_batch_mb : int, int
        At most this many rows, and about this many MiB of the file's text, of a call-record or
        bank file that ingest reads, normalises and writes at a time; its peak memory depends on
        these, not on the size of the file.
    """

    region: str = "SK"
    timezone: str = "Europe/Bratislava"
    currency: str = "EUR"
    max_reject_rate: float = 0.05
    night_start: int = 22
    night_end: int = 6
    evening_start: int = 18
    work_start: int = 8
    work_end: int = 18
    tie_voice: float = 1.0
    tie_sms: float = 0.5
    tie_bank: float = 1.0
    tie_days: float = 1.0
    tie_one_way: float = 0.5
    tie_heavy_degree: float = 50.0
    regular_min_months: int = 3
    regular_amount_cv: float = 0.1
    regular_day_spread: float = 3.0
    household_max_size: int = 8
    household_threshold: float = 0.4
    household_min_density: float = 0.5
    hotline_min_degree: int = 30
    hotline_max_reciprocity: float = 0.1
    leiden_iterations: int = 2
    tie_cache: bool = True
    cycle_max_gap: float = 30.0  # days between consecutive hops of a money cycle
    cycle_amount_tolerance: float = 0.1  # relative to the previous hop's amount
    cycle_min_length: int = 2  # hops (= parties) of a money cycle
    cycle_max_length: int = 6
    cycle_min_amount: float = 0.0  # smaller transfers take no part in cycles
    risk_assets_rate: float = 0.01  # assets counted as 1 % a month beside the monthly income
    risk_household_share: float = 0.3  # of the other household members' capacity
    risk_tie_share: float = 0.2  # of the weighted mean capacity of the strongest contacts
    risk_top_ties: int = 5
    risk_damping: float = 0.85  # probability the default-exposure walk goes on at each step
    risk_path_hops: int = 3  # longest exposure path shown
    risk_dependence_share: float = 0.8  # of money with one counterparty: dependence flag
    risk_dependence_min_transfers: int = 3
    risk_company_min_counterparties: int = 5  # regular flows with this many: a company
    influence_top: int = 100  # influencers listed without --top
    influence_damping: float = 0.85  # PageRank damping
    influence_pagerank: float = 1.0  # score coefficients of the log-scaled measures
    influence_strength: float = 1.0
    influence_reach: float = 1.0
    influence_dependence: float = 1.0
    influence_bridging: float = 0.5
    influence_domino: float = 1.0
    domino_threshold: float = 0.3  # share of weight on churned customers from which one follows
    domino_probability: float = 0.5  # chance a customer past the threshold follows
    domino_runs: int = 100  # Monte Carlo runs per party
    domino_candidates: int = 1000  # least number of parties whose domino is simulated
    domino_batch: int = 100_000  # cascades simulated together (memory bound)
    profile_top_contacts: int = 10  # strongest ties on a contact card
    report_top_influencers: int = 20  # rows of the report's influencer table
    report_drawings: int = 3  # largest communities and top influencers drawn, each
    report_draw_max_nodes: int = 150  # parties in one drawing at most (the strongest)
    report_dpi: int = 100  # resolution of the report's PNG charts
    tem_top_partners: int = 5  # external partners listed per employee or department
    tem_private_min_events: int = 10  # private-looking: calls + messages with one number
    tem_private_min_minutes: float = 60.0  # ... and minutes of calls with it
    tem_private_share: float = (
        0.8  # ... of which outside working hours (evenings, nights, weekends)
    )
    tem_private_max_employees: int = 1  # a number more employees talk to is business
    tem_roaming_factor: float = 3.0  # roaming spike: day's roaming minutes vs usual minutes a day
    tem_roaming_min_minutes: float = 30.0  # ... and at least this many minutes
    # Rows, and MiB of text, of a call-record or bank file read, normalised and written at a
    # time: peak memory grows with them, not with the file. 113 MiB is 2 M call rows of 59 bytes
    # and, a statement's text weighing 1.4 times as much (``ingest.core._TEXT_WEIGHT``), 0.86 M
    # statement rows of 99 bytes. With freed pages kept 5 s (``relmine/__init__.py``): 2.3-2.7
    # GB for 10 M call rows, 3.2-3.3 GB for the 1 M world's four files (13.2 M bank rows).
    ingest_batch_rows: int = 3_000_000
    ingest_batch_mb: int = 113
    # ingest --engine spark: rows a Python worker normalises at a time (identifiers are
    # normalised once per distinct value of a batch, so larger batches repeat less work)
    spark_batch_rows: int = 100_000

    def validated(self) -> Settings:
        """Return self after checking every value, or raise :class:`ConfigError` saying which."""
        import phonenumbers

        if self.region.upper() not in phonenumbers.SUPPORTED_REGIONS:
            raise ConfigError(
                f"unknown region {self.region!r}; use an ISO 3166 country code such as SK, CZ, DE"
            )
        try:
            zoneinfo.ZoneInfo(self.timezone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ConfigError(
                f"unknown time zone {self.timezone!r}; use an IANA name such as Europe/Bratislava"
            ) from None
        if not (len(self.currency) == 3 and self.currency.isalpha()):
            raise ConfigError(f"currency {self.currency!r} is not an ISO 4217 code such as EUR")
        if not 0.0 <= self.max_reject_rate <= 1.0:
            raise ConfigError("--max-reject-rate must be between 0 and 1")
        hours = ("night_start", "night_end", "evening_start", "work_start", "work_end")
        for name in hours:
            if not 0 <= getattr(self, name) <= 24:
                raise ConfigError(f"setting {name} must be an hour between 0 and 24")
        if not self.evening_start <= self.night_start:
            raise ConfigError("setting evening_start must not be later than night_start")
        positive = (
            "tie_heavy_degree",
            "household_max_size",
            "regular_min_months",
            "ingest_batch_rows",
            "ingest_batch_mb",
            "spark_batch_rows",
        )
        for name in positive:
            if getattr(self, name) <= 0:
                raise ConfigError(f"setting {name} must be positive")
        for name in ("tie_voice", "tie_sms", "tie_bank", "tie_days", "tie_one_way"):
            if getattr(self, name) < 0:
                raise ConfigError(f"setting {name} must not be negative")
        for name in ("influence_damping", "domino_threshold", "domino_probability"):
            if not 0.0 < getattr(self, name) <= 1.0:
                raise ConfigError(f"setting {name} must be above 0 and at most 1")
        if self.leiden_iterations == 0 or self.leiden_iterations < -1:
            raise ConfigError(
                "setting leiden_iterations must be at least 1, or -1 (as many as improve)"
            )
        for name in ("domino_runs", "domino_batch"):
            if getattr(self, name) < 1:
                raise ConfigError(f"setting {name} must be at least 1")
        return dataclasses.replace(self, region=self.region.upper(), currency=self.currency.upper())


def _coerce(name: str, value: Any, kind: type) -> Any:
    if kind is bool and isinstance(value, str):  # from the environment: bool("false") is True
        flag = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
        if value.strip().lower() in flag:
            return flag[value.strip().lower()]
        raise ConfigError(f"setting {name} = {value!r} is not true or false")
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(f"setting {name} = {value!r} is not a {kind.__name__}") from None


def load_settings(store_dir: Path | None = None, **overrides: Any) -> Settings:
    """Merge the settings layers and validate the result.

    Parameters
    ----------
    store_dir : Path, optional
        Store whose ``relmine.toml`` is read, when it exists.
    **overrides
        Values from CLI flags; ``None`` means "not given".

    Raises
    ------
    ConfigError
        If ``relmine.toml`` is not valid TOML, names an unknown setting, or a value is invalid.
    """
    known = {f.name: f.type for f in fields(Settings)}
    types = {"str": str, "float": float, "int": int, "bool": bool}
    values: dict[str, Any] = {}
    if store_dir is not None and (store_dir / CONFIG_FILE).is_file():
        path = store_dir / CONFIG_FILE
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{path} is not valid TOML: {exc}") from None
        for key, value in data.items():
            if key not in known:
                raise ConfigError(f"{path}: unknown setting {key!r}; known: {', '.join(known)}")
            values[key] = value
    for key in known:
        env = os.environ.get(f"RELMINE_{key.upper()}")
        if env is not None:
            values[key] = env
    values.update({k: v for k, v in overrides.items() if v is not None})
    typed = {k: _coerce(k, v, types[str(known[k])]) for k, v in values.items()}
    return Settings(**typed).validated()


def settings_to_toml(settings: Settings) -> str:
    """Write settings as TOML (flat scalars only, so no serialiser dependency is needed)."""
    lines = ["# relmine store settings (see README, 'Configuration')"]
    for f in fields(settings):
        value = getattr(settings, f.name)
        if isinstance(value, str):
            escaped = value.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'{f.name} = "{escaped}"')
        elif isinstance(value, bool):
            lines.append(f"{f.name} = {'true' if value else 'false'}")
        else:
            lines.append(f"{f.name} = {value!r}")
    return "\n".join(lines) + "\n"
