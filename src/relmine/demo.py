"""The synthetic sample world: a bank's statements and an operator's call records, with the truth.

:func:`make_world` writes the four canonical input files (SPEC §2) of a small invented country
-- people living in households, households grouped into circles of friends, employers, utilities,
hotlines and company groups -- together with the exact ground truth every analysis of relmine is
measured against (households, circles, hubs, planted money cycles, defaulted customers).

The model
---------
Persons and households
    ``people`` persons live in households of 1-6 (the Slovak census mix: 29 % one person, 27 % two,
    19 % three, 17 % four, 6 % five, 2 % six). A household is a couple or a single adult, with
    children (10-17) or young adults (18-25) in larger households, sometimes a grandparent; old
    one- and two-person households are pensioners. Members mostly share a surname (in its male or
    female form) and always a *home cell*: their evening and night calls are made from it.
Circles
    Whole households are grouped into social circles of 20-65 people living in one town, each
    household of a circle in a different home cell. Each person has a few friends in the circle
    (heterogeneous strengths), a few acquaintances in other circles and, if employed, colleagues
    (mostly elsewhere), so roughly 10-15 % of a person's contacts lie outside their circle. A few
    friend pairs (``best friends``) call almost every evening, more than most household pairs do,
    so that evening contact alone does not make a household.
Hubs
    0.5 % of people (at least 5), registered adults, are in reciprocal contact with their whole
    circle and with about 15 people of other circles, at a rate that makes them a large share
    (15-20 %) of their contacts' communication.
Companies
    Employers (heavy-tailed sizes, mostly in their employees' town) pay monthly salaries on a
    fixed pay day and have a company phone that employees call in working hours; colleagues call
    each other in working hours. Utilities receive a monthly standing order (fixed amount and day,
    own variable symbol) from each household's payer. Hotlines (the bank's and operator's call
    centres, a taxi, ...; 0800/0850 numbers) are called by very many people, in working hours,
    short, and almost never call back. Company groups of 2-6 companies pay their parent a monthly
    management fee, trade with Czech and Austrian partners, and move money round in cycles
    A -> B -> ... -> A: 2-4 occurrences per group, each hop 1-3 days after the previous one, each
    hop 0.1-0.8 % smaller than the previous one (so all hops lie within 5 % of each other).
Money in households
    Parents send children a monthly allowance by standing order (same day each month); a second
    adult sends the household's payer a monthly share of rent and energy; about 28 % of households
    rent (monthly rent to a landlord, mostly a private person at another bank, sometimes one of
    our own customers in another household); members occasionally send each other money, friends
    rarely. Everyone with an account pays by card and takes cash (bookings without counterparty),
    and sometimes pays Czech or Austrian e-shops.
Operator and bank
    85 % of persons are customers of the group (our operator's subscribers, and most of them --
    90 % of adults, 55 % of children -- hold an account at our bank); they are in the register, with
    all their identifiers (8 % of registered adults have a second SIM). The other persons use
    another operator (a few have Czech numbers) and do not appear in the bank data; their calls
    are visible only with our subscribers, and without cell. Companies in the register have our
    accounts and phones; landlords, e-shops and foreign partners are outside it (identified by
    their IBAN). Call records carry the caller's serving cell (empty for another operator's
    caller), or the country when the caller was roaming (households travel together; employees
    make business trips).
Defaults
    About 3 % of registered adults defaulted, concentrated in 5 % "risky" households (most adults
    of such a household), plus a few sporadic ones; they earn and own less.
Time
    Each relationship has a profile of hours (weekday and weekend) and a weekend weight:
    households evenings, nights and weekends; friends also weekday daytime, fewer nights; best
    friends evenings; colleagues, employers and hotlines weekday working hours only. Local
    wall-clock times in Europe/Bratislava; the hour that does not exist (spring) or happens twice
    (autumn) on a DST change day is never used.
Dirt
    About 1 % of rows of ``calls.csv`` and ``bank.csv`` have exactly one problem (reasons
    ``missing callee``, ``bad timestamp``, ``negative duration``, ``invalid phone number``;
    ``invalid IBAN check digits``, ``bad amount``, ``bad timestamp``), never on a booking of a
    mirrored transfer, and about 0.5 % are exact repeats of a block of rows. Phone numbers and
    IBANs are written in mixed forms, chosen per row.

Budget: ``calls_per_person * people`` visible calls and messages are shared among the kinds of
relationship (households 52 %, friends 24 %, best friends 3 %, acquaintances 2 %, colleagues 5 %,
hubs 8 %, employer phones 2 %, hotlines 4 %) and, within a kind, in proportion to each tie's
strength; counts are Poisson. With the default 10 per person a household pair has a median of 4
contacts, a friend pair 1. Bank volume depends on ``people`` and ``months`` only.

Identifiers: other operators' subscribers have no cell and no bank data, so about a quarter of
household pairs involve a member whose home cell cannot be seen; households of registered
people carry all the signals.

The truth (``truth/``) names every party by the node id relmine must give it (the register's
``customer_id``, else the E.164 phone or compact IBAN); ``summary.json`` holds the counts that an
exact ingest of the four files must report. Distinct events never share a normalised key (the
generator moves clashing ones by a second or a cent), so the counts are exact.
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from relmine.errors import ConfigError

__all__ = ["DemoResult", "WorldSummary", "compare_with_truth", "make_world", "run_demo"]

# ---------------------------------------------------------------------------------------------
# Fixed vocabulary of the world
# ---------------------------------------------------------------------------------------------

#: code, name, lat, lon, population (thousands) -- the weight of a town.
_TOWNS: tuple[tuple[str, str, float, float, float], ...] = (
    ("BA", "Bratislava", 48.1486, 17.1077, 475.0),
    ("KE", "Kosice", 48.7164, 21.2611, 229.0),
    ("PO", "Presov", 48.9984, 21.2339, 84.0),
    ("ZA", "Zilina", 49.2231, 18.7394, 80.0),
    ("NR", "Nitra", 48.3069, 18.0864, 77.0),
    ("BB", "Banska Bystrica", 48.7363, 19.1462, 76.0),
    ("TT", "Trnava", 48.3774, 17.5872, 63.0),
    ("TN", "Trencin", 48.8945, 18.0444, 54.0),
    ("MT", "Martin", 49.0665, 18.9239, 52.0),
    ("PP", "Poprad", 49.0614, 20.2980, 50.0),
    ("PD", "Prievidza", 48.7745, 18.6275, 45.0),
    ("ZV", "Zvolen", 48.5762, 19.1371, 41.0),
    ("PB", "Povazska Bystrica", 49.1153, 18.4525, 38.0),
    ("NZ", "Nove Zamky", 47.9859, 18.1619, 37.0),
    ("MI", "Michalovce", 48.7543, 21.9195, 37.0),
    ("SN", "Spisska Nova Ves", 48.9446, 20.5615, 36.0),
    ("KN", "Komarno", 47.7628, 18.1292, 33.0),
    ("LV", "Levice", 48.2153, 18.6071, 32.0),
    ("HE", "Humenne", 48.9371, 21.9163, 32.0),
    ("BJ", "Bardejov", 49.2918, 21.2727, 32.0),
    ("PK", "Pezinok", 48.2894, 17.2665, 23.0),
    ("SC", "Senec", 48.2196, 17.4001, 21.0),
    ("MA", "Malacky", 48.4361, 17.0218, 17.0),
)
_MIN_CELLS_PER_TOWN = 100  # more than the households of any circle: each gets its own home cell
_PEOPLE_PER_CELL = 25

#: Slovak mobile prefixes that phonenumbers accepts as valid mobile numbers (0900 is premium rate).
_SK_MOBILE = np.array(
    [*range(901, 909), 910, 911, 912, *range(914, 920), 940, 943, 944, 945, *range(947, 960)]
)
_CZ_MOBILE = np.array([*range(601, 609), *range(702, 706), *range(720, 740), *range(770, 780)])
#: How a phone number is written, per row: +421905123456, 0905123456, 00421905123456,
#: 421905123456, +421 905 123 456, 0905 123 456.
_PHONE_FORM_P = np.array([0.50, 0.25, 0.08, 0.05, 0.06, 0.06])
_REGISTER_PHONE_FORM_P = np.array([0.55, 0.35, 0.0, 0.0, 0.05, 0.05])
#: How an IBAN is written: compact, grouped by four, compact lower-case, grouped lower-case.
_IBAN_FORM_P = np.array([0.65, 0.25, 0.05, 0.05])

_OUR_BANK = 900  # bank code 0900 of "our" bank
_SK_OTHER_BANKS = np.array([200, 1100, 7500, 5600, 6500, 8330, 7300])
_CZ_BANKS = np.array([100, 300, 800, 2010, 600, 5500])
_AT_BANKS = np.array([12000, 20111, 32000, 14000, 60000])
_SK_CZ_WEIGHTS = np.array([6, 3, 7, 9, 10, 5, 8, 4, 2, 1])  # mod-11 check of SK/CZ account numbers

_MALE = [
    "Peter", "Martin", "Jozef", "Ján", "Michal", "Tomáš", "Marek", "Lukáš", "Juraj", "Miroslav",
    "Milan", "Dávid", "Jakub", "Matej", "Samuel", "Adam", "Filip", "Róbert", "Pavol",
    "Vladimír", "Ivan", "Igor", "Stanislav", "Dušan", "Roman", "Marián", "Ladislav", "Patrik",
    "Andrej",
]  # fmt: skip
_FEMALE = [
    "Mária", "Anna", "Zuzana", "Katarína", "Eva", "Lucia", "Jana", "Martina", "Monika", "Ivana",
    "Veronika", "Simona", "Michaela", "Barbora", "Petra", "Alžbeta", "Lenka", "Dominika",
    "Kristína", "Nikola", "Soňa", "Helena", "Viera", "Tatiana", "Adriana", "Ema", "Natália",
    "Sofia", "Laura", "Hana",
]  # fmt: skip
#: Surnames in their male and female form.
_SURNAMES: tuple[tuple[str, str], ...] = (
    ("Novák", "Nováková"), ("Horváth", "Horváthová"), ("Kováč", "Kováčová"),
    ("Varga", "Vargová"), ("Tóth", "Tóthová"), ("Nagy", "Nagyová"), ("Baláž", "Balážová"),
    ("Szabó", "Szabóová"), ("Molnár", "Molnárová"), ("Balog", "Balogová"),
    ("Lukáč", "Lukáčová"), ("Kollár", "Kollárová"), ("Hudák", "Hudáková"), ("Šimko", "Šimková"),
    ("Polák", "Poláková"), ("Oravec", "Oravcová"), ("Kráľ", "Kráľová"), ("Marko", "Marková"),
    ("Sloboda", "Slobodová"), ("Kučera", "Kučerová"), ("Gajdoš", "Gajdošová"),
    ("Blaho", "Blahová"), ("Urban", "Urbanová"), ("Kovács", "Kovácsová"),
    ("Mihálik", "Miháliková"), ("Jurík", "Juríková"), ("Bartoš", "Bartošová"),
    ("Hrušovský", "Hrušovská"), ("Krajčí", "Krajčiová"), ("Vlček", "Vlčková"),
    ("Ondrejka", "Ondrejková"), ("Bednár", "Bednárová"), ("Dudáš", "Dudášová"),
    ("Fekete", "Feketeová"), ("Pavlík", "Pavlíková"), ("Mráz", "Mrázová"), ("Čierny", "Čierna"),
    ("Zeman", "Zemanová"), ("Slovák", "Slováková"), ("Rusnák", "Rusnáková"),
)  # fmt: skip
_COMPANY_WORDS = [
    "Stavby", "Logistik", "Tech", "Potraviny", "Auto", "Servis", "Systems", "Trade",
    "Consulting", "Montáže", "Elektro", "Drevo", "Kovo", "Agro", "Pekáreň", "Doprava",
    "Reality", "Software", "Textil", "Sklad", "Tlač", "Medical", "Obchod", "Projekt",
]  # fmt: skip
_GROUP_ROOTS = [
    "Alfa", "Tatra", "Danubia", "Karpaty", "Hron", "Váh", "Orava", "Poľana", "Fatra", "Devín",
    "Morava", "Kriváň", "Dukla", "Sitno", "Vihorlat", "Zemplín", "Liptov", "Gemer", "Záhorie",
    "Spiš",
]  # fmt: skip
_GROUP_SUFFIXES = (
    "Holding a.s.",
    "Invest s.r.o.",
    "Development s.r.o.",
    "Trading s.r.o.",
    "Property s.r.o.",
    "Finance s.r.o.",
)
#: name, what a household's standing order pays for.
_UTILITIES = (
    ("ZSE Energia, a.s.", "ELEKTRINA"),
    ("SPP, a.s.", "PLYN"),
    ("Bratislavská vodárenská spoločnosť, a.s.", "VODA"),
    ("Stredoslovenská energetika, a.s.", "ELEKTRINA"),
    ("Východoslovenská energetika a.s.", "ELEKTRINA"),
    ("Západoslovenská vodárenská spoločnosť, a.s.", "VODA"),
    ("Digi Slovakia, s.r.o.", "TV"),
    ("Antik Telecom s.r.o.", "INTERNET"),
    ("Východoslovenská vodárenská spoločnosť, a.s.", "VODA"),
    ("Stredoslovenská vodárenská spoločnosť, a.s.", "VODA"),
    ("Teplo Mesta, a.s.", "TEPLO"),
    ("Správa bytov, s.r.o.", "FOND OPRAV"),
)
_UTILITY_WEIGHTS = np.array([10, 9, 6, 5, 5, 4, 3, 3, 3, 2, 4, 4], dtype=float)
#: name, popularity, toll-free (0800) or shared-cost (0850).
_HOTLINES = (
    ("Banka - klientske centrum", 0.30, 850),
    ("Operátor - zákaznícka linka", 0.30, 800),
    ("Taxi Dunaj s.r.o.", 0.20, 850),
    ("Poisťovňa - infolinka", 0.10, 800),
    ("Slovenská pošta - infolinka", 0.04, 850),
    ("Pizza Rýchlo s.r.o.", 0.03, 850),
    ("Energie - poruchová linka", 0.02, 800),
    ("Nemocnica - objednávky", 0.01, 850),
)
_SHOPS = (
    ("Alza.cz a.s.", "CZ"),
    ("Mall Group a.s.", "CZ"),
    ("Notino s.r.o.", "CZ"),
    ("Bonprix Handelsgesellschaft mbH", "AT"),
    ("Sportisimo s.r.o.", "CZ"),
    ("Shop Apotheke Austria GmbH", "AT"),
)
_MERCHANTS = (
    "LIDL",
    "TESCO",
    "BILLA",
    "KAUFLAND",
    "COOP JEDNOTA",
    "DM DROGERIE",
    "SLOVNAFT",
    "SHELL",
    "IKEA",
    "MCDONALDS",
    "DR.MAX",
    "BENU LEKAREN",
    "DATART",
    "PIZZERIA",
    "KINO",
    "ZSSK",
)
_ROAMING = ("AT", "CZ", "HU", "IT", "HR", "DE", "EG", "ES")
_ROAMING_P = np.array([0.24, 0.2, 0.12, 0.14, 0.05, 0.1, 0.08, 0.07])

# ---------------------------------------------------------------------------------------------
# Tunable numbers of the model
# ---------------------------------------------------------------------------------------------

_HOUSEHOLD_SIZE_P = np.array([0.29, 0.27, 0.19, 0.17, 0.06, 0.02])
#: Span of the people of a circle; a circle takes whole households until the span is filled, so
#: it ends up to 5 people shorter or longer (the last circle may absorb a short remainder).
_CIRCLE_SIZE = (25, 60)
_OUR_OPERATOR = 0.85
_SECOND_SIM = 0.08
_ACCOUNT_ADULT, _ACCOUNT_CHILD = 0.90, 0.55
_CZ_NUMBER_OF_EXTERNAL = 0.10
_HUB_SHARE, _MIN_HUBS, _HUB_CROSS_CONTACTS = 0.005, 5, 15
_BEST_FRIENDS_PER_PERSON = 1 / 200
_FRIEND_DRAWS = 3.5  # each person names 1 + Poisson(3.5) friends in the circle
_ACQUAINTANCE_DRAWS = 0.25
_RISKY_HOUSEHOLDS, _RISKY_DEFAULT, _SPORADIC_DEFAULT = 0.05, 0.75, 0.006
_PEOPLE_PER_EMPLOYER, _PEOPLE_PER_GROUP = 80, 400
_DIRTY_SHARE, _DUPLICATE_SHARE = 0.01, 0.005

# Ages (classes) of persons.
_CHILD, _YOUNG, _ADULT, _SENIOR = 0, 1, 2, 3

#: Roles of parties, as written to truth/nodes.csv.
_ROLES = ("person", "hub", "hotline", "employer", "utility", "group_company", "external")
_R_PERSON, _R_HUB, _R_HOTLINE, _R_EMPLOYER, _R_UTILITY, _R_GROUP, _R_EXTERNAL = range(7)

# Kinds of relationship that make calls.
_HOUSEHOLD, _FRIEND, _BEST, _ACQUAINTANCE, _COLLEAGUE, _HUB, _EMPLOYER, _HOTLINE = range(8)
#: share of the call budget, share of messages, median voice duration (s), its log-sd,
#: probability that a party with two SIMs uses the second one, hour profile.
_TIE_KINDS: dict[int, tuple[float, float, float, float, float, str]] = {
    _HOUSEHOLD: (0.52, 0.45, 90.0, 0.9, 0.1, "household"),
    _FRIEND: (0.24, 0.50, 150.0, 0.9, 0.1, "friend"),
    _BEST: (0.03, 0.35, 600.0, 0.7, 0.1, "evening"),
    _ACQUAINTANCE: (0.02, 0.40, 100.0, 0.9, 0.2, "friend"),
    _COLLEAGUE: (0.05, 0.25, 120.0, 0.8, 0.8, "work"),
    _HUB: (0.08, 0.40, 180.0, 0.9, 0.1, "hub"),
    _EMPLOYER: (0.02, 0.10, 120.0, 0.8, 0.8, "work"),
    _HOTLINE: (0.04, 0.00, 100.0, 0.7, 0.1, "work"),
}
_MMS_OF_MESSAGES = 0.03
_HOTLINE_CALLBACK = 0.005

#: Relative call intensity by hour 0..23 on weekdays and weekend days, and the weight of a
#: weekend day relative to a weekday.
_PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...], float]] = {
    "household": (
        (0.5, 0.3, 0.2, 0.15, 0.1, 0.2, 0.8, 2.0, 1.4, 0.9, 0.9, 0.9,
         1.3, 1.1, 1.1, 1.3, 1.8, 2.8, 5.0, 5.5, 5.5, 5.0, 3.8, 2.0),
        (0.7, 0.5, 0.3, 0.2, 0.1, 0.1, 0.3, 0.8, 1.5, 2.4, 2.8, 2.8,
         2.8, 2.8, 2.8, 2.8, 3.0, 3.4, 4.5, 5.0, 5.0, 4.5, 3.8, 2.2),
        1.5,
    ),
    "friend": (
        (0.1, 0.05, 0.02, 0.02, 0.02, 0.05, 0.2, 0.8, 1.8, 2.4, 2.6, 2.8,
         3.2, 2.8, 2.8, 3.0, 3.2, 3.5, 3.8, 3.6, 3.0, 2.2, 0.9, 0.3),
        (0.3, 0.15, 0.05, 0.02, 0.02, 0.02, 0.1, 0.3, 0.8, 1.8, 2.5, 3.0,
         3.0, 3.0, 3.0, 3.0, 3.0, 3.2, 3.5, 3.5, 3.0, 2.5, 1.4, 0.7),
        1.2,
    ),
    "evening": (
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.5, 4.0, 5.0, 4.0, 1.0, 0),
        (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1.5, 4.0, 5.0, 4.0, 1.0, 0),
        1.0,
    ),
    "hub": (
        (0.05, 0, 0, 0, 0, 0, 0.2, 0.8, 2.0, 3.0, 3.0, 3.0,
         3.0, 3.0, 3.0, 3.0, 3.0, 3.5, 3.5, 3.5, 3.0, 2.0, 0.8, 0.2),
        (0.1, 0, 0, 0, 0, 0, 0, 0.2, 0.8, 2.0, 3.0, 3.0,
         3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 2.5, 1.5, 0.6, 0.2),
        1.0,
    ),
    "work": (
        (0, 0, 0, 0, 0, 0, 0, 0, 2.0, 4.0, 4.0, 4.0,
         2.0, 3.0, 4.0, 3.0, 2.0, 0.5, 0, 0, 0, 0, 0, 0),
        (0,) * 24,
        0.0,
    ),
}  # fmt: skip
_PROFILE_NAMES = tuple(_PROFILES)

# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------

_FILES = ("calls.csv", "bank.csv", "customers.csv", "cells.csv")


@dataclass(frozen=True)
class WorldSummary:
    """What :func:`make_world` wrote: the paths and the key counts of ``truth/summary.json``.

    Attributes
    ----------
    out_dir, calls, bank, customers, cells, truth
        The output directory, the four input files and the truth directory.
    people, seed, households, circles, hubs, cycles, nodes
        Counts of the world (``nodes``: distinct graph nodes in the accepted events).
    call_rows, bank_rows
        Data rows of ``calls.csv`` and ``bank.csv`` (dirty and repeated rows included).
    counts
        The whole ``summary.json``.
    """

    out_dir: Path
    calls: Path
    bank: Path
    customers: Path
    cells: Path
    truth: Path
    people: int
    seed: int
    households: int
    circles: int
    hubs: int
    cycles: int
    nodes: int
    call_rows: int
    bank_rows: int
    counts: dict[str, Any] = field(compare=False, hash=False, repr=False)

    @classmethod
    def read(cls, out_dir: Path) -> WorldSummary:
        """Read the summary of a world written earlier into ``out_dir``.

        Parameters
        ----------
        out_dir
            Directory that :func:`make_world` wrote.

        Returns
        -------
        WorldSummary

        Raises
        ------
        ConfigError
            If ``out_dir/truth/summary.json`` does not exist.
        """
        out_dir = Path(out_dir)
        path = out_dir / "truth" / "summary.json"
        if not path.is_file():
            raise ConfigError(f"{path} not found; make the world first with make_world({out_dir})")
        counts = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            out_dir=out_dir,
            calls=out_dir / "calls.csv",
            bank=out_dir / "bank.csv",
            customers=out_dir / "customers.csv",
            cells=out_dir / "cells.csv",
            truth=out_dir / "truth",
            people=counts["people"],
            seed=counts["seed"],
            households=counts["households"],
            circles=counts["circles"],
            hubs=counts["hubs"],
            cycles=counts["cycles"],
            nodes=counts["nodes"],
            call_rows=counts["files"]["calls.csv"]["rows"],
            bank_rows=counts["files"]["bank.csv"]["rows"],
            counts=counts,
        )


def make_world(
    out_dir: Path,
    *,
    people: int = 2000,
    seed: int = 0,
    calls_per_person: float = 10.0,
    start: str = "2026-01-01",
    months: int = 3,
) -> WorldSummary:
    """Write a synthetic bank + telco world and its ground truth into ``out_dir``.

    The world and its model are described in the module docstring. Everything is drawn from
    ``numpy.random.default_rng(seed)``: the same arguments give byte-identical files.

    Parameters
    ----------
    out_dir
        Directory to write into (created if missing). Gets ``calls.csv``, ``bank.csv``,
        ``customers.csv``, ``cells.csv`` and ``truth/`` (``nodes.csv``, ``phones.csv``,
        ``accounts.csv``, ``cycles.csv``, ``summary.json``); existing files of these names are
        replaced.
    people
        Number of persons (companies come on top: about one employer per 80 people, one company
        group per 400).
    seed
        Seed of every random choice.
    calls_per_person
        Visible calls and messages per person over the whole period (the rows of ``calls.csv``
        are about ``people * calls_per_person``).
    start
        First day of the period, ``YYYY-MM-DD``.
    months
        Length of the period in calendar months.

    Returns
    -------
    WorldSummary
        Paths written and the key counts of ``truth/summary.json``.

    Raises
    ------
    ConfigError
        If an argument is out of range or ``start`` is not a date.

    Examples
    --------
    >>> summary = make_world(Path("world"), people=500, seed=1)  # doctest: +SKIP
    >>> summary.hubs
    5
    """
    if people < 100:
        raise ConfigError(f"people must be at least 100 (got {people}); try people=2000")
    if not 1 <= months <= 24:
        raise ConfigError(f"months must be between 1 and 24 (got {months})")
    if not 0 < calls_per_person <= 1000:
        raise ConfigError(f"calls_per_person must be in (0, 1000] (got {calls_per_person})")
    try:
        start_date = dt.date.fromisoformat(start)
    except ValueError:
        raise ConfigError(f"start must be a date like 2026-01-01 (got {start!r})") from None
    if seed < 0:
        raise ConfigError(f"seed must be a non-negative integer (got {seed})")

    out_dir = Path(out_dir)
    (out_dir / "truth").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    period = _Period.make(start_date, months)
    world = _build_world(rng, people, period)

    files: dict[str, dict[str, Any]] = {}
    calls_info = _write_calls(rng, world, period, calls_per_person, out_dir / "calls.csv")
    files["calls.csv"] = calls_info.pop("file")
    bank_info = _write_bank(rng, world, period, out_dir)
    files["bank.csv"] = bank_info.pop("file")
    files["customers.csv"] = _clean_file(_write_customers(world, rng, out_dir / "customers.csv"))
    files["cells.csv"] = _clean_file(_write_cells(world, out_dir / "cells.csv"))
    _write_truth_tables(world, out_dir / "truth")

    seen = np.zeros(world.n_parties, dtype=bool)
    seen[calls_info.pop("parties")] = True
    seen[bank_info.pop("parties")] = True
    summary: dict[str, Any] = {
        "files": files,
        **calls_info,
        **bank_info,
        "nodes": int(seen.sum()),
        "households": int(world.n_households),
        "circles": int(world.n_circles),
        "hubs": int(world.is_hub.sum()),
        "people": people,
        "seed": seed,
        "start": start_date.isoformat(),
        "months": months,
        "calls_per_person": calls_per_person,
    }
    text = json.dumps(summary, indent=2, sort_keys=True) + "\n"
    (out_dir / "truth" / "summary.json").write_text(text, encoding="utf-8")
    return WorldSummary.read(out_dir)


# ---------------------------------------------------------------------------------------------
# The period
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Period:
    """Calendar facts of the simulated period, as arrays indexed by day (0 = ``start``)."""

    start: dt.date
    days: int
    dates: pl.Series  # "YYYY-MM-DD" of each day
    weekend: np.ndarray  # bool per day
    month_first: np.ndarray  # day index of the 1st of each month touching the period
    month_label: tuple[str, ...]  # "MM/YYYY" of those months
    prev_label: tuple[str, ...]  # "MM/YYYY" of the month before each of them
    dst_days: np.ndarray  # days whose 02:00-02:59 does not exist or happens twice

    @classmethod
    def make(cls, start: dt.date, months: int) -> _Period:
        y, m = divmod(start.month - 1 + months, 12)
        end_month = dt.date(start.year + y, m + 1, 1)
        end = end_month.replace(day=min(start.day, calendar.monthrange(end_month.year, m + 1)[1]))
        days = (end - start).days
        firsts = [_month_add(start.replace(day=1), k) for k in range(months + 1)]
        dst = []
        for year in range(start.year, end.year + 1):
            for month in (3, 10):  # EU rule: last Sunday of March and of October
                last = dt.date(year, month, calendar.monthrange(year, month)[1])
                day = last - dt.timedelta(days=(last.weekday() - 6) % 7)
                if start <= day < end:
                    dst.append((day - start).days)
        all_days = [start + dt.timedelta(days=i) for i in range(days)]
        return cls(
            start=start,
            days=days,
            dates=pl.Series([d.isoformat() for d in all_days], dtype=pl.String),
            weekend=np.array([d.weekday() >= 5 for d in all_days]),
            month_first=np.array([(f - start).days for f in firsts]),
            month_label=tuple(f"{f.month:02d}/{f.year}" for f in firsts),
            prev_label=tuple(
                f"{p.month:02d}/{p.year}" for p in (_month_add(f, -1) for f in firsts)
            ),
            dst_days=np.array(dst, dtype=np.int64),
        )

    def monthly(self, dom: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Occurrences of monthly events on day-of-month ``dom`` (one per item) in the period.

        Returns the item index, the day and the month index of each occurrence.
        """
        k_n = len(self.month_first)
        item = np.repeat(np.arange(dom.size), k_n)
        k = np.tile(np.arange(k_n), dom.size)
        day = self.month_first[k] + dom[item] - 1
        keep = (day >= 0) & (day < self.days)
        return item[keep], day[keep], k[keep]


def _month_add(d: dt.date, k: int) -> dt.date:
    y, m = divmod(d.month - 1 + k, 12)
    return dt.date(d.year + y, m + 1, d.day)


# ---------------------------------------------------------------------------------------------
# The world: parties, identifiers, places
# ---------------------------------------------------------------------------------------------


@dataclass
class _World:
    """Every party of the world (persons first, then companies, then outsiders) as arrays."""

    people: int
    n_parties: int
    n_households: int
    n_circles: int
    # per person
    household: np.ndarray
    rank: np.ndarray
    cls: np.ndarray
    child_slot: np.ndarray
    circle_p: np.ndarray
    hstart: np.ndarray
    hsize: np.ndarray
    # per party
    kind: np.ndarray  # 0 person, 1 company
    role: np.ndarray
    registered: np.ndarray
    is_hub: np.ndarray
    defaulted: np.ndarray
    group: np.ndarray
    employer: np.ndarray  # party index of the employer, -1
    income: np.ndarray  # cents per month
    assets: np.ndarray  # euros
    segment: pl.Series
    name: pl.Series
    customer_id: pl.Series  # null outside the register
    home_cell: np.ndarray
    town: np.ndarray
    work_cell: np.ndarray  # employers' and hotlines' own cell; persons' employer's cell
    phone1: np.ndarray
    phone2: np.ndarray
    account: np.ndarray
    # identifiers
    ph_party: np.ndarray
    ph_e164: pl.Series
    ph_forms: pl.Series  # form f of phone i at f * n_phones + i
    ac_party: np.ndarray
    ac_ours: np.ndarray
    ac_iban: pl.Series
    ac_forms: pl.Series
    # places
    cell_ids: pl.Series
    cell_lat: np.ndarray
    cell_lon: np.ndarray
    town_cell_start: np.ndarray
    town_cells: np.ndarray
    # company structure
    employers: np.ndarray
    utilities: np.ndarray
    hotlines: np.ndarray
    hotline_p: np.ndarray
    group_members: np.ndarray
    group_of_member: np.ndarray
    shops: np.ndarray
    partners: np.ndarray
    ext_landlords: np.ndarray
    payday: np.ndarray  # per party (employers)
    # social structure
    trips: tuple[np.ndarray, np.ndarray, np.ndarray]  # start, end (exclusive), country; per person
    ties: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=dict)


def _build_world(rng: np.random.Generator, people: int, period: _Period) -> _World:
    p = people
    # --- households -------------------------------------------------------------------------
    sizes = rng.choice(6, size=int(p / 2.0) + 16, p=_HOUSEHOLD_SIZE_P) + 1
    while sizes.sum() < p:
        sizes = np.concatenate([sizes, rng.choice(6, size=16, p=_HOUSEHOLD_SIZE_P) + 1])
    cum = np.cumsum(sizes)
    n_h = int(np.searchsorted(cum, p)) + 1
    sizes = sizes[:n_h].copy()
    sizes[-1] -= cum[n_h - 1] - p
    household = np.repeat(np.arange(n_h), sizes)
    hstart = np.cumsum(sizes) - sizes
    rank = np.arange(p) - hstart[household]
    hsize = sizes[household]

    hu = rng.random(n_h)
    senior_h = ((sizes == 1) & (hu < 0.33)) | ((sizes == 2) & (hu < 0.25))
    single_parent = ((sizes == 2) & (hu >= 0.25) & (hu < 0.40)) | ((sizes >= 3) & (hu < 0.15))
    grand_h = (sizes >= 5) & (rng.random(n_h) < 0.3)
    child_slot = (rank >= 2) | ((rank == 1) & single_parent[household])
    child_cls = np.where(rng.random(p) < 0.6, _CHILD, _YOUNG)
    cls = np.where(senior_h[household], _SENIOR, _ADULT)
    cls = np.where(child_slot, child_cls, cls)
    grand = grand_h[household] & (rank == hsize - 1)
    cls = np.where(grand, _SENIOR, cls)
    child_slot = child_slot & ~grand

    gender = rng.integers(0, 2, p)
    partners = (sizes >= 2) & ~single_parent
    g0 = (rng.random(n_h) < 0.1).astype(gender.dtype)
    gender = np.where(partners[household] & (rank == 0), g0[household], gender)
    gender = np.where(partners[household] & (rank == 1), 1 - g0[household], gender)
    sur_h = rng.integers(0, len(_SURNAMES), n_h)
    own = rng.integers(0, len(_SURNAMES), p)
    surname = np.where(child_slot | (rank == 0) | (rng.random(p) < 0.8), sur_h[household], own)
    first = rng.integers(0, len(_MALE), p)

    # --- circles, towns, cells --------------------------------------------------------------
    perm_h = rng.permutation(n_h)
    sz = sizes[perm_h]
    before = np.cumsum(sz) - sz
    bounds = np.cumsum(rng.integers(_CIRCLE_SIZE[0], _CIRCLE_SIZE[1] + 1, p // 20 + 2))
    circ = np.searchsorted(bounds, before, side="right")
    n_c = int(circ.max()) + 1
    if n_c > 1 and sz[circ == n_c - 1].sum() < 20:
        circ[circ == n_c - 1] = n_c - 2
        n_c -= 1
    circle_h = np.empty(n_h, dtype=np.int64)
    circle_h[perm_h] = circ
    first_pos = np.searchsorted(circ, np.arange(n_c))
    rank_in_circle = np.empty(n_h, dtype=np.int64)
    rank_in_circle[perm_h] = np.arange(n_h) - first_pos[circ]
    circle_p = circle_h[household]

    n_towns = min(len(_TOWNS), max(4, p // 250))
    tw = np.array([t[4] for t in _TOWNS[:n_towns]])
    tw = tw / tw.sum()
    town_cells = np.maximum(_MIN_CELLS_PER_TOWN, np.round(tw * p / _PEOPLE_PER_CELL)).astype(int)
    town_cell_start = np.cumsum(town_cells) - town_cells
    n_cells = int(town_cells.sum())
    cell_town = np.repeat(np.arange(n_towns), town_cells)
    spread = np.where(cell_town == 0, 4.0, 1.8) / 111.0
    lat0 = np.array([t[2] for t in _TOWNS[:n_towns]])[cell_town]
    lon0 = np.array([t[3] for t in _TOWNS[:n_towns]])[cell_town]
    cell_lat = lat0 + rng.normal(0, 1, n_cells) * spread
    cell_lon = lon0 + rng.normal(0, 1, n_cells) * spread / np.cos(np.radians(lat0))
    cell_no = np.arange(n_cells) - town_cell_start[cell_town] + 1
    cell_ids = pl.DataFrame(
        {"t": pl.Series([t[0] for t in _TOWNS[:n_towns]]).gather(cell_town), "n": cell_no}
    ).select(pl.concat_str(pl.col("t"), pl.col("n").cast(pl.String).str.zfill(5)))
    circle_town = rng.choice(n_towns, size=n_c, p=tw)
    circle_off = rng.integers(0, 1 << 30, n_c)
    town_h = circle_town[circle_h]
    home_h = town_cell_start[town_h] + (circle_off[circle_h] + rank_in_circle) % town_cells[town_h]

    # --- register and accounts of persons ---------------------------------------------------
    registered_p = rng.random(p) < _OUR_OPERATOR
    has_account = registered_p & (
        rng.random(p) < np.where(cls == _CHILD, _ACCOUNT_CHILD, _ACCOUNT_ADULT)
    )

    # --- hubs -------------------------------------------------------------------------------
    cand = rng.permutation(np.flatnonzero(registered_p & (cls == _ADULT)))
    first_in_circle = np.zeros(cand.size, dtype=bool)
    first_in_circle[np.unique(circle_p[cand], return_index=True)[1]] = True
    n_hubs = max(_MIN_HUBS, round(_HUB_SHARE * p))
    hubs = cand[np.argsort(~first_in_circle, kind="stable")[:n_hubs]]

    # --- companies --------------------------------------------------------------------------
    n_emp = max(5, p // _PEOPLE_PER_EMPLOYER)
    n_util = min(len(_UTILITIES), max(4, p // 200))
    n_hot = min(len(_HOTLINES), 4 + p // 100_000)
    n_groups = max(3, p // _PEOPLE_PER_GROUP)
    gsize = rng.integers(2, 7, n_groups)
    n_gc = int(gsize.sum())
    n_shop = len(_SHOPS)
    n_partner = max(3, n_gc // 2)
    n_land = max(3, p // 60)

    o_emp = p
    o_util = o_emp + n_emp
    o_hot = o_util + n_util
    o_gc = o_hot + n_hot
    o_shop = o_gc + n_gc
    o_partner = o_shop + n_shop
    o_land = o_partner + n_partner
    n = o_land + n_land
    employers = np.arange(o_emp, o_util)
    utilities = np.arange(o_util, o_hot)
    hotlines = np.arange(o_hot, o_gc)
    group_members = np.arange(o_gc, o_shop)
    shops = np.arange(o_shop, o_partner)
    partners_ = np.arange(o_partner, o_land)
    ext_landlords = np.arange(o_land, n)
    group_of_member = np.repeat(np.arange(n_groups), gsize)

    kind = np.ones(n, dtype=np.int8)
    kind[:p] = 0
    kind[ext_landlords] = 0
    role = np.full(n, _R_EXTERNAL, dtype=np.int8)
    role[:p] = np.where(registered_p, _R_PERSON, _R_EXTERNAL)
    role[hubs] = _R_HUB
    role[employers] = _R_EMPLOYER
    role[utilities] = _R_UTILITY
    role[hotlines] = _R_HOTLINE
    role[group_members] = _R_GROUP
    registered = role != _R_EXTERNAL
    is_hub = np.zeros(n, dtype=bool)
    is_hub[hubs] = True
    group = np.full(n, -1, dtype=np.int64)
    group[group_members] = group_of_member

    # employers: heavy-tailed sizes, one town each (every town has one), employees mostly local
    emp_town = np.concatenate(
        [np.arange(min(n_towns, n_emp)), rng.choice(n_towns, max(0, n_emp - n_towns), p=tw)]
    )
    emp_w = rng.pareto(1.1, n_emp) + 1.0
    emp_order = np.argsort(emp_town, kind="stable")
    cw = np.cumsum(emp_w[emp_order])
    town_tot = np.bincount(emp_town, weights=emp_w, minlength=n_towns)
    town_before = np.cumsum(town_tot) - town_tot
    employed = ((cls == _ADULT) & (rng.random(p) < 0.8)) | (
        (cls == _YOUNG) & (rng.random(p) < 0.45)
    )
    emp_idx = np.flatnonzero(employed)
    ptown = town_h[household[emp_idx]]
    local = np.searchsorted(cw, town_before[ptown] + rng.random(emp_idx.size) * town_tot[ptown])
    anywhere = np.searchsorted(cw, rng.random(emp_idx.size) * cw[-1])
    pick = np.where(rng.random(emp_idx.size) < 0.9, local, anywhere)
    pick = np.minimum(pick, n_emp - 1)
    employer = np.full(n, -1, dtype=np.int64)
    employer[emp_idx] = employers[emp_order[pick]]

    # places of parties
    home_cell = np.full(n, -1, dtype=np.int64)
    home_cell[:p] = home_h[household]
    town = np.full(n, -1, dtype=np.int64)
    town[:p] = town_h[household]
    town[employers] = emp_town
    town[hotlines] = 0
    town_cell_of = town[np.r_[employers, hotlines]]
    work_cell = np.full(n, -1, dtype=np.int64)
    work_cell[np.r_[employers, hotlines]] = (
        town_cell_start[town_cell_of]
        + rng.integers(0, 1 << 30, town_cell_of.size) % town_cells[town_cell_of]
    )
    work_cell[:p] = np.where(employer[:p] >= 0, work_cell[np.maximum(employer[:p], 0)], -1)
    payday = np.zeros(n, dtype=np.int64)
    payday[employers] = rng.integers(8, 16, n_emp)

    # defaults: concentrated in risky households
    eligible = registered_p & has_account & (cls != _CHILD)
    risky = rng.random(n_h) < _RISKY_HOUSEHOLDS
    u = rng.random(p)
    dflt_p = eligible & ((risky[household] & (u < _RISKY_DEFAULT)) | (u < _SPORADIC_DEFAULT))
    defaulted = np.zeros(n, dtype=bool)
    defaulted[:p] = dflt_p

    # money of persons
    inc = np.zeros(p)
    adult = cls == _ADULT
    inc = np.where(adult & employed, rng.lognormal(np.log(1150), 0.45, p), inc)
    inc = np.where(adult & ~employed, rng.lognormal(np.log(450), 0.3, p), inc)
    inc = np.where((cls == _YOUNG) & employed, rng.lognormal(np.log(800), 0.35, p), inc)
    inc = np.where(cls == _SENIOR, rng.lognormal(np.log(620), 0.2, p), inc)
    inc = np.where(dflt_p, inc * 0.7, inc)
    income = np.zeros(n, dtype=np.int64)
    income[:p] = np.round(inc * 100).astype(np.int64)
    ast = np.where(
        cls == _CHILD, rng.lognormal(np.log(150), 1.0, p), rng.lognormal(np.log(4000), 1.3, p)
    )
    ast = np.where(dflt_p, ast * 0.2, ast)
    assets = np.zeros(n, dtype=np.int64)
    assets[:p] = np.round(ast).astype(np.int64)
    assets[p:] = np.round(rng.lognormal(np.log(400_000), 1.2, n - p)).astype(np.int64)

    # segments
    seg_p = np.where(
        (cls == _CHILD) | (cls == _YOUNG),
        "youth",
        np.where(cls == _SENIOR, "senior", np.where(inc > 2500, "premium", "retail")),
    )
    emp_sizes = np.bincount(employer[employer >= 0] - o_emp, minlength=n_emp)
    seg_c = np.full(n - p, "sme", dtype=object)
    seg_c[employers - p] = np.where(emp_sizes >= 50, "corporate", "sme")
    seg_c[np.r_[utilities, hotlines] - p] = "corporate"
    segment = pl.Series(np.concatenate([seg_p.astype(object), seg_c]), dtype=pl.String)

    # names
    partner_cc = rng.choice([1, 2], n_partner, p=[0.6, 0.4])  # Czech or Austrian partners
    name = _names(
        rng,
        gender,
        first,
        surname,
        n_emp=n_emp,
        n_util=n_util,
        n_hot=n_hot,
        group_of_member=group_of_member,
        partner_cc=partner_cc,
        n_land=n_land,
    )

    # --- phones -----------------------------------------------------------------------------
    second = registered_p & (cls == _ADULT) & (rng.random(p) < _SECOND_SIM)
    cz = ~registered_p & (rng.random(p) < _CZ_NUMBER_OF_EXTERNAL)
    sim_party = np.concatenate([np.arange(p), np.flatnonzero(second), employers])
    sim_cz = np.concatenate([cz, np.zeros(second.sum() + n_emp, dtype=bool)])
    n_sk = int((~sim_cz).sum())
    sk = _distinct(rng, 0, _SK_MOBILE.size * 1_000_000, n_sk)
    sk_nsn = _SK_MOBILE[sk // 1_000_000] * 1_000_000 + sk % 1_000_000
    czv = _distinct(rng, 0, _CZ_MOBILE.size * 1_000_000, int(sim_cz.sum()))
    cz_nsn = _CZ_MOBILE[czv // 1_000_000] * 1_000_000 + czv % 1_000_000
    nsn = np.empty(sim_party.size, dtype=np.int64)
    nsn[~sim_cz] = sk_nsn
    nsn[sim_cz] = cz_nsn
    hot_nsn = np.array([_HOTLINES[i][2] for i in range(n_hot)]) * 1_000_000 + _distinct(
        rng, 100_000, 1_000_000, n_hot
    )
    ph_party = np.concatenate([sim_party, hotlines])
    ph_cc = np.concatenate([np.where(sim_cz, 420, 421), np.full(n_hot, 421)])
    ph_nsn = np.concatenate([nsn, hot_nsn])
    # random order, so that nothing about a party can be read from where its phone sits
    perm = rng.permutation(ph_party.size)
    ph_party, ph_cc, ph_nsn = ph_party[perm], ph_cc[perm], ph_nsn[perm]
    phone1 = np.full(n, -1, dtype=np.int64)
    phone2 = np.full(n, -1, dtype=np.int64)
    idx = np.arange(ph_party.size)
    # before the shuffle, the first p phones were the persons' main SIMs
    main = (perm < p) | np.isin(ph_party, np.r_[employers, hotlines])
    phone1[ph_party[main]] = idx[main]
    phone2[ph_party[~main]] = idx[~main]
    ph_forms = _phone_forms(ph_cc, ph_nsn)

    # --- accounts ---------------------------------------------------------------------------
    holders = np.concatenate([np.flatnonzero(has_account), employers, utilities, group_members])
    n_ours = holders.size
    ac_party = np.concatenate([holders, ext_landlords, shops, partners_])
    country = np.concatenate(  # 0 SK, 1 CZ, 2 AT
        [
            np.zeros(n_ours + n_land, dtype=np.int64),
            np.array([1 if c == "CZ" else 2 for _, c in _SHOPS]),
            partner_cc,
        ]
    )
    bank = np.empty(ac_party.size, dtype=np.int64)
    bank[:n_ours] = _OUR_BANK
    bank[n_ours:] = _SK_OTHER_BANKS[rng.integers(0, _SK_OTHER_BANKS.size, ac_party.size - n_ours)]
    bank = np.where(country == 1, _CZ_BANKS[rng.integers(0, _CZ_BANKS.size, bank.size)], bank)
    bank = np.where(country == 2, _AT_BANKS[rng.integers(0, _AT_BANKS.size, bank.size)], bank)
    ac_iban = _ibans(rng, country, bank)
    ac_ours = np.zeros(ac_party.size, dtype=bool)
    ac_ours[:n_ours] = True
    perm = rng.permutation(ac_party.size)
    ac_party, ac_ours, ac_iban = ac_party[perm], ac_ours[perm], ac_iban.gather(perm)
    account = np.full(n, -1, dtype=np.int64)
    account[ac_party] = np.arange(ac_party.size)
    ac_forms = _iban_forms(ac_iban)

    # --- register ids -----------------------------------------------------------------------
    reg = np.flatnonzero(registered)
    ids = _distinct(rng, 10_000_000, 100_000_000, reg.size)
    cid = np.full(n, -1, dtype=np.int64)
    cid[reg] = ids
    customer_id = (
        pl.DataFrame({"c": cid})
        .select(pl.when(pl.col("c") >= 0).then(pl.concat_str(pl.lit("C"), pl.col("c"))))
        .to_series()
        .rename("customer_id")
    )

    # --- trips (roaming) --------------------------------------------------------------------
    trip_s = np.full(p, -1, dtype=np.int64)
    trip_e = np.full(p, -1, dtype=np.int64)
    trip_c = np.full(p, -1, dtype=np.int64)
    months = len(period.month_first) - 1
    biz = employed & (rng.random(p) < 1 - np.exp(-0.04 * months))
    bs = rng.integers(0, max(1, period.days - 4), p)
    trip_s = np.where(biz, bs, trip_s)
    trip_e = np.where(biz, bs + rng.integers(2, 5, p), trip_e)
    trip_c = np.where(biz, rng.choice(len(_ROAMING), p, p=_ROAMING_P), trip_c)
    fam = rng.random(n_h) < 1 - np.exp(-0.12 * months)
    fs = rng.integers(0, max(1, period.days - 3), n_h)
    fe = fs + rng.integers(3, 11, n_h)
    fc = rng.choice(len(_ROAMING), n_h, p=_ROAMING_P)
    on = fam[household]
    trip_s = np.where(on, fs[household], trip_s)
    trip_e = np.where(on, fe[household], trip_e)
    trip_c = np.where(on, fc[household], trip_c)

    hot_w = np.array([_HOTLINES[i][1] for i in range(n_hot)])
    members_order = np.argsort(group_of_member, kind="stable")
    world = _World(
        people=p,
        n_parties=n,
        n_households=n_h,
        n_circles=n_c,
        household=household,
        rank=rank,
        cls=cls,
        child_slot=child_slot,
        circle_p=circle_p,
        hstart=hstart,
        hsize=sizes,
        kind=kind,
        role=role,
        registered=registered,
        is_hub=is_hub,
        defaulted=defaulted,
        group=group,
        employer=employer,
        income=income,
        assets=assets,
        segment=segment,
        name=name,
        customer_id=customer_id,
        home_cell=home_cell,
        town=town,
        work_cell=work_cell,
        phone1=phone1,
        phone2=phone2,
        account=account,
        ph_party=ph_party,
        ph_e164=ph_forms.slice(0, ph_party.size),
        ph_forms=ph_forms,
        ac_party=ac_party,
        ac_ours=ac_ours,
        ac_iban=ac_iban,
        ac_forms=ac_forms,
        cell_ids=cell_ids.to_series(),
        cell_lat=cell_lat,
        cell_lon=cell_lon,
        town_cell_start=town_cell_start,
        town_cells=town_cells,
        employers=employers,
        utilities=utilities,
        hotlines=hotlines,
        hotline_p=hot_w / hot_w.sum(),
        group_members=group_members[members_order],
        group_of_member=group_of_member[members_order],
        shops=shops,
        partners=partners_,
        ext_landlords=ext_landlords,
        payday=payday,
        trips=(trip_s, trip_e, trip_c),
    )
    world.ties = _social_ties(rng, world, hubs, has_account)
    return world


def _distinct(rng: np.random.Generator, low: int, high: int, n: int) -> np.ndarray:
    """``n`` distinct integers from ``[low, high)``, in random order."""
    out = np.empty(0, dtype=np.int64)
    while out.size < n:
        draw = rng.integers(low, high, int((n - out.size) * 1.1) + 16)
        both = np.concatenate([out, draw])
        out = both[np.sort(np.unique(both, return_index=True)[1])]
    return out[:n]


def _names(
    rng: np.random.Generator,
    gender: np.ndarray,
    first: np.ndarray,
    surname: np.ndarray,
    *,
    n_emp: int,
    n_util: int,
    n_hot: int,
    group_of_member: np.ndarray,
    partner_cc: np.ndarray,
    n_land: int,
) -> pl.Series:
    """Names of every party, in party order."""
    firsts = pl.Series(_MALE + _FEMALE)
    surnames = pl.Series([s for pair in _SURNAMES for s in pair])
    people = pl.select(
        pl.concat_str(
            pl.lit(firsts.gather(first + gender * len(_MALE))),
            pl.lit(surnames.gather(surname * 2 + gender)),
            separator=" ",
        )
    ).to_series()
    words = pl.Series(_COMPANY_WORDS)
    sur_m = pl.Series([s[0] for s in _SURNAMES])
    emp = pl.select(
        pl.concat_str(
            pl.lit(sur_m.gather(rng.integers(0, len(_SURNAMES), n_emp))),
            pl.lit(words.gather(rng.integers(0, len(_COMPANY_WORDS), n_emp))),
            pl.lit(pl.Series(["s.r.o.", "a.s.", "spol. s r.o."]).gather(rng.integers(0, 3, n_emp))),
            separator=" ",
        )
    ).to_series()
    roots = rng.integers(0, len(_GROUP_ROOTS), int(group_of_member.max()) + 1)
    first_of = np.searchsorted(group_of_member, group_of_member)
    pos = np.arange(group_of_member.size) - first_of
    gc = pl.select(
        pl.concat_str(
            pl.lit(pl.Series(_GROUP_ROOTS).gather(roots[group_of_member])),
            pl.lit(pl.Series(_GROUP_SUFFIXES).gather(pos % len(_GROUP_SUFFIXES))),
            separator=" ",
        )
    ).to_series()
    n_partner = partner_cc.size
    partner = pl.select(
        pl.concat_str(
            pl.lit(words.gather(rng.integers(0, len(_COMPANY_WORDS), n_partner))),
            pl.lit(pl.Series(["", " CZ s.r.o.", " Handels GmbH"]).gather(partner_cc)),
        )
    ).to_series()
    lg = rng.integers(0, 2, n_land)
    land = pl.select(
        pl.concat_str(
            pl.lit(firsts.gather(rng.integers(0, len(_MALE), n_land) + lg * len(_MALE))),
            pl.lit(surnames.gather(rng.integers(0, len(_SURNAMES), n_land) * 2 + lg)),
            separator=" ",
        )
    ).to_series()
    return (
        pl.concat(
            [
                people,
                emp,
                pl.Series([u[0] for u in _UTILITIES[:n_util]]),
                pl.Series([h[0] for h in _HOTLINES[:n_hot]]),
                gc,
                pl.Series([s[0] for s in _SHOPS]),
                partner,
                land,
            ]
        )
        .rename("name")
        .rechunk()
    )


def _phone_forms(cc: np.ndarray, nsn: np.ndarray) -> pl.Series:
    """The six writings of each phone; writing ``f`` of phone ``i`` sits at ``f * n + i``.

    Writing 0 is E.164. Czech numbers have no national writing here, so those slots repeat
    the international ones.
    """
    df = pl.DataFrame({"cc": cc, "n": nsn}).select(
        cc=pl.col("cc").cast(pl.String),
        n=pl.col("n").cast(pl.String).str.zfill(9),
        sk=pl.col("cc") == 421,
    )
    n = pl.col("n")
    spaced = pl.concat_str(n.str.slice(0, 3), n.str.slice(3, 3), n.str.slice(6, 3), separator=" ")
    f0 = pl.concat_str(pl.lit("+"), pl.col("cc"), n)
    f2 = pl.concat_str(pl.lit("00"), pl.col("cc"), n)
    f4 = pl.concat_str(pl.lit("+"), pl.col("cc"), pl.lit(" "), spaced)
    forms = df.select(
        f0=f0,
        f1=pl.when("sk").then(pl.concat_str(pl.lit("0"), n)).otherwise(f0),
        f2=f2,
        f3=pl.when("sk").then(pl.concat_str(pl.col("cc"), n)).otherwise(f2),
        f4=f4,
        f5=pl.when("sk").then(pl.concat_str(pl.lit("0"), spaced)).otherwise(f4),
    )
    return pl.concat([forms[c] for c in forms.columns]).rename("phone").rechunk()


def _ibans(rng: np.random.Generator, country: np.ndarray, bank: np.ndarray) -> pl.Series:
    """Valid, distinct compact IBANs: SK and CZ (mod-11 account numbers) and AT."""
    n = country.size
    # SK/CZ account numbers: 9 random digits + the mod-11 check digit; distinct over all
    body = _distinct(rng, 0, 1_000_000_000, int(n * 1.2) + 32)
    digits = (body[:, None] // 10 ** np.arange(8, -1, -1)) % 10
    check = (-(digits * _SK_CZ_WEIGHTS[:9]).sum(axis=1)) % 11
    ok = check < 10
    number = (body * 10 + check)[ok][:n]
    if number.size < n:  # practically impossible (a tenth of bodies fail), but be exact
        return _ibans(rng, country, bank)
    at_number = _distinct(rng, 10_000_000_000, 100_000_000_000, n)
    prefix = np.where(rng.random(n) < 0.1, 19, 0)  # prefix 000019 passes the mod-11 check too
    r = bank % 97
    r = np.where(country == 2, (r * 10**11 + at_number) % 97, ((r * 10**6 + prefix) % 97))
    r = np.where(country == 2, r, (r * 10**10 + number) % 97)
    ccd = np.array([2820, 1235, 1029])[country]  # SK, CZ, AT letters as digits
    r = (r * 10_000 + ccd) % 97
    kk = 98 - (r * 100) % 97
    df = pl.DataFrame(
        {"c": country, "kk": kk, "bank": bank, "pre": prefix, "num": number, "at": at_number}
    )
    return df.select(
        iban=pl.concat_str(
            pl.Series(["SK", "CZ", "AT"]).gather(country),
            pl.col("kk").cast(pl.String).str.zfill(2),
            pl.when(pl.col("c") == 2)
            .then(
                pl.concat_str(
                    pl.col("bank").cast(pl.String).str.zfill(5), pl.col("at").cast(pl.String)
                )
            )
            .otherwise(
                pl.concat_str(
                    pl.col("bank").cast(pl.String).str.zfill(4),
                    pl.col("pre").cast(pl.String).str.zfill(6),
                    pl.col("num").cast(pl.String).str.zfill(10),
                )
            ),
        )
    ).to_series()


def _iban_forms(iban: pl.Series) -> pl.Series:
    """Four writings of each IBAN (compact, grouped, and both lower-case) at ``f * n + i``."""
    s = pl.col("iban")
    grouped = pl.concat_str([s.str.slice(i, 4) for i in range(0, 36, 4)], separator=" ")
    forms = pl.DataFrame({"iban": iban}).select(
        f0=s, f1=grouped.str.strip_chars(" "), f2=s.str.to_lowercase()
    )
    forms = forms.with_columns(f3=pl.col("f1").str.to_lowercase())
    return pl.concat([forms[c] for c in forms.columns]).rename("iban").rechunk()


# ---------------------------------------------------------------------------------------------
# Ties
# ---------------------------------------------------------------------------------------------


def _pairs_unique(a: np.ndarray, b: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Undirected distinct pairs (a < b) of the given ones, without self-pairs, sorted."""
    lo, hi = np.minimum(a, b), np.maximum(a, b)
    keep = lo != hi
    key = np.unique(lo[keep].astype(np.int64) * n + hi[keep])
    return key // n, key % n


def _pick_in_groups(
    rng: np.random.Generator, src: np.ndarray, grp: np.ndarray, members: np.ndarray
) -> np.ndarray:
    """For each ``src``, a random member of its group ``grp[src]`` (``members`` sorted by group).

    ``grp`` covers all indices that ``members`` holds; groups are numbered 0..G-1.
    """
    g_sorted = grp[members]
    n_g = int(grp.max()) + 1
    start = np.searchsorted(g_sorted, np.arange(n_g))
    size = np.bincount(g_sorted, minlength=n_g)
    g = grp[src]
    return members[start[g] + (rng.random(src.size) * size[g]).astype(np.int64)]


def _social_ties(
    rng: np.random.Generator, w: _World, hubs: np.ndarray, has_account: np.ndarray
) -> dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Every relationship that makes calls: kind -> (a, b, strength)."""
    p, n = w.people, w.n_parties
    ties: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}

    # households: all pairs, stronger between partners, weaker between siblings
    aa, bb = [], []
    for s in range(2, 7):
        hs = np.flatnonzero(w.hsize == s)
        ri, rj = np.triu_indices(s, 1)
        aa.append((w.hstart[hs][:, None] + ri[None, :]).ravel())
        bb.append((w.hstart[hs][:, None] + rj[None, :]).ravel())
    a, b = np.concatenate(aa), np.concatenate(bb)
    kid_a, kid_b = w.child_slot[a], w.child_slot[b]
    partner = (w.rank[a] == 0) & (w.rank[b] == 1) & ~kid_b
    old = (w.cls[a] == _SENIOR) ^ (w.cls[b] == _SENIOR)
    base = np.where(partner, 1.6, np.where(kid_a & kid_b, 0.6, np.where(old, 0.6, 1.1)))
    ties[_HOUSEHOLD] = (a, b, base * rng.lognormal(0, 0.35, a.size))

    # friends inside the circle, never in the same household
    persons = np.argsort(w.circle_p, kind="stable")
    src = np.repeat(np.arange(p), 1 + rng.poisson(_FRIEND_DRAWS, p))
    dst = _pick_in_groups(rng, src, w.circle_p, persons)
    keep = w.household[src] != w.household[dst]
    a, b = _pairs_unique(src[keep], dst[keep], n)
    ties[_FRIEND] = (a, b, rng.lognormal(0, 0.9, a.size))

    # best friends: registered young/adult people and a registered friend, calling every evening
    n_best = max(3, round(p * _BEST_FRIENDS_PER_PERSON))
    cand = rng.permutation(np.flatnonzero(w.registered[:p] & np.isin(w.cls, (_YOUNG, _ADULT))))
    cand = cand[: n_best * 4]
    dst = _pick_in_groups(rng, cand, w.circle_p, persons)
    ok = (w.household[cand] != w.household[dst]) & w.registered[dst]
    a, b = _pairs_unique(cand[ok][:n_best], dst[ok][:n_best], n)
    ties[_BEST] = (a, b, rng.uniform(0.8, 1.2, a.size))

    # acquaintances in other circles
    src = np.repeat(np.arange(p), rng.poisson(_ACQUAINTANCE_DRAWS, p))
    dst = rng.integers(0, p, src.size)
    keep = w.circle_p[src] != w.circle_p[dst]
    a, b = _pairs_unique(src[keep], dst[keep], n)
    ties[_ACQUAINTANCE] = (a, b, rng.lognormal(0, 0.7, a.size))

    # colleagues: same employer, working hours
    emp = np.flatnonzero(w.employer[:p] >= 0)
    egrp = np.full(p, -1, dtype=np.int64)
    egrp[emp] = w.employer[emp] - w.employers[0]
    members = emp[np.argsort(egrp[emp], kind="stable")]
    src = np.repeat(emp, (rng.random(emp.size) < 0.5) + rng.poisson(0.15, emp.size))
    dst = _pick_in_groups(rng, src, egrp, members)
    a, b = _pairs_unique(src, dst, n)
    ties[_COLLEAGUE] = (a, b, rng.lognormal(0, 0.6, a.size))

    # hubs: their whole circle (outside their household) and contacts across circles
    hc = w.circle_p[hubs]
    csize = np.bincount(w.circle_p, minlength=w.n_circles)
    cstart = np.searchsorted(w.circle_p[persons], np.arange(w.n_circles))
    src = np.repeat(hubs, csize[hc])
    off = np.arange(src.size) - np.repeat(np.cumsum(csize[hc]) - csize[hc], csize[hc])
    dst = persons[np.repeat(cstart[hc], csize[hc]) + off]
    keep = w.household[src] != w.household[dst]
    src2 = np.repeat(hubs, _HUB_CROSS_CONTACTS + 5)
    dst2 = rng.integers(0, p, src2.size)
    keep2 = w.circle_p[src2] != w.circle_p[dst2]
    a, b = _pairs_unique(
        np.concatenate([src[keep], src2[keep2]]), np.concatenate([dst[keep], dst2[keep2]]), n
    )
    ties[_HUB] = (a, b, rng.lognormal(0, 0.5, a.size))

    # employees and their employer's phone
    e = emp[rng.random(emp.size) < 0.5]
    ties[_EMPLOYER] = (e, w.employer[e], np.ones(e.size))
    return ties


# ---------------------------------------------------------------------------------------------
# Calls
# ---------------------------------------------------------------------------------------------


def _sample_times(
    rng: np.random.Generator, profile: np.ndarray, period: _Period
) -> tuple[np.ndarray, np.ndarray]:
    """Day and hour of each event from its hour profile (index into ``_PROFILE_NAMES``)."""
    day = np.zeros(profile.size, dtype=np.int64)
    hour = np.zeros(profile.size, dtype=np.int64)
    for i, name in enumerate(_PROFILE_NAMES):
        m = np.flatnonzero(profile == i)
        if not m.size:
            continue
        wd, we, factor = _PROFILES[name]
        dw = np.where(period.weekend, factor, 1.0)
        d = np.searchsorted(np.cumsum(dw) / dw.sum(), rng.random(m.size), side="right")
        d = np.minimum(d, period.days - 1)
        h = np.empty(m.size, dtype=np.int64)
        wkend = period.weekend[d]
        for flag, weights in ((False, wd), (True, we)):
            sel = wkend == flag
            if sel.any():
                cdf = np.cumsum(weights) / np.sum(weights)
                h[sel] = np.minimum(np.searchsorted(cdf, rng.random(sel.sum()), side="right"), 23)
        day[m], hour[m] = d, h
    return day, hour


def _simulate_calls(
    rng: np.random.Generator, w: _World, period: _Period, calls_per_person: float
) -> dict[str, np.ndarray]:
    """All visible calls and messages, as arrays sorted by time."""
    budget = calls_per_person * w.people
    ours = w.registered
    cp, ce, kinds = [], [], []
    for k, (a, b, s) in w.ties.items():
        share = _TIE_KINDS[k][0]
        vis = ours[a] | ours[b]
        if not vis.any():
            continue
        rate = np.where(vis, budget * share * s / s[vis].sum(), 0.0)
        cnt = rng.poisson(rate)
        ti = np.repeat(np.arange(a.size), cnt)
        # the employee calls the company phone more often than it calls them
        p_ab = np.full(a.size, 0.7) if k == _EMPLOYER else rng.beta(5, 5, a.size)
        fwd = rng.random(ti.size) < p_ab[ti]
        cp.append(np.where(fwd, a[ti], b[ti]))
        ce.append(np.where(fwd, b[ti], a[ti]))
        kinds.append(np.full(ti.size, k, dtype=np.int8))
    # hotlines: very many callers, in working hours, almost never a call back
    nh = rng.poisson(budget * _TIE_KINDS[_HOTLINE][0])
    cw = np.array([0.2, 0.8, 1.0, 1.3])[w.cls]
    person = np.searchsorted(np.cumsum(cw) / cw.sum(), rng.random(nh), side="right")
    person = np.minimum(person, w.people - 1)
    hot = w.hotlines[
        np.minimum(
            np.searchsorted(np.cumsum(w.hotline_p), rng.random(nh), side="right"),
            w.hotlines.size - 1,
        )
    ]
    back = rng.random(nh) < _HOTLINE_CALLBACK
    cp.append(np.where(back, hot, person))
    ce.append(np.where(back, person, hot))
    kinds.append(np.full(nh, _HOTLINE, dtype=np.int8))
    caller, callee, kind = np.concatenate(cp), np.concatenate(ce), np.concatenate(kinds)
    n = caller.size

    par = np.array([_TIE_KINDS[k] for k in range(len(_TIE_KINDS))], dtype=object)
    p_msg = np.array(par[:, 1], dtype=float)[kind]
    med = np.array(par[:, 2], dtype=float)[kind]
    sig = np.array(par[:, 3], dtype=float)[kind]
    p_sim2 = np.array(par[:, 4], dtype=float)[kind]
    profile = np.array([_PROFILE_NAMES.index(x) for x in par[:, 5]])[kind]

    # which SIM
    def sim(party: np.ndarray) -> np.ndarray:
        two = w.phone2[party] >= 0
        use2 = two & (rng.random(n) < p_sim2)
        return np.where(use2, w.phone2[party], w.phone1[party])

    caller_ph, callee_ph = sim(caller), sim(callee)
    msg = rng.random(n) < p_msg
    etype = np.where(msg, np.where(rng.random(n) < _MMS_OF_MESSAGES, 2, 1), 0).astype(np.int8)
    dur = np.clip(np.round(rng.lognormal(np.log(med), sig)), 1, 7200).astype(np.int64)
    dur = np.where(etype == 0, dur, -1)

    day, hour = _sample_times(rng, profile, period)
    hour = np.where(np.isin(day, period.dst_days) & (hour == 2), 3, hour)
    minute = rng.integers(0, 60, n)
    second = rng.integers(0, 60, n)

    # caller's cell: home at night, work or about town by day; empty for another operator's
    # callers and when roaming
    pc = np.minimum(caller, w.people - 1)
    is_person = caller < w.people
    twn = np.maximum(w.town[caller], 0)
    about = w.town_cell_start[twn] + rng.integers(0, 1 << 30, n) % w.town_cells[twn]
    night = (hour >= 19) | (hour < 7)
    wkend = period.weekend[day]
    working = w.work_cell[caller] >= 0
    u = rng.random(n)
    cell = np.where(
        night,
        np.where(u < 0.92, w.home_cell[caller], about),
        np.where(
            wkend,
            np.where(u < 0.5, w.home_cell[caller], about),
            np.where(
                working,
                np.where(
                    u < 0.65, w.work_cell[caller], np.where(u < 0.8, w.home_cell[caller], about)
                ),
                np.where(u < 0.45, w.home_cell[caller], about),
            ),
        ),
    )
    cell = np.where(is_person, cell, w.work_cell[caller])
    ts, te, tc = w.trips
    # the operator knows where its own subscribers roam, not where others' do
    roaming = is_person & w.registered[caller] & (day >= ts[pc]) & (day < te[pc]) & (tc[pc] >= 0)
    roam = np.where(roaming, tc[pc], -1)
    cell = np.where(roaming | ~w.registered[caller], -1, cell)

    # distinct events never share (caller, callee, second): move clashing ones by a second
    t = ((day * 24 + hour) * 60 + minute) * 60 + second
    nph = w.ph_party.size
    while True:
        order, clash = _sorted_clashes(t * nph + caller_ph, callee_ph)
        if not clash.any():
            break
        t = np.where(clash, t - second + (second + 1) % 60, t)
        second = np.where(clash, (second + 1) % 60, second)
    return {
        "caller": caller[order],
        "callee": callee[order],
        "caller_ph": caller_ph[order],
        "callee_ph": callee_ph[order],
        "kind": kind[order],
        "type": etype[order],
        "duration": dur[order],
        "t": t[order],
        "day": day[order],
        "cell": cell[order],
        "roam": roam[order],
    }


def _sorted_clashes(key: np.ndarray, sub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Stable order of the rows by ``key``, and which rows repeat an earlier ``(key, sub)``.

    Equal keys are rare, so only the rows sharing a key are compared on ``sub``; a repeat is
    the later row (by index) of two equal ones.
    """
    order = np.argsort(key, kind="stable")
    ks = key[order]
    eq = ks[1:] == ks[:-1]
    in_run = np.zeros(key.size, dtype=bool)
    in_run[1:] |= eq
    in_run[:-1] |= eq
    cand = order[in_run]
    clash = np.zeros(key.size, dtype=bool)
    if cand.size:
        c = cand[np.lexsort((cand, sub[cand], key[cand]))]
        same = (key[c][1:] == key[c][:-1]) & (sub[c][1:] == sub[c][:-1])
        clash[c[1:][same]] = True
    return order, clash


def _form_index(rng: np.random.Generator, ids: np.ndarray, p: np.ndarray, n_ids: int) -> np.ndarray:
    """Index into a forms series (``form * n_ids + id``) with the form drawn per row."""
    return rng.choice(p.size, ids.size, p=p) * n_ids + ids


def _dirty_and_repeated(
    rng: np.random.Generator, n: int, eligible: list[np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Choose the rows to corrupt and the blocks an export writes twice.

    Parameters
    ----------
    n
        Rows of the clean file.
    eligible
        Per reason, a per-row mask of the rows that reason may be given to.

    Returns
    -------
    reason
        Per clean row, the index of its reason, -1 for a clean row.
    order
        The written rows as indices into the clean rows (repeated blocks included).
    repeat
        Per written row: it repeats the line just written before its block.
    """
    kinds = len(eligible)
    reason = np.full(n, -1, dtype=np.int64)
    n_dirty = round(_DIRTY_SHARE * n)
    per = np.full(kinds, n_dirty // kinds)
    per[: n_dirty % kinds] += 1
    for r in range(kinds):
        cand = np.flatnonzero(eligible[r] & (reason < 0))
        reason[cand[rng.choice(cand.size, min(per[r], cand.size), replace=False)]] = r
    # blocks of 3-30 rows written twice, one block per equal segment of the file
    target = round(_DUPLICATE_SHARE * n)
    lengths: list[int] = []
    while sum(lengths) < target:
        lengths.append(int(rng.integers(3, 31)))
    if lengths:
        lengths[-1] -= sum(lengths) - target
    seg = n // max(1, len(lengths))
    ln = np.minimum(np.array([x for x in lengths if x > 0], dtype=np.int64), max(seg, 1))
    starts = np.arange(ln.size) * seg + rng.integers(0, np.maximum(1, seg - ln + 1))
    pieces, flags, at = [], [], 0
    for s0, length in zip(starts.tolist(), ln.tolist(), strict=True):
        end = s0 + length
        pieces += [np.arange(at, end), np.arange(s0, end)]
        flags += [np.zeros(end - at, dtype=bool), np.ones(length, dtype=bool)]
        at = end
    pieces.append(np.arange(at, n))
    flags.append(np.zeros(n - at, dtype=bool))
    return reason, np.concatenate(pieces), np.concatenate(flags)


def _file_counts(
    reason: np.ndarray, order: np.ndarray, repeat: np.ndarray, reasons: tuple[str, ...]
) -> dict[str, Any]:
    """Rows, accepted, rejected, duplicates and rejects by reason of a written file."""
    r = reason[order]
    by = np.bincount(r[r >= 0], minlength=len(reasons))
    return {
        "rows": int(order.size),
        "accepted": int((reason < 0).sum()),
        "rejected": int((r >= 0).sum()),
        "duplicates": int(((r < 0) & repeat).sum()),
        "rejected_by_reason": {reasons[i]: int(c) for i, c in enumerate(by) if c},
    }


def _write_chunks(path: Path, n: int, build: Any) -> None:
    """Write ``build(lo, hi)`` frames for consecutive row ranges into one CSV file.

    Chunks keep the memory of a million-people world bounded: only one chunk's strings exist
    at a time.
    """
    with path.open("wb") as fh:
        for lo in range(0, max(n, 1), _CHUNK):
            build(lo, min(n, lo + _CHUNK)).write_csv(
                fh, include_header=lo == 0, line_terminator="\n"
            )


_CHUNK = 1_000_000
_TIME_OF_DAY = pl.Series(
    [f"{h:02d}:{m:02d}:{s:02d}" for h in range(24) for m in range(60) for s in range(60)]
)


_CALL_REASONS = ("missing callee", "bad timestamp", "negative duration", "invalid phone number")
_BAD_TIMES = ("2026-02-30 25:61:00", "yesterday", "2026-13-45 10:00:00", "31.02.2026 99:00")
#: Neither valid numbers nor valid short numbers (phonenumbers and shortnumberinfo agree).
_BAD_PHONES = ("09051", "+421 12", "0905 1234", "+421 905 12")


def _write_calls(
    rng: np.random.Generator, w: _World, period: _Period, cpp: float, path: Path
) -> dict[str, Any]:
    ev = _simulate_calls(rng, w, period, cpp)
    n = ev["t"].size
    nph = w.ph_party.size
    every = np.ones(n, dtype=bool)
    reason, order, repeat = _dirty_and_repeated(rng, n, [every, every, ev["type"] == 0, every])
    caller_f = _form_index(rng, ev["caller_ph"], _PHONE_FORM_P, nph)
    callee_f = _form_index(rng, ev["callee_ph"], _PHONE_FORM_P, nph)
    dirty = np.flatnonzero(reason >= 0)
    side, bad_t, bad_p, neg = (np.zeros(n, dtype=np.int64) for _ in range(4))
    side[dirty] = rng.integers(0, 2, dirty.size)
    bad_t[dirty] = rng.integers(0, len(_BAD_TIMES), dirty.size)
    bad_p[dirty] = rng.integers(0, len(_BAD_PHONES), dirty.size)
    neg[dirty] = -rng.integers(1, 600, dirty.size)

    r = pl.col("r")
    bad_phone = pl.lit(pl.Series(_BAD_PHONES)).gather(pl.col("bp"))
    start_time = pl.concat_str(
        pl.lit(period.dates).gather(pl.col("t") // 86_400),
        pl.lit(" "),
        pl.lit(_TIME_OF_DAY).gather(pl.col("t") % 86_400),
    )
    columns = {
        "caller": pl.when((r == 3) & (pl.col("side") == 0))
        .then(bad_phone)
        .otherwise(pl.col("caller")),
        "callee": pl.when(r == 0)
        .then(pl.lit(None, pl.String))
        .when((r == 3) & (pl.col("side") == 1))
        .then(bad_phone)
        .otherwise(pl.col("callee")),
        "start_time": pl.when(r == 1)
        .then(pl.lit(pl.Series(_BAD_TIMES)).gather(pl.col("bt")))
        .otherwise(start_time),
        "duration_s": pl.when(r == 2)
        .then(pl.col("neg"))
        .when(pl.col("duration") >= 0)
        .then(pl.col("duration"))
        .cast(pl.String),
        "type": pl.lit(pl.Series(["voice", "sms", "mms"])).gather(pl.col("type")),
        "cell_id": pl.when(pl.col("cell") >= 0).then(
            pl.lit(w.cell_ids).gather(pl.col("cell").clip(0))
        ),
        "roaming_country": pl.when(pl.col("roam") >= 0).then(
            pl.lit(pl.Series(_ROAMING)).gather(pl.col("roam").clip(0))
        ),
    }

    def build(lo: int, hi: int) -> pl.DataFrame:
        i = order[lo:hi]
        return pl.DataFrame(
            {
                "caller": w.ph_forms.gather(caller_f[i]),
                "callee": w.ph_forms.gather(callee_f[i]),
                "t": ev["t"][i],
                "duration": ev["duration"][i],
                "type": ev["type"][i],
                "cell": ev["cell"][i],
                "roam": ev["roam"][i],
                "r": reason[i],
                "side": side[i],
                "bt": bad_t[i],
                "bp": bad_p[i],
                "neg": neg[i],
            }
        ).select(**columns)

    _write_chunks(path, order.size, build)

    ok = reason < 0
    used = np.zeros(nph, dtype=bool)
    used[ev["caller_ph"][ok]] = True
    used[ev["callee_ph"][ok]] = True
    parties = np.zeros(w.n_parties, dtype=bool)
    parties[ev["caller"][ok]] = True
    parties[ev["callee"][ok]] = True
    t = ev["type"][ok]
    return {
        "file": _file_counts(reason, order, repeat, _CALL_REASONS),
        "distinct_phones": int(used.sum()),
        "voice_events": int((t == 0).sum()),
        "sms_events": int((t == 1).sum()),
        "mms_events": int((t == 2).sum()),
        "parties": np.flatnonzero(parties),
    }


# ---------------------------------------------------------------------------------------------
# Bank
# ---------------------------------------------------------------------------------------------


@dataclass
class _Transfers:
    """Transfers under construction: payer/payee account index (-1 = card, cash), cents, day."""

    payer: list[np.ndarray] = field(default_factory=list)
    payee: list[np.ndarray] = field(default_factory=list)
    cents: list[np.ndarray] = field(default_factory=list)
    day: list[np.ndarray] = field(default_factory=list)
    desc: list[pl.Series] = field(default_factory=list)
    cycle: list[np.ndarray] = field(default_factory=list)
    hop: list[np.ndarray] = field(default_factory=list)

    def add(
        self,
        payer: np.ndarray,
        payee: np.ndarray,
        cents: np.ndarray,
        day: np.ndarray,
        desc: pl.Series,
        cycle: np.ndarray | None = None,
        hop: np.ndarray | None = None,
    ) -> None:
        m = payer.size
        self.payer.append(np.asarray(payer, dtype=np.int64))
        self.payee.append(np.asarray(payee, dtype=np.int64))
        self.cents.append(np.asarray(cents, dtype=np.int64))
        self.day.append(np.asarray(day, dtype=np.int64))
        self.desc.append(desc.cast(pl.String).rename("desc"))
        self.cycle.append(np.full(m, -1, dtype=np.int64) if cycle is None else cycle)
        self.hop.append(np.full(m, -1, dtype=np.int64) if hop is None else hop)


def _strs(values: tuple[str, ...] | list[str], idx: np.ndarray) -> pl.Series:
    return pl.Series(list(values), dtype=pl.String).gather(idx)


def _cat(*parts: pl.Series | str) -> pl.Series:
    """Concatenate string series (and literals) element-wise."""
    return pl.select(pl.concat_str([pl.lit(x) for x in parts])).to_series()


def _ref(rng: np.random.Generator, m: int, digits: int) -> pl.Series:
    return pl.Series(rng.integers(10 ** (digits - 1), 10**digits, m)).cast(pl.String)


def _euros(rng: np.random.Generator, median: float, sigma: float, m: int) -> np.ndarray:
    """Random amounts in cents (at least one euro)."""
    return np.maximum(100, np.round(rng.lognormal(np.log(median), sigma, m) * 100)).astype(np.int64)


def _money_flows(rng: np.random.Generator, w: _World, period: _Period) -> _Transfers:
    tr = _Transfers()
    p = w.people
    acc = w.account
    has = acc[:p] >= 0
    months_n = len(period.month_first) - 1
    mlab, plab = period.month_label, period.prev_label

    # salaries: employer -> employee, on the employer's pay day
    emp = np.flatnonzero(has & (w.employer[:p] >= 0))
    i, day, k = period.monthly(w.payday[w.employer[emp]])
    pers = emp[i]
    cents = w.income[pers].copy()
    bonus = rng.random(cents.size) < 0.1
    cents = np.where(bonus, np.round(cents * rng.uniform(1.05, 1.3, cents.size)), cents)
    tr.add(acc[w.employer[pers]], acc[pers], cents, day, _cat("MZDA ", _strs(plab, k)))

    # the payer of each household: the first non-child member with an account
    cand = np.flatnonzero(has & ~w.child_slot)
    hh_payer = np.full(w.n_households, -1, dtype=np.int64)
    first = np.unique(w.household[cand], return_index=True)
    hh_payer[first[0]] = cand[first[1]]
    hp = np.flatnonzero(hh_payer >= 0)
    payer = hh_payer[hp]

    # utilities: 1-3 standing orders per household, fixed amount, day and variable symbol
    nu = w.utilities.size
    keys = np.log(_UTILITY_WEIGHTS[:nu])[None, :] + rng.gumbel(size=(hp.size, nu))
    top = np.argsort(-keys, axis=1)
    n_per = rng.choice([1, 2, 3], hp.size, p=[0.5, 0.35, 0.15])
    hi = np.repeat(np.arange(hp.size), n_per)
    col = np.arange(hi.size) - np.repeat(np.cumsum(n_per) - n_per, n_per)
    util = top[hi, col]
    amount = rng.integers(20, 121, hi.size) * 100 + rng.choice([0, 50], hi.size)
    vs = rng.integers(1_000_000_000, 10_000_000_000, hi.size)
    i, day, k = period.monthly(rng.integers(1, 29, hi.size))
    what = _strs([u[1] for u in _UTILITIES], util[i])
    tr.add(
        acc[payer[hi[i]]],
        acc[w.utilities[util[i]]],
        amount[i],
        day,
        _cat("ZALOHA ", what, " VS", pl.Series(vs[i]).cast(pl.String)),
    )

    # rent: to a private landlord at another bank, sometimes to one of our customers
    renting = rng.random(hp.size) < 0.28
    rp = payer[renting]
    rh = hp[renting]
    land = w.ext_landlords[rng.integers(0, w.ext_landlords.size, rp.size)]
    ours_land = np.flatnonzero(has & np.isin(w.cls, (_ADULT, _SENIOR)))
    alt = ours_land[rng.integers(0, ours_land.size, rp.size)]
    use_ours = (rng.random(rp.size) < 0.2) & (w.household[alt] != rh)
    land = np.where(use_ours, alt, land)
    rent = rng.integers(38, 96, rp.size) * 1000
    i, day, k = period.monthly(rng.integers(1, 9, rp.size))
    tr.add(acc[rp[i]], acc[land[i]], rent[i], day, _cat("NAJOM ", _strs(mlab, k)))

    # a second adult's monthly share of rent and energy, to the payer
    other = has & ~w.child_slot & (np.arange(p) != hh_payer[w.household])
    oc = np.flatnonzero(other)
    fo = np.unique(w.household[oc], return_index=True)
    share_from = oc[fo[1]]
    keep = rng.random(share_from.size) < 0.6
    sf = share_from[keep]
    st = hh_payer[w.household[sf]]
    amt = rng.integers(10, 46, sf.size) * 1000
    i, day, k = period.monthly(rng.integers(1, 29, sf.size))
    desc = _strs(
        ("PODIEL NAJOM A ENERGIE", "DOMACNOST", "Nájom + energie"), rng.integers(0, 3, i.size)
    )
    tr.add(acc[sf[i]], acc[st[i]], amt[i], day, desc)

    # allowances: a parent (rank 0 or 1, not a child) -> each child with an account
    kids = np.flatnonzero(has & w.child_slot & (rng.random(p) < 0.75))
    h = w.household[kids]
    p0, p1 = w.hstart[h], w.hstart[h] + 1
    ok0 = (acc[p0] >= 0) & ~w.child_slot[p0]
    ok1 = (
        (w.hsize[h] > 1) & (acc[np.minimum(p1, p - 1)] >= 0) & ~w.child_slot[np.minimum(p1, p - 1)]
    )
    parent = np.where(ok0 & (~ok1 | (rng.random(kids.size) < 0.6)), p0, np.where(ok1, p1, -1))
    kids, parent = kids[parent >= 0], parent[parent >= 0]
    young = w.cls[kids] == _YOUNG
    amt = np.where(
        young, rng.integers(10, 31, kids.size) * 1000, rng.integers(4, 17, kids.size) * 500
    )
    i, day, k = period.monthly(rng.integers(1, 29, kids.size))
    desc = pl.Series(np.where(young[i], "PRISPEVOK NA STUDIUM", "VRECKOVE"), dtype=pl.String)
    tr.add(acc[parent[i]], acc[kids[i]], amt[i], day, desc)

    # occasional money between household members and, rarely, friends
    for kind, rate, med, words in (
        (_HOUSEHOLD, 0.5, 40.0, ("NAKUP", "ZA NAKUP", "OBED", "BENZIN", "DOVOLENKA", "", "Darček")),
        (_FRIEND, 0.05, 25.0, ("LISTKY", "OBED", "KONCERT", "DARCEK", "VYLET", "", "za pivo")),
        (_BEST, 0.3, 25.0, ("KINO", "OBED", "VYLET", "", "darček")),
    ):
        a, b, _ = w.ties[kind]
        both = (acc[a] >= 0) & (acc[b] >= 0)
        a, b = a[both], b[both]
        cnt = rng.poisson(rate * months_n, a.size)
        ti = np.repeat(np.arange(a.size), cnt)
        fwd = rng.random(ti.size) < 0.5
        src, dst = np.where(fwd, a[ti], b[ti]), np.where(fwd, b[ti], a[ti])
        m = ti.size
        tr.add(
            acc[src],
            acc[dst],
            _euros(rng, med, 0.8, m),
            rng.integers(0, period.days, m),
            _strs(words, rng.integers(0, len(words), m)),
        )

    # cards, cash and e-shops of everyone with an account
    holders = np.flatnonzero(has)
    use = rng.gamma(2.0, 0.5, holders.size)  # some pay by card a lot, some live on cash
    for lam, kind in ((1.0, "card"), (0.35, "atm"), (0.03, "deposit"), (0.12, "shop")):
        cnt = rng.poisson(lam * months_n * (use if kind == "card" else 1.0))
        who = np.repeat(holders, cnt)
        m = who.size
        day = rng.integers(0, period.days, m)
        none = np.full(m, -1)
        if kind == "card":
            desc = _cat("PLATBA KARTOU ", _strs(_MERCHANTS, rng.integers(0, len(_MERCHANTS), m)))
            tr.add(acc[who], none, _euros(rng, 22.0, 0.9, m), day, desc)
        elif kind == "atm":
            cents = rng.choice([20, 40, 50, 60, 100, 150, 200, 300], m) * 100
            tr.add(acc[who], none, cents, day, _cat("VYBER Z BANKOMATU ", _ref(rng, m, 4)))
        elif kind == "deposit":
            tr.add(
                none,
                acc[who],
                rng.integers(2, 51, m) * 1000,
                day,
                _strs(("VKLAD HOTOVOSTI",), np.zeros(m, int)),
            )
        else:
            shop = w.shops[rng.integers(0, w.shops.size, m)]
            tr.add(
                acc[who],
                acc[shop],
                _euros(rng, 45.0, 0.8, m),
                day,
                _cat("OBJEDNAVKA ", _ref(rng, m, 8)),
            )

    # companies: utilities, management fees to the parent, foreign partners
    comp = np.r_[w.employers, w.group_members]
    util = w.utilities[rng.integers(0, w.utilities.size, comp.size)]
    i, day, k = period.monthly(rng.integers(1, 29, comp.size))
    amt = np.round(rng.lognormal(np.log(900), 0.8, comp.size) * 100).astype(np.int64)
    tr.add(acc[comp[i]], acc[util[i]], amt[i], day, _cat("FAKTURA ", _ref(rng, i.size, 8)))

    gm, gg = w.group_members, w.group_of_member
    head = gm[np.searchsorted(gg, gg)]
    sub = gm[gm != head]
    subh = head[gm != head]
    fee = rng.integers(20, 201, sub.size) * 10_000
    i, day, k = period.monthly(rng.integers(15, 26, sub.size))
    tr.add(acc[sub[i]], acc[subh[i]], fee[i], day, _cat("MANAZMENT POPLATOK ", _strs(mlab, k)))

    pa = w.partners
    trade = gm[rng.integers(0, gm.size, pa.size)]
    incoming = rng.random(pa.size) < 0.5
    cnt = rng.poisson(1.0 * months_n, pa.size)
    ti = np.repeat(np.arange(pa.size), cnt)
    src = np.where(incoming[ti], pa[ti], trade[ti])
    dst = np.where(incoming[ti], trade[ti], pa[ti])
    m = ti.size
    tr.add(
        acc[src],
        acc[dst],
        _euros(rng, 8000.0, 0.9, m),
        rng.integers(0, period.days, m),
        _cat("FAKTURA ", _ref(rng, m, 10)),
    )

    # money cycles inside company groups
    _cycles(rng, w, period, tr)
    return tr


def _cycles(rng: np.random.Generator, w: _World, period: _Period, tr: _Transfers) -> None:
    """Plant 2-4 occurrences of A -> B -> ... -> A per company group."""
    gm, gg = w.group_members, w.group_of_member
    n_g = int(gg.max()) + 1
    size = np.bincount(gg, minlength=n_g)
    gstart = np.searchsorted(gg, np.arange(n_g))
    reps = rng.integers(2, 5, n_g)
    occ_g = np.repeat(np.arange(n_g), reps)  # one entry per occurrence
    n_occ = occ_g.size
    hops = size[occ_g]
    span = 3 * hops
    start = (rng.random(n_occ) * np.maximum(1, period.days - span)).astype(np.int64)
    a0 = np.round(rng.lognormal(np.log(60_000), 0.8, n_occ), -2) * 100
    # one row per hop
    oc = np.repeat(np.arange(n_occ), hops)
    pos = np.arange(oc.size) - np.repeat(np.cumsum(hops) - hops, hops)
    gap = np.where(pos == 0, 0, rng.integers(1, 4, oc.size))
    day = start[oc] + _cumsum_by(gap, hops)
    keep_frac = np.where(pos == 0, 1.0, 1.0 - rng.uniform(0.001, 0.008, oc.size))
    factor = np.exp(_cumsum_by(np.log(keep_frac), hops))
    cents = np.round(a0[oc] * factor).astype(np.int64)
    g = occ_g[oc]
    payer = gm[gstart[g] + pos]
    payee = gm[gstart[g] + (pos + 1) % size[g]]
    words = ("ZAPOZICKA", "FAKTURA", "POSKYTNUTIE UVERU", "SPLATKA UVERU", "POSTUPENIE POHLADAVKY")
    desc = _cat(_strs(words, rng.integers(0, len(words), oc.size)), " ", _ref(rng, oc.size, 6))
    # the start leaves room for every hop: day < period.days
    tr.add(w.account[payer], w.account[payee], cents, day, desc, oc, pos)


def _cumsum_by(x: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Cumulative sum of ``x`` restarted at each segment of the given lengths."""
    c = np.cumsum(x)
    before = np.repeat(np.cumsum(lengths) - lengths, lengths)
    base = np.where(before > 0, c[np.maximum(before - 1, 0)], 0)
    return c - base


_BANK_REASONS = ("invalid IBAN check digits", "bad amount", "bad timestamp")
_BAD_AMOUNTS = ("12.3.4", "abc", "--5", "1O5.20")
_BAD_DATES = ("2026-02-30", "yesterday", "2026-13-01", "32.01.2026")


def _write_bank(
    rng: np.random.Generator, w: _World, period: _Period, out_dir: Path
) -> dict[str, Any]:
    tr = _money_flows(rng, w, period)
    payer = np.concatenate(tr.payer)
    payee = np.concatenate(tr.payee)
    cents = np.concatenate(tr.cents)
    day = np.concatenate(tr.day)
    cycle = np.concatenate(tr.cycle)
    hop = np.concatenate(tr.hop)
    desc = pl.concat(tr.desc).rechunk()  # gathers from one chunk are many times faster

    # distinct transfers never share (payer, payee, amount, day): move clashing ones by a cent
    nac = w.ac_party.size
    pair_day = ((payer + 1) * (nac + 1) + payee + 1) * period.days + day
    while True:
        _, clash = _sorted_clashes(pair_day, cents)
        if not clash.any():
            break
        cents = np.where(clash, cents + 1, cents)

    # bookings: a debit on the payer's statement and a credit on the payee's, where ours
    ours = w.ac_ours
    debit = (payer >= 0) & ours[np.maximum(payer, 0)]
    credit = (payee >= 0) & ours[np.maximum(payee, 0)]
    mirrored = debit & credit
    t_idx = np.concatenate([np.flatnonzero(debit), np.flatnonzero(credit)])
    side = np.concatenate([np.zeros(debit.sum(), np.int64), np.ones(credit.sum(), np.int64)])
    account = np.where(side == 0, payer[t_idx], payee[t_idx])
    counter = np.where(side == 0, payee[t_idx], payer[t_idx])
    amount = np.where(side == 0, -cents[t_idx], cents[t_idx])
    bday = day[t_idx]
    # statement lines by day and account; ties (one account, one day) in generation order
    order = np.argsort(bday * nac + account, kind="stable")
    t_idx, account, counter, amount, bday = (
        x[order] for x in (t_idx, account, counter, amount, bday)
    )
    n = t_idx.size

    single = ~mirrored[t_idx] & (cycle[t_idx] < 0)
    reason, out_order, repeat = _dirty_and_repeated(rng, n, [single, single, single])
    acct_f = _form_index(rng, account, _IBAN_FORM_P, nac)
    cp_f = _form_index(rng, np.maximum(counter, 0), _IBAN_FORM_P, nac)
    # the dirt: one check digit changed (in the counterparty if there is one, mostly), or a bad
    # amount, or a bad date
    dirty = np.flatnonzero(reason >= 0)
    bad_col, bad_pos, bad_add, bad_a, bad_d = (np.zeros(n, dtype=np.int64) for _ in range(5))
    d0 = dirty[reason[dirty] == 0]
    bad_col[d0] = np.where((counter[d0] >= 0) & (rng.random(d0.size) < 0.8), 2, 1)
    bad_pos[d0] = rng.integers(2, 4, d0.size)
    bad_add[d0] = rng.integers(1, 10, d0.size)
    bad_a[dirty] = rng.integers(0, len(_BAD_AMOUNTS), dirty.size)
    bad_d[dirty] = rng.integers(0, len(_BAD_DATES), dirty.size)

    r = pl.col("r")
    has_cp = pl.col("cp_acc") >= 0
    columns = {
        "account": pl.col("acct"),
        "counterparty": pl.when(has_cp).then(pl.col("cp")),
        "amount": pl.when(r == 1)
        .then(pl.lit(pl.Series(_BAD_AMOUNTS)).gather(pl.col("ba")))
        .otherwise(_money_expr(pl.col("cents"))),
        "currency": pl.lit("EUR"),
        "booked_at": pl.lit(period.dates).gather(pl.col("day")),
        "description": pl.col("desc"),
        "counterparty_name": pl.when(has_cp).then(pl.col("cp_name")),
    }
    columns["booked_at"] = (
        pl.when(r == 2)
        .then(pl.lit(pl.Series(_BAD_DATES)).gather(pl.col("bd")))
        .otherwise(columns["booked_at"])
    )

    def build(lo: int, hi: int) -> pl.DataFrame:
        i = out_order[lo:hi]
        out = pl.DataFrame(
            {
                "acct": w.ac_forms.gather(acct_f[i]),
                "cp": w.ac_forms.gather(cp_f[i]),
                "cp_acc": counter[i],
                "cents": amount[i],
                "day": bday[i],
                "desc": desc.gather(t_idx[i]),
                "cp_name": w.name.gather(w.ac_party[np.maximum(counter[i], 0)]),
                "r": reason[i],
                "ba": bad_a[i],
                "bd": bad_d[i],
            }
        ).select(**columns)
        for name, code in (("account", 1), ("counterparty", 2)):
            rows = np.flatnonzero(bad_col[i] == code)
            if rows.size:
                bad = _change_digit(out[name].gather(rows), bad_pos[i][rows], bad_add[i][rows])
                out = out.with_columns(out[name].scatter(rows, bad))
        return out

    _write_chunks(out_dir / "bank.csv", out_order.size, build)

    ok = reason < 0
    with_cp = counter >= 0
    used = np.zeros(nac, dtype=bool)
    used[account[ok]] = True
    used[counter[ok & with_cp]] = True
    parties = np.zeros(w.n_parties, dtype=bool)
    parties[w.ac_party[used]] = True
    # a transfer counts once, mirrored when both of its bookings were accepted
    per_t = np.bincount(t_idx[ok & with_cp], minlength=cents.size)

    # the planted cycles, hop by hop
    cyc = np.flatnonzero(cycle >= 0)
    cyc = cyc[np.lexsort((hop[cyc], cycle[cyc]))]
    pl.DataFrame(
        {
            "cycle_id": _ids("CY", cycle[cyc], 5),
            "position": hop[cyc] + 1,
            "node_id": _node_ids(w).gather(w.ac_party[payer[cyc]]),
            "account": w.ac_iban.gather(payer[cyc]),
            "amount": _money(cents[cyc]),
            "booked_at": period.dates.gather(day[cyc]),
        }
    ).write_csv(out_dir / "truth" / "cycles.csv", line_terminator="\n")
    return {
        "file": _file_counts(reason, out_order, repeat, _BANK_REASONS),
        "distinct_accounts": int(used.sum()),
        "transfers": int((per_t > 0).sum()),
        "mirrored_transfers": int((per_t == 2).sum()),
        "bookings_without_counterparty": int((ok & ~with_cp).sum()),
        "cycles": int(np.unique(cycle[cyc]).size),
        "parties": np.flatnonzero(parties),
    }


def _change_digit(s: pl.Series, pos: np.ndarray, add: np.ndarray) -> pl.Series:
    """``s`` with the digit at ``pos`` replaced by (digit + ``add``) mod 10."""
    c = pl.col("s")
    d = (c.str.slice(pl.col("pos"), 1).cast(pl.Int64) + pl.col("add")) % 10
    return (
        pl.DataFrame({"s": s, "pos": pos, "add": add})
        .select(
            pl.concat_str(
                c.str.slice(0, pl.col("pos")), d.cast(pl.String), c.str.slice(pl.col("pos") + 1)
            )
        )
        .to_series()
    )


def _money_expr(cents: pl.Expr) -> pl.Expr:
    """Cents as ``-123.45`` text."""
    a = cents.abs()
    return pl.concat_str(
        pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit("")),
        (a // 100).cast(pl.String),
        pl.lit("."),
        (a % 100).cast(pl.String).str.zfill(2),
    )


def _money(cents: np.ndarray) -> pl.Series:
    """Cents as ``-123.45`` strings."""
    c = pl.DataFrame({"c": np.asarray(cents, dtype=np.int64)})
    return c.select(_money_expr(pl.col("c"))).to_series()


def _ids(prefix: str, values: np.ndarray, width: int) -> pl.Series:
    """``prefix`` + the 1-based number, zero-padded; null where ``values`` is negative."""
    v = pl.col("v")
    return (
        pl.DataFrame({"v": np.asarray(values, dtype=np.int64)})
        .select(
            pl.when(v >= 0).then(
                pl.concat_str(pl.lit(prefix), (v + 1).cast(pl.String).str.zfill(width))
            )
        )
        .to_series()
    )


def _node_ids(w: _World) -> pl.Series:
    """Node id of every party: customer id, else its phone (E.164) or account (IBAN)."""
    n = w.n_parties
    phone = np.full(n, -1, dtype=np.int64)
    phone[w.ph_party] = np.arange(w.ph_party.size)
    iban = np.full(n, -1, dtype=np.int64)
    iban[w.ac_party] = np.arange(w.ac_party.size)
    cid = w.customer_id.rename("a")
    return (
        pl.DataFrame([cid, _gather_opt(w.ph_e164, phone).rename("b")])
        .with_columns(_gather_opt(w.ac_iban, iban).rename("c"))
        .select(node_id=pl.coalesce("a", "b", "c"))
        .to_series()
    )


def _gather_opt(values: pl.Series, idx: np.ndarray) -> pl.Series:
    """``values[idx]``, null where ``idx`` is negative."""
    out = values.gather(np.maximum(idx, 0))
    return out.set(pl.Series(idx < 0), None)


# ---------------------------------------------------------------------------------------------
# Register, cells, truth
# ---------------------------------------------------------------------------------------------


def _clean_file(rows: int) -> dict[str, Any]:
    return {
        "rows": rows,
        "accepted": rows,
        "rejected": 0,
        "duplicates": 0,
        "rejected_by_reason": {},
    }


def _write_customers(w: _World, rng: np.random.Generator, path: Path) -> int:
    reg = w.registered
    ph = np.flatnonzero(reg[w.ph_party])
    ac = np.flatnonzero(w.ac_ours & reg[w.ac_party])
    party = np.concatenate([w.ph_party[ph], w.ac_party[ac]])
    nph, nac = w.ph_party.size, w.ac_party.size
    phone = pl.concat(
        [
            w.ph_forms.gather(_form_index(rng, ph, _REGISTER_PHONE_FORM_P, nph)),
            pl.Series([None] * ac.size, dtype=pl.String),
        ]
    )
    account = pl.concat(
        [
            pl.Series([None] * ph.size, dtype=pl.String),
            w.ac_forms.gather(_form_index(rng, ac, _IBAN_FORM_P, nac)),
        ]
    )
    is_person = w.kind[party] == 0
    emp = w.employer[party]
    df = pl.DataFrame(
        {
            "customer_id": w.customer_id.gather(party),
            "phone": phone,
            "account": account,
            "name": w.name.gather(party),
            "income": _money(w.income[party]).set(pl.Series(~is_person), None),
            "assets": pl.Series(w.assets[party]).cast(pl.String) + ".00",
            "defaulted": pl.Series(np.where(w.defaulted[party], "true", "false")),
            "segment": w.segment.gather(party),
            "kind": pl.Series(np.where(is_person, "person", "company")),
            "employer_id": _gather_opt(w.customer_id, emp),
            "_ph": pl.Series(np.concatenate([np.zeros(ph.size), np.ones(ac.size)])),
        }
    )
    df = df.sort("customer_id", "_ph", "phone", "account").drop("_ph")
    df.write_csv(path, line_terminator="\n")
    return df.height


def _write_cells(w: _World, path: Path) -> int:
    df = pl.DataFrame(
        {
            "cell_id": w.cell_ids,
            "lat": _fixed(w.cell_lat, 6),
            "lon": _fixed(w.cell_lon, 6),
        }
    )
    df.write_csv(path, line_terminator="\n")
    return df.height


def _fixed(x: np.ndarray, decimals: int) -> pl.Series:
    """Numbers with a fixed number of decimals, as text (the same bytes on every platform)."""
    scaled = np.round(np.abs(x) * 10**decimals).astype(np.int64)
    frac = pl.col("s") % 10**decimals
    return (
        pl.DataFrame({"s": scaled, "neg": x < 0})
        .select(
            pl.concat_str(
                pl.when("neg").then(pl.lit("-")).otherwise(pl.lit("")),
                (pl.col("s") // 10**decimals).cast(pl.String),
                pl.lit("."),
                frac.cast(pl.String).str.zfill(decimals),
            )
        )
        .to_series()
    )


def _write_truth_tables(w: _World, truth: Path) -> None:
    node_id = _node_ids(w)
    p = w.people
    n = w.n_parties
    hh = np.full(n, -1, dtype=np.int64)
    hh[:p] = w.household
    circ = np.full(n, -1, dtype=np.int64)
    circ[:p] = w.circle_p
    nodes = pl.DataFrame(
        {
            "node_id": node_id,
            "kind": pl.Series(np.where(w.kind == 0, "person", "company")),
            "role": _strs(_ROLES, w.role.astype(np.int64)),
            "household_id": _ids("HH", hh, 6),
            "circle_id": _ids("CI", circ, 5),
            "is_hub": pl.Series(np.where(w.is_hub, "true", "false")),
            "defaulted": pl.Series(np.where(w.defaulted, "true", "false")),
            "company_group": _ids("CG", w.group, 4),
        }
    ).sort("node_id")
    nodes.write_csv(truth / "nodes.csv", line_terminator="\n")
    pl.DataFrame(
        {
            "phone": w.ph_e164,
            "node_id": node_id.gather(w.ph_party),
            "in_register": pl.Series(np.where(w.registered[w.ph_party], "true", "false")),
        }
    ).sort("phone").write_csv(truth / "phones.csv", line_terminator="\n")
    pl.DataFrame(
        {
            "account": w.ac_iban,
            "node_id": node_id.gather(w.ac_party),
            "ours": pl.Series(np.where(w.ac_ours, "true", "false")),
        }
    ).sort("account").write_csv(truth / "accounts.csv", line_terminator="\n")


# ---------------------------------------------------------------------------------------------
# relmine demo: the world, then the pipeline on it
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoResult:
    """What :func:`run_demo` made: the world, the store, its status and the checks against truth."""

    world: WorldSummary
    store: Path
    status: dict[str, Any]
    checks: list[tuple[str, int, int]]
    outputs: dict[str, Path]
    quality: list[tuple[str, float, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether every figure relmine found equals the world's truth."""
        return all(truth == found for _, truth, found in self.checks)


def analysis_quality(
    households: pl.DataFrame,
    communities: pl.DataFrame,
    truth_nodes: pl.DataFrame,
    *,
    influencers: pl.DataFrame | None = None,
    cycles: pl.DataFrame | None = None,
    truth_cycles: pl.DataFrame | None = None,
) -> list[tuple[str, float, str]]:
    """Measure the analyses against the world's truth.

    Returns ``(measure, value, target)`` rows: pairwise precision, recall and F1 of households
    (a pair is positive when both parties share a household), the normalised mutual information
    of communities with the planted circles (companies and hotlines are their own circle), and
    the number of hotlines, employers, utilities and group companies placed in a household; with
    ``influencers``, the share of planted hubs among the top k (k = the number of hubs) and the
    institutions among them; with ``cycles`` and ``truth_cycles``, the share of planted money
    cycles found (same payers in the same order, from the same first booking day).
    """
    from relmine.communities import nmi
    from relmine.households import household_pairs

    truth_pairs = household_pairs(
        truth_nodes.filter(pl.col("household_id").is_not_null()).select("node_id", "household_id")
    )
    found_pairs = household_pairs(households)
    hits = len(truth_pairs & found_pairs)
    precision = hits / len(found_pairs) if found_pairs else 0.0
    recall = hits / len(truth_pairs) if truth_pairs else 0.0
    f1 = 2 * precision * recall / (precision + recall) if hits else 0.0
    circles = truth_nodes.select("node_id", circle=pl.coalesce("circle_id", "node_id"))
    institutions = ("hotline", "employer", "utility", "group_company")
    misplaced = (
        households.join(truth_nodes.select("node_id", "role"), on="node_id")
        .filter(pl.col("role").is_in(institutions) & (pl.col("household_size") > 1))
        .height
    )
    quality = [
        ("household pairs: precision", precision, ">= 0.85"),
        ("household pairs: recall", recall, ">= 0.85"),
        ("household pairs: F1", f1, ">= 0.90"),
        ("communities: NMI with the planted circles", nmi(communities, circles), ">= 0.90"),
        ("hotlines and companies in a household", float(misplaced), "0"),
    ]
    if influencers is not None:
        hubs = truth_nodes.filter(pl.col("is_hub") == "true")
        top = (
            influencers.sort("rank")
            .head(hubs.height)
            .join(truth_nodes.select("node_id", "role", "is_hub"), on="node_id", how="left")
        )
        hit = top.filter(pl.col("is_hub") == "true").height / hubs.height if hubs.height else 0.0
        wrong = top.filter(pl.col("role").is_in(institutions)).height
        quality += [
            (f"influencers: planted hubs in the top {hubs.height}", hit, ">= 0.85"),
            ("hotlines and companies among them", float(wrong), "0"),
        ]
    if cycles is not None and truth_cycles is not None:
        chain = pl.col("node_id").sort_by(pl.col("position").cast(pl.Int64)).str.join(" ")
        planted = truth_cycles.group_by("cycle_id").agg(
            payers=chain, day=pl.col("booked_at").str.slice(0, 10).min()
        )
        found = cycles.group_by("cycle_id").agg(
            payers=chain, day=pl.col("booked_at").cast(pl.Date).cast(pl.String).min()
        )
        hits = planted.join(found, on=["payers", "day"], how="semi").height
        share = hits / planted.height if planted.height else 1.0
        quality.append(("money cycles: planted cycles found", share, "1"))
    return quality


def compare_with_truth(status: dict[str, Any], truth: dict[str, Any]) -> list[tuple[str, int, int]]:
    """Pair what ``relmine status`` reports with the world's ``summary.json``.

    Returns ``(what, truth, relmine)`` rows: per-file row accounting, events by channel, distinct
    identifiers and nodes.
    """
    rows: list[tuple[str, int, int]] = []
    found_files = {Path(f["path"]).name: f for f in status["files"]}
    for name, expected in truth["files"].items():
        found = found_files.get(name, {})
        for key in ("rows", "accepted", "rejected", "duplicates"):
            rows.append((f"{name}: {key}", expected[key], found.get(key, 0)))
    events = status["events"]
    rows += [
        ("voice calls", truth["voice_events"], events["voice"]),
        ("messages (sms)", truth["sms_events"], events["sms"]),
        ("messages (mms)", truth["mms_events"], events["mms"]),
        ("transfers, a mirrored one counted once", truth["transfers"], events["bank"]),
        (
            "bookings without counterparty",
            truth["bookings_without_counterparty"],
            events["bookings_without_counterparty"],
        ),
        ("distinct phone numbers", truth["distinct_phones"], status["identifiers"]["phones"]),
        ("distinct accounts", truth["distinct_accounts"], status["identifiers"]["accounts"]),
        ("graph nodes (register applied)", truth["nodes"], status["nodes"]),
    ]
    return rows


def run_demo(directory: Path, *, people: int = 2000, seed: int = 0) -> DemoResult:
    """Make a world in ``directory/world`` and run the pipeline on it into ``directory/store``.

    The store is made afresh each time (a store left by an earlier demo run is replaced), so the
    figures are those of this world alone.

    Parameters
    ----------
    directory : Path
        Where to write; created if missing.
    people, seed
        Passed to :func:`make_world`.

    Returns
    -------
    DemoResult
    """
    from relmine.ingest.core import ingest
    from relmine.status import store_status
    from relmine.store import MANIFEST, Store

    directory = Path(directory)
    world = make_world(directory / "world", people=people, seed=seed)
    store_dir = directory / "store"
    if (store_dir / MANIFEST).is_file():
        shutil.rmtree(store_dir)
    ingest(
        [world.customers, world.cells, world.calls, world.bank],
        store_dir=store_dir,
        region="SK",
        timezone="Europe/Bratislava",
    )
    store = Store.open(store_dir)
    status = store_status(store)
    outputs = _analyse(store, directory)
    quality = analysis_quality(
        pl.read_parquet(outputs["households"]),
        pl.read_parquet(outputs["communities"]).select("node_id", "community_id"),
        pl.read_csv(world.truth / "nodes.csv", infer_schema=False),
        influencers=pl.read_parquet(outputs["influencers"]),
        cycles=pl.read_parquet(outputs["cycles"]),
        truth_cycles=pl.read_csv(world.truth / "cycles.csv", infer_schema=False),
    )
    return DemoResult(
        world=world,
        store=store_dir,
        status=status,
        checks=compare_with_truth(status, world.counts),
        outputs={
            "input files": world.out_dir,
            "truth": world.truth,
            "store": store_dir,
            **outputs,
        },
        quality=quality,
    )


def _analyse(store: Any, directory: Path) -> dict[str, Path]:
    """Run the analyses on the demo store and write their Parquet outputs.

    Graph, communities, households, influencers (all ranked customers) and money cycles, as
    ``relmine graph|communities|households|influencers --top 0|cycles -o`` would write them.
    """
    from relmine.communities import detect_communities
    from relmine.cycles import find_cycles
    from relmine.graph import excluded_parties, load_ties
    from relmine.households import detect_households
    from relmine.influence import rank_influencers
    from relmine.output import write_table

    ties = load_ties(store)  # cached in the store, for the commands the user runs next
    apart = excluded_parties(ties, store, store.settings)
    frames = {
        "ties": ties,
        "communities": detect_communities(ties, seed=0, apart=apart).frame,
        "households": detect_households(ties, store),
        "influencers": rank_influencers(ties, store, top=0, seed=0).frame,
        "cycles": find_cycles(store).frame,
    }
    outputs = {name: directory / f"{name}.parquet" for name in frames}
    for name, frame in frames.items():
        write_table(frame, str(outputs[name]))
    return outputs
