"""Tests of relmine.ingest.identity: the vectorised fast paths must agree with the libraries.

phonenumbers and python-stdnum are the reference; every test compares with them value by value,
on hand-picked writings and on seeded random ones (valid, mutated and malformed).
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterator

import phonenumbers
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat, PhoneNumberType, shortnumberinfo
from polars.testing import assert_frame_equal
from stdnum import iban as stdnum_iban

from relmine.errors import ConfigError
from relmine.ingest import identity
from relmine.ingest.identity import account_table, phone_table

REGIONS = ("SK", "CZ", "DE", "AT", "PL", "HU", "GB", "US")
TYPES = (
    PhoneNumberType.FIXED_LINE,
    PhoneNumberType.MOBILE,
    PhoneNumberType.TOLL_FREE,
    PhoneNumberType.PREMIUM_RATE,
    PhoneNumberType.SHARED_COST,
    PhoneNumberType.VOIP,
    PhoneNumberType.PERSONAL_NUMBER,
    PhoneNumberType.UAN,
)
SK_WRITINGS = (
    "+421 905 123 456",
    "+421905123456",
    "0905123456",
    "0905 123 456",
    "00421905123456",
    "421905123456",
    "(0905) 123-456",
    "0905.123.456",
    "0905/123456",
)
PHONE_SCHEMA = {"raw": pl.String, "phone": pl.String, "reason": pl.String}
ACCOUNT_SCHEMA = {"raw": pl.String, "account": pl.String, "reason": pl.String}


def library_phone(value: str, region: str) -> str | None:
    """The reference: parse + is_valid_number + E.164, else a short number valid in the region."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, PhoneNumberFormat.E164)
    if shortnumberinfo.is_valid_short_number_for_region(number, region):
        return phonenumbers.national_significant_number(number)
    return None


def expected_phones(values: list[str], region: str) -> pl.DataFrame:
    distinct = sorted(set(values))
    phones = [library_phone(value, region) for value in distinct]
    return pl.DataFrame(
        {
            "raw": distinct,
            "phone": phones,
            "reason": [None if phone else "invalid phone number" for phone in phones],
        },
        schema=PHONE_SCHEMA,
    )


@pytest.fixture
def fast_path_always(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Send even tiny inputs through the fast path, so small tests exercise it."""
    monkeypatch.setattr(identity, "_MIN_FAST_GROUP", 1)
    yield


def fast_accepted(values: list[str], region: str) -> dict[str, str]:
    """What the fast path alone accepts (value -> E.164)."""
    raw = pl.Series("raw", sorted(set(values)), dtype=pl.String)
    decided = identity._fast_phones(raw, region).filter(pl.col("phone").is_not_null())
    return dict(zip(raw.gather(decided["i"]).to_list(), decided["phone"].to_list(), strict=True))


def fast_rejected(values: list[str], region: str) -> set[str]:
    """What the fast path alone rejects, without asking the library."""
    raw = pl.Series("raw", sorted(set(values)), dtype=pl.String)
    decided = identity._fast_phones(raw, region).filter(pl.col("invalid"))
    return set(raw.gather(decided["i"]).to_list())


# --------------------------------------------------------------------------------------------------
# phone numbers: hand-picked writings
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("min_group", [1, 64])
def test_sk_writings_all_map_to_one_number(monkeypatch: pytest.MonkeyPatch, min_group: int) -> None:
    monkeypatch.setattr(identity, "_MIN_FAST_GROUP", min_group)
    table = phone_table(pl.Series(SK_WRITINGS), region="SK")
    assert table["phone"].to_list() == ["+421905123456"] * len(SK_WRITINGS)
    assert table["reason"].null_count() == len(SK_WRITINGS)


def test_fast_path_accepts_every_common_writing(fast_path_always: None) -> None:
    foreign = ["+420 602 123 456", "0049 30 123456", "+1 (212) 555-0123", "+44 20 7946 0018"]
    accepted = fast_accepted([*SK_WRITINGS, *foreign], "SK")
    assert accepted == {value: library_phone(value, "SK") for value in [*SK_WRITINGS, *foreign]}


@pytest.mark.parametrize(
    ("value", "e164"),
    [
        ("+420 602 123 456", "+420602123456"),
        ("0049 30 123456", "+4930123456"),
        ("+1 (212) 555-0123", "+12125550123"),
        ("+44 20 7946 0018", "+442079460018"),
        ("+421 (0) 905 123 456", "+421905123456"),
    ],
)
def test_foreign_numbers_in_international_form(
    fast_path_always: None, value: str, e164: str
) -> None:
    table = phone_table(pl.Series([value]), region="SK")
    assert table["phone"].to_list() == [e164]


@pytest.mark.parametrize(
    ("region", "writings", "e164"),
    [
        (
            "CZ",
            ["602 123 456", "+420 602 123 456", "00420602123456", "420602123456"],
            "+420602123456",
        ),
        ("DE", ["030 123456", "+49 30 123456", "0049 30 123456", "4930123456"], "+4930123456"),
        ("AT", ["0664 1234567", "+43 664 1234567", "0043 664 1234567"], "+436641234567"),
        ("HU", ["06 20 123 4567", "+36 20 123 4567", "0036 20 123 4567"], "+36201234567"),
        ("GB", ["020 7946 0018", "+44 20 7946 0018", "0044 20 7946 0018"], "+442079460018"),
        (
            "US",
            ["(212) 555-0123", "1 212 555 0123", "+1 212 555 0123", "011 1 212 555 0123"],
            "+12125550123",
        ),
        ("PL", ["512 345 678", "+48 512 345 678", "0048 512345678"], "+48512345678"),
    ],
)
def test_other_default_regions(
    fast_path_always: None, region: str, writings: list[str], e164: str
) -> None:
    table = phone_table(pl.Series(writings), region=region)
    assert table["phone"].to_list() == [e164] * len(writings)
    assert fast_accepted(writings, region) == dict.fromkeys(writings, e164)


TRICKY_WRITINGS = {
    # national prefix written after the country code; country code without "+"; "+0" retried
    "SK": ["421234567", "4210905123456", "+421 0 905 123 456", "+00421905123456", "+0905123456"],
    # "011" is the US international prefix and "00" is not; NANPA regions share +1
    "US": ["1 1 212 555 0123", "00 44 20 7946 0018", "+1 268 464 1234", "+1 613 555 0123"],
    # +44 is shared with the Crown dependencies; Guernsey's national prefix has a transform rule
    "GB": ["+44 0 20 7946 0018", "+44 1481 256789", "+44 1624 456789", "44 20 7946 0018"],
    "GG": ["01481 256789", "256789", "44 1481 256789", "07781 123456"],
    "HU": ["06 1 234 5678", "3606 1 234 5678", "+36 06 1 234 5678"],
    # +7 is shared by Russia and Kazakhstan; "8" is the national and "810" the international prefix
    "RU": ["+7 701 123 4567", "8 912 345 6789", "8 10 44 20 7946 0018"],
    # Italian numbers keep their leading zero; +39 is shared with the Vatican
    "IT": ["+39 06 1234 5678", "06 1234 5678", "+39 06 698 12345", "3906 1234 5678"],
    # transform rules and carrier codes
    "AR": ["011 15 2345 6789", "+54 9 11 2345 6789", "011 2345 6789", "0351 15 234 5678"],
    "BR": ["0 21 2345 6789", "(21) 98765-4321", "+55 21 98765 4321"],
    "AU": ["0412 345 678", "0011 44 20 7946 0018", "1831 0412345678"],
}


@pytest.mark.parametrize("region", sorted(TRICKY_WRITINGS))
def test_tricky_rules_equal_library(fast_path_always: None, region: str) -> None:
    values = TRICKY_WRITINGS[region]
    table = phone_table(pl.Series(values), region=region)
    assert_frame_equal(table, expected_phones(values, region))


def test_short_numbers_are_kept_as_digits(fast_path_always: None) -> None:
    table = phone_table(pl.Series(["112", "18 300", "155"]), region="SK")
    assert dict(zip(table["raw"], table["phone"], strict=True)) == {
        "112": "112",
        "155": "155",
        "18 300": "18300",
    }


def test_invalid_values_are_rejected_with_a_reason(fast_path_always: None) -> None:
    values = ["", "12", "abc", "0905 123 45", "+421 905 123 456 789", "+999 123 456 789"]
    table = phone_table(pl.Series(values), region="SK")
    assert table["phone"].null_count() == len(values)
    assert set(table["reason"]) == {"invalid phone number"}


def test_output_is_distinct_sorted_and_typed() -> None:
    values = pl.Series(["0905 123 456", None, "112", "0905 123 456", "+421905123456"])
    table = phone_table(values, region="SK")
    assert table.schema == pl.Schema(PHONE_SCHEMA)
    assert table["raw"].to_list() == ["+421905123456", "0905 123 456", "112"]
    empty = phone_table(pl.Series([], dtype=pl.String), region="SK")
    assert_frame_equal(empty, pl.DataFrame(schema=PHONE_SCHEMA))


def test_region_is_case_insensitive_and_checked() -> None:
    assert phone_table(pl.Series(["0905123456"]), region="sk")["phone"][0] == "+421905123456"
    with pytest.raises(ConfigError, match="default phone region"):
        phone_table(pl.Series(["0905123456"]), region="XX")


# --------------------------------------------------------------------------------------------------
# phone numbers: equivalence with the library on seeded random values
# --------------------------------------------------------------------------------------------------


def _random_phone_values(rng: random.Random, region: str, count: int) -> list[str]:
    """Example numbers of the eight regions, mutated and written the ways files write them."""
    examples = [
        example
        for source in REGIONS
        for kind in TYPES
        if (example := phonenumbers.example_number_for_type(source, kind)) is not None
    ]
    home = phonenumbers.PhoneMetadata.metadata_for_region(region)
    prefix = home.national_prefix or ""
    codes = [1, 7, 20, 36, 39, 43, 44, 48, 49, 420, 421, 999, 888, 0]
    values = []
    for _ in range(count):
        example = rng.choice(examples)
        nsn = phonenumbers.national_significant_number(example)
        cc = example.country_code if rng.random() < 0.85 else rng.choice(codes)
        roll = rng.random()
        if roll < 0.2:  # a random digit changed
            at = rng.randrange(len(nsn))
            nsn = nsn[:at] + str(rng.randrange(10)) + nsn[at + 1 :]
        elif roll < 0.3:  # too long
            nsn += str(rng.randrange(10))
        elif roll < 0.4:  # too short
            nsn = nsn[: rng.randrange(1, len(nsn))]
        elif roll < 0.45:  # random digits
            nsn = "".join(str(rng.randrange(10)) for _ in range(rng.randint(1, 14)))
        spaced = " ".join(nsn[at : at + 3] for at in range(0, len(nsn), 3))
        writing = rng.choice(
            [
                f"+{cc}{nsn}",
                f"+{cc} {spaced}",
                f"00{cc} {nsn}",
                f"011 {cc} {nsn}",
                f"{cc}{nsn}",
                f"{prefix}{nsn}",
                f"{prefix}{spaced}",
                f"({prefix}{nsn[:3]}) {nsn[3:6]}-{nsn[6:]}",
                f"{prefix}{nsn[:3]}.{nsn[3:6]}.{nsn[6:]}",
                f"{prefix}{nsn[:3]}/{nsn[3:]}",
                nsn,
                f"+{cc} ({prefix}) {nsn}",
                f"{home.country_code}{prefix}{nsn}",
            ]
        )
        if rng.random() < 0.03:  # letters, which the library may read as a vanity number
            at = rng.randrange(len(writing) + 1)
            writing = writing[:at] + rng.choice(["A", "x", "ext 12", "FLOWERS", "#"]) + writing[at:]
        values.append(writing)
    return values


@pytest.mark.parametrize("region", REGIONS)
def test_phone_table_equals_library(fast_path_always: None, region: str) -> None:
    rng = random.Random(f"phones-{region}")
    values = _random_phone_values(rng, region, 800)
    expected = expected_phones(values, region)
    assert_frame_equal(phone_table(pl.Series(values), region=region), expected)
    # The fast path may only accept, and only what the library accepts, with the same E.164.
    accepted = fast_accepted(values, region)
    reference = dict(zip(expected["raw"], expected["phone"], strict=True))
    assert accepted, "the fast path accepted nothing: the test would not exercise it"
    assert {value: reference[value] for value in accepted} == accepted
    # ... and may reject only what the library rejects.
    rejected = fast_rejected(values, region)
    assert rejected, "the fast path rejected nothing: the test would not exercise it"
    assert {value: reference[value] for value in rejected} == dict.fromkeys(rejected)


@settings(max_examples=30, deadline=None, derandomize=True, database=None)
@given(
    values=st.lists(
        st.text(alphabet="0123456789 +-()./", min_size=1, max_size=18), min_size=1, max_size=40
    ),
    region=st.sampled_from(REGIONS),
)
def test_phone_table_equals_library_on_arbitrary_strings(values: list[str], region: str) -> None:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(identity, "_MIN_FAST_GROUP", 1)
        table = phone_table(pl.Series(values, dtype=pl.String), region=region)
    assert_frame_equal(table, expected_phones(values, region))


# --------------------------------------------------------------------------------------------------
# account numbers
# --------------------------------------------------------------------------------------------------

VALID_IBANS = {
    "SK": "SK3112000000198742637541",
    "CZ": "CZ6508000000192000145399",
    "DE": "DE89370400440532013000",
    "AT": "AT611904300234573201",
    "PL": "PL61109010140000071219812874",
    "GB": "GB29NWBK60161331926819",
    "FR": "FR1420041010050500013M02606",
    "NL": "NL91ABNA0417164300",
}


def _spaced_lower(iban: str) -> str:
    return " ".join(iban[at : at + 4] for at in range(0, len(iban), 4)).lower()


def test_valid_ibans_are_compacted() -> None:
    values = [*VALID_IBANS.values(), *map(_spaced_lower, VALID_IBANS.values())]
    values.append("SK31-1200-0000-1987-4263-7541")
    table = account_table(pl.Series(values))
    assert all(stdnum_iban.is_valid(value) for value in values)
    assert table["reason"].null_count() == table.height
    accounts = dict(zip(table["raw"], table["account"], strict=True))
    for iban in VALID_IBANS.values():
        assert accounts[iban] == accounts[_spaced_lower(iban)] == iban
    assert accounts["SK31-1200-0000-1987-4263-7541"] == VALID_IBANS["SK"]


def test_iban_reasons() -> None:
    sk = VALID_IBANS["SK"]
    wrong_check = sk[:2] + ("32" if sk[2:4] != "32" else "33") + sk[4:]
    values = {
        wrong_check: "invalid IBAN check digits",
        sk[:-1] + str((int(sk[-1]) + 1) % 10): "invalid IBAN check digits",
        sk[:-1]: "invalid IBAN",  # too short for Slovakia
        sk + "0": "invalid IBAN",  # too long
        "XX" + sk[2:]: "invalid IBAN",  # no such country
        "GB29NWBK6016133192681X": "invalid IBAN",  # a letter where the BBAN has digits
        "BE71096123456769": None,
    }
    table = account_table(pl.Series(list(values)))
    assert dict(zip(table["raw"], table["reason"], strict=True)) == values
    assert table.filter(pl.col("reason").is_not_null())["account"].null_count() == len(values) - 1


def test_internal_account_numbers_are_kept() -> None:
    values = ["1234567890/0900", "19-123456/0200", "15349", " 12 34 ", "ab-12/x", "", "12#34", "č1"]
    table = account_table(pl.Series(values))
    assert dict(zip(table["raw"], table["account"], strict=True)) == {
        "1234567890/0900": "1234567890/0900",
        "19-123456/0200": "19-123456/0200",
        "15349": "15349",
        " 12 34 ": "1234",
        "ab-12/x": "AB-12/X",
        "": None,
        "12#34": None,
        "č1": None,
    }
    reasons = dict(zip(table["raw"], table["reason"], strict=True))
    assert [raw for raw, reason in reasons.items() if reason] == ["", "12#34", "č1"]
    assert {reasons[""], reasons["12#34"], reasons["č1"]} == {"invalid account"}


def test_account_output_is_distinct_sorted_and_typed() -> None:
    table = account_table(pl.Series(["b1", None, "a1", "b1", "15349"]))
    assert table.schema == pl.Schema(ACCOUNT_SCHEMA)
    assert table["raw"].to_list() == ["15349", "a1", "b1"]
    numbers = account_table(pl.Series([15349, 15349, 7]))
    assert numbers["account"].to_list() == ["15349", "7"]
    assert_frame_equal(
        account_table(pl.Series([], dtype=pl.String)), pl.DataFrame(schema=ACCOUNT_SCHEMA)
    )


def _random_iban(rng: random.Random, country: str) -> str:
    """A random IBAN with correct check digits, following the country's registered structure."""
    structure = identity._iban_formats()[country]
    alphabets = {"n": "0123456789", "a": "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
    alphabets["c"] = alphabets["n"] + alphabets["a"]
    bban = "".join(
        rng.choice(alphabets[kind])
        for count, kind in re.findall(r"([1-9][0-9]*)!([nac])", structure)
        for _ in range(int(count))
    )
    return country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban


def _mutated(rng: random.Random, iban: str) -> str:
    roll = rng.randrange(8)
    at = rng.randrange(len(iban))
    if roll == 0:
        return iban[:at] + rng.choice("0123456789") + iban[at + 1 :]
    if roll == 1 and at + 1 < len(iban):
        return iban[:at] + iban[at + 1] + iban[at] + iban[at + 2 :]
    if roll == 2:
        return iban[:at] + iban[at + 1 :]
    if roll == 3:
        return iban[:at] + rng.choice("0123456789AZ") + iban[at:]
    if roll == 4:
        return rng.choice(["XX", "QA", "SK", "DE", "GB"]) + iban[2:]
    if roll == 5:
        return _spaced_lower(iban)
    if roll == 6:
        return iban[:2] + f"{rng.randrange(100):02d}" + iban[4:]
    return iban


def test_account_table_equals_stdnum() -> None:
    rng = random.Random("ibans")
    countries = sorted(identity._iban_formats())
    values = []
    for _ in range(4000):
        country = rng.choice([*countries, "SK", "CZ", "BE", "ES", "NO", "ME"])
        iban = _random_iban(rng, country)
        values.append(iban if rng.random() < 0.4 else _mutated(rng, iban))
    table = account_table(pl.Series(values))
    iban_shaped = table["account"].str.contains(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]+$").fill_null(False)
    ours = dict(zip(table["raw"], table["reason"].is_null() & iban_shaped, strict=True))
    assert ours == {value: stdnum_iban.is_valid(value) for value in values}
    valid = table.filter(pl.col("reason").is_null() & iban_shaped)
    assert valid["account"].to_list() == [stdnum_iban.compact(value) for value in valid["raw"]]
    assert 0.2 < valid.height / table.height < 0.8
