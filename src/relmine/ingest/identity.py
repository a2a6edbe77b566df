"""Identity normalisation: phone numbers to E.164, account numbers to compact IBANs.

Call-detail records and bank statements name the same person in many writings (``0905 123 456``,
``+421905123456``, ``00421 905 123 456``; ``sk31 1200 ...``). Relationships can only be mined once
every writing of one identifier maps to one key, so identifiers are normalised before anything else
(SPEC §2 "Identity").

The reference semantics are the libraries': ``phonenumbers`` (parse, ``is_valid_number``, E.164)
and ``python-stdnum`` (``stdnum.iban``). Calling them per value costs 40-70 µs, i.e. about a minute
for the 1-3 million distinct identifiers of a 10-million-row file, against an ingest budget of
~10 s. This module therefore decides most values with Polars expressions built from the libraries'
*own* metadata (number patterns, possible lengths, prefixes, the IBAN registry) and hands every
value the vectorised path cannot accept to the library itself. The fast path only ever accepts; it
never rejects, so a gap in it costs time, not correctness.
"""

from __future__ import annotations

import re
import sys
from functools import cache, lru_cache
from typing import TypeVar

import phonenumbers
import polars as pl
from phonenumbers import PhoneMetadata, shortnumberinfo
from stdnum import iban as stdnum_iban
from stdnum import numdb
from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.util import get_cc_module

from relmine.errors import ConfigError

__all__ = ["account_answers", "account_table", "phone_answers", "phone_table"]

_INVALID_PHONE = "invalid phone number"
_INVALID_IBAN_CHECK = "invalid IBAN check digits"
_INVALID_IBAN = "invalid IBAN"
_INVALID_ACCOUNT = "invalid account"

# Limits that phonenumbers applies while parsing (phonenumberutil's _MAX_INPUT_STRING_LENGTH,
# _MIN_LENGTH_FOR_NSN and _MAX_LENGTH_FOR_NSN); the fast path must not accept what parse rejects.
_MAX_INPUT_CHARS = 250
_MIN_NSN_DIGITS = 2
_MAX_NSN_DIGITS = 17

# Formatting the fast path understands. All of it is punctuation to phonenumbers, which drops it,
# and none of it can start an extension, a second number or an RFC 3966 parameter.
_FORMATTING = {char: "" for char in " -.()/"}
# After dropping the formatting: an optional leading plus and at least three ASCII digits, the
# shortest input phonenumbers' viability check accepts with a plus sign.
_FAST_SHAPE = r"^\+?[0-9]{3,}$"

# The number types phonenumbers' _number_type_helper consults, in its order. ``mobile`` is added
# only when the metadata says its pattern differs from ``fixed_line`` (the library skips it then).
_NUMBER_TYPES = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
)

# A group of values sharing a calling code goes through the fast path only when it has at least
# this many: the fast path compiles the country's patterns on every call (about a millisecond,
# 20 ms for the 25 regions of +1), while the library decides a value in about 40 µs.
_MIN_FAST_GROUP = 64

# IBAN mod 97 is folded over chunks of this many digits: 96 * 96 + (10**17 - 1) < 2**64.
_MOD97_CHUNK = 17
# The longest IBAN anywhere is 34 characters, i.e. at most 68 digits once letters are expanded.
_IBAN_MAX_CHARS = 34
_IBAN_SHAPE = r"^[A-Z]{2}[0-9]{2}[A-Z0-9]+$"
# Separators stdnum.iban.compact removes (besides whitespace) before validating.
_IBAN_SEPARATORS = r"[\-.]"
_INTERNAL_ACCOUNT = r"^[A-Z0-9/\-.]+$"
# stdnum's IBAN structure notation ("4!n6!n10!n") and the character class of each kind.
_BBAN_PART = re.compile(r"([1-9][0-9]*)!([nac])")
_BBAN_CLASSES = {"n": "[0-9]", "a": "[A-Z]", "c": "[A-Za-z0-9]"}


_Frame = TypeVar("_Frame", pl.DataFrame, pl.LazyFrame)


class _Unsupported(Exception):
    """A metadata pattern the Rust regex engine cannot compile; its values go to the library."""


# --------------------------------------------------------------------------------------------------
# phone numbers
# --------------------------------------------------------------------------------------------------


def phone_table(values: pl.Series, *, region: str) -> pl.DataFrame:
    """Normalise raw phone numbers to E.164, one row per distinct value.

    A value is accepted exactly when ``phonenumbers.parse(value, region)`` succeeds and
    ``phonenumbers.is_valid_number`` holds; it then maps to ``format_number(..., E164)``. Short
    numbers valid in ``region`` (``112``, ``18 300``) are accepted too and kept as their digits,
    because calls to hotlines and premium short codes matter to later features.

    Most values are decided by a vectorised fast path that re-enacts ``phonenumbers.parse`` for the
    common writings (formatting characters, ``+``, the region's international prefix, the national
    prefix, the country code written without ``+``) and validates the national significant number
    against the library's own metadata patterns; it also rejects the numbers it read the way the
    library reads them and found invalid (and not short). Every value it does not decide is passed
    to the library one by one, so the result equals the library's per-value answer; only the time
    differs.

    Parameters
    ----------
    values
        Phone numbers as written in the input files. Nulls are ignored and duplicates collapsed;
        non-string values are cast to strings.
    region
        Default region (ISO 3166 alpha-2, e.g. ``"SK"``) for numbers written without a country code.

    Returns
    -------
    pl.DataFrame
        Columns ``raw`` (the value as given), ``phone`` (E.164, the short number's digits, or null)
        and ``reason`` (null when accepted, else ``"invalid phone number"``), sorted by ``raw``.

    Raises
    ------
    ConfigError
        If ``region`` is not a region phonenumbers knows.

    Examples
    --------
    >>> import polars as pl
    >>> phone_table(pl.Series(["0905 123 456", "00421905123456", "112", "12"]), region="SK")
    shape: (4, 3)
    ┌────────────────┬───────────────┬──────────────────────┐
    │ raw            ┆ phone         ┆ reason               │
    │ ---            ┆ ---           ┆ ---                  │
    │ str            ┆ str           ┆ str                  │
    ╞════════════════╪═══════════════╪══════════════════════╡
    │ 00421905123456 ┆ +421905123456 ┆ null                 │
    │ 0905 123 456   ┆ +421905123456 ┆ null                 │
    │ 112            ┆ 112           ┆ null                 │
    │ 12             ┆ null          ┆ invalid phone number │
    └────────────────┴───────────────┴──────────────────────┘

    References
    ----------
    .. [1] Google, *libphonenumber*, https://github.com/google/libphonenumber (the metadata and the
       parsing rules re-enacted here; Python port by D. Drysdale).
    .. [2] ITU-T Recommendation E.164, *The international public telecommunication numbering plan*.
    """
    return phone_answers(_distinct_sorted(values), region=region)


def phone_answers(distinct: pl.Series, *, region: str) -> pl.DataFrame:
    """:func:`phone_table`'s answers for values already distinct and non-null, in their order.

    For callers that number the distinct values themselves
    (:func:`~relmine.ingest.core.map_identifiers`): the answer of the ``i``-th value is row ``i``,
    so no join is needed to find it.

    Parameters
    ----------
    distinct : pl.Series
        Distinct, non-null phone numbers as written (strings).
    region : str
        Default region, as for :func:`phone_table`.

    Returns
    -------
    pl.DataFrame
        ``raw``, ``phone`` and ``reason`` as in :func:`phone_table`, in the order of ``distinct``.

    Raises
    ------
    ConfigError
        If ``region`` is not a region phonenumbers knows.
    """
    home = _home_region(region)
    distinct = distinct.rename("raw")
    decided = _fast_phones(distinct, home)
    phone = pl.repeat(None, distinct.len(), dtype=pl.String, eager=True).rename("phone")
    phone.scatter(decided["i"], decided["phone"])
    open_ = pl.repeat(value=True, n=distinct.len(), dtype=pl.Boolean, eager=True)
    open_.scatter(decided["i"], pl.repeat(value=False, n=decided.height, eager=True))
    undecided = open_.arg_true()
    by_library = [_library_phone(value, home) for value in distinct.gather(undecided).to_list()]
    phone.scatter(undecided, pl.Series(by_library, dtype=pl.String))
    return pl.DataFrame([distinct, phone]).with_columns(
        reason=pl.when(pl.col("phone").is_null()).then(pl.lit(_INVALID_PHONE))
    )


def _distinct_sorted(values: pl.Series) -> pl.Series:
    """The distinct non-null values as strings, sorted, named ``raw``.

    Sorting first and then dropping repeats of the previous value is one sort instead of a hash
    pass plus a sort; the output has to be sorted anyway.
    """
    ordered = values.cast(pl.String).drop_nulls().sort().rename("raw")
    return ordered.filter(ordered.ne_missing(ordered.shift(1)))


def _home_region(region: str) -> str:
    """Upper-case ``region`` and check phonenumbers has metadata for it."""
    home = region.upper()
    if home not in phonenumbers.SUPPORTED_REGIONS:
        raise ConfigError(
            f"unknown default phone region {region!r}; set it to an ISO 3166 alpha-2 code such as"
            " 'SK' (the region whose numbers are written without a country code)"
        )
    return home


def _library_phone(value: str, region: str) -> str | None:
    """Decide one value with phonenumbers itself: the reference the fast path must agree with."""
    try:
        number = phonenumbers.parse(value, region)
    except phonenumbers.NumberParseException:
        return None
    if phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if shortnumberinfo.is_valid_short_number_for_region(number, region):
        return phonenumbers.national_significant_number(number)
    return None


def _fast_phones(raw: pl.Series, region: str) -> pl.DataFrame:
    """Accept what can be decided without calling phonenumbers per value.

    Re-enacts ``phonenumbers.parse`` on the writings it understands: it finds the country calling
    code and the national number the library would find, strips the national prefix the way the
    library does, and validates the result with the library's patterns. Returns the position
    ``i`` in ``raw`` of the values it decided: ``phone`` for the accepted ones, ``invalid`` for
    the ones the library would reject too (see :func:`_complete`); the rest is left to the
    library.
    """
    if raw.len() < _MIN_FAST_GROUP:
        return pl.DataFrame(schema={"i": pl.UInt32, "phone": pl.String, "invalid": pl.Boolean})
    s = pl.col("s")
    numbered = raw.to_frame("s").with_row_index("i")
    # Most values are written without formatting: those are candidates as they are, and only
    # the others are copied without it (0.1 CPU-seconds per 2 M values).
    plain = s.str.contains(_FAST_SHAPE)
    formatted = (
        numbered.filter(~plain & (s.str.len_chars() <= _MAX_INPUT_CHARS))
        .with_columns(s.str.replace_many(_FORMATTING))
        .filter(plain)
    )
    candidates = pl.concat(
        [numbered.filter(plain & (s.str.len_bytes() <= _MAX_INPUT_CHARS)), formatted]
    ).select("i", plus=s.str.starts_with("+"), digits=s.str.strip_prefix("+"))
    international, national = _split_international(candidates, region)
    parts = [_international_parts(international), _national_parts(national, region)]
    located = pl.concat([part for part in parts if part is not None]).filter(
        pl.col("n0").str.len_bytes() >= _MIN_NSN_DIGITS
    )
    sizes = located.group_by("cc", "home").len()
    worth_it = sizes.filter(pl.col("len") >= _MIN_FAST_GROUP)
    if worth_it.height == 1 and sizes.height == 1:
        groups = {(worth_it["cc"][0], worth_it["home"][0]): located}
    else:
        located = located.join(worth_it.drop("len"), on=["cc", "home"], how="semi")
        groups = located.partition_by(["cc", "home"], as_dict=True)
    main = phonenumbers.region_code_for_country_code
    plans = [
        _complete(part.lazy(), cc, region if home else main(cc), region)
        for (cc, home), part in groups.items()
    ]
    schema = {"i": pl.UInt32, "phone": pl.String, "invalid": pl.Boolean}
    return pl.concat([pl.DataFrame(schema=schema), *pl.collect_all(plans)]).filter(
        pl.col("phone").is_not_null() | pl.col("invalid")
    )


def _split_international(
    candidates: pl.DataFrame, region: str
) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Separate values with a ``+`` or the region's international prefix from national writings.

    Mirrors ``_maybe_strip_i18n_prefix_and_normalize``: the international prefix is the region's
    own pattern (``00`` in most of Europe, ``011`` in the US) and is only taken as one when the
    next digit is not ``0``. Returns the international values with their digits after the prefix
    in ``t``, and the national ones (None when the region's prefix pattern is unusable here).
    """
    plus = pl.col("plus")
    digits = pl.col("digits")
    idd = PhoneMetadata.metadata_for_region(region).international_prefix
    try:
        idd_length = _prefix_length(digits, idd) if idd else None
    except _Unsupported:
        return candidates.filter(plus).with_columns(t=digits), None
    if idd_length is None:
        return candidates.filter(plus).with_columns(t=digits), candidates.filter(~plus)
    marked = candidates.with_columns(
        t=pl.when(plus).then(digits).otherwise(digits.str.slice(idd_length))
    ).with_columns(
        international=plus
        | (pl.col("t").is_not_null() & ~pl.col("t").str.starts_with("0")).fill_null(value=False)
    )
    international = marked.filter(pl.col("international"))
    national = marked.filter(~pl.col("international"))
    return international, national


def _international_parts(international: pl.DataFrame) -> pl.DataFrame:
    """Split the country calling code off international values (``_extract_country_code``).

    Calling codes are prefix-free, so the first of the 1-, 2- and 3-digit heads that is a code is
    the code. Values whose digits after the prefix are too short or start with no known code are
    dropped: the library either rejects them or retries them as national numbers. Their national
    numbers are read with the metadata of the code's main region (``home`` false).
    """
    t = pl.col("t")
    codes = phonenumbers.COUNTRY_CODE_TO_REGION_CODE
    cc = pl.lit(None, dtype=pl.UInt16)
    for digits in (3, 2, 1):
        head = t.str.head(digits)
        known = [str(code) for code in codes if len(str(code)) == digits]
        cc = pl.when(head.is_in(known)).then(head.cast(pl.UInt16)).otherwise(cc)
    return (
        international.filter(t.str.len_bytes() > _MIN_NSN_DIGITS)
        .with_columns(cc=cc)
        .filter(pl.col("cc").is_not_null())
        .select(
            "i",
            "cc",
            home=pl.lit(value=False),
            n0=t.str.slice(pl.col("cc").cast(pl.String).str.len_bytes()),
        )
    )


def _national_parts(national: pl.DataFrame | None, region: str) -> pl.DataFrame | None:
    """Give national writings the region's calling code, as ``_maybe_extract_country_code`` does.

    A number that starts with the region's own calling code (``421905123456``) loses it only when
    the library would drop it: the whole is not a viable national number but the rest (after its
    national prefix) is, or the whole is too long; it is then read with the metadata of the code's
    main region (``home`` false), otherwise with the region's own. Values whose national prefix
    needs a transform rule, or whose patterns the Rust engine rejects, are left to the library.
    """
    if national is None:
        return None
    meta = PhoneMetadata.metadata_for_region(region)
    home = str(meta.country_code)
    cc = pl.lit(meta.country_code, dtype=pl.UInt16)
    d = pl.col("digits")
    # Rows read with the region's own metadata are marked ``home`` only where that differs from
    # the main region's (Guernsey vs the UK), so a country's numbers usually form one group.
    own = pl.lit(value=region != phonenumbers.region_code_for_country_code(meta.country_code))
    plain = national.filter(~d.str.starts_with(home)).select("i", cc=cc, home=own, n0=d)
    try:
        with_code = _strip_national_prefix(
            national.filter(d.str.starts_with(home)).with_columns(rest=d.str.slice(len(home))),
            "rest",
            meta,
        ).with_columns(viable_whole=_viable(d, meta), viable_rest=_viable(pl.col("stripped"), meta))
    except _Unsupported:
        return plain
    _, too_long = _length_verdicts(d.str.len_bytes(), meta)
    drop_code = (~pl.col("viable_whole") & pl.col("viable_rest")) | too_long
    with_code = with_code.filter(~pl.col("declined")).select(
        "i",
        cc=cc,
        home=~drop_code & own,
        n0=pl.when(drop_code).then(pl.col("stripped")).otherwise(d),
    )
    return pl.concat([plain, with_code])


def _complete(part: pl.LazyFrame, cc: int, meta_region: str, home: str) -> pl.LazyFrame:
    """Strip the national prefix and validate the numbers of one calling code and metadata region.

    ``meta_region`` is the region whose metadata ``parse`` applies to the national number; the
    validity rule is that of the calling code (all its regions). Gives ``i``, ``phone`` (null
    where the fast path does not accept) and ``invalid``: the number was read the way ``parse``
    reads it, is not valid, and cannot be a valid short number of the ``home`` region either (its
    calling code is another region's, or it is longer than any of ``home``'s short numbers), so
    :func:`_library_phone` would reject it as well. Deciding those here spares the library call
    that each of them would otherwise cost (about 50 µs; 17,000 of them in a 10 M-row export).
    """
    meta = PhoneMetadata.metadata_for_region_or_calling_code(cc, meta_region)
    try:
        if meta is None:
            raise _Unsupported(meta_region)
        stripped = _strip_national_prefix(part, "n0", meta)
        region_columns, valid = _validity(cc)
    except _Unsupported:
        return part.select("i", phone=pl.lit(None, dtype=pl.String), invalid=pl.lit(value=False))
    keeps_stripped, _ = _length_verdicts(pl.col("stripped").str.len_bytes(), meta)
    nsn = pl.col("nsn")
    length = nsn.str.len_bytes()
    located = ~pl.col("declined") & length.is_between(_MIN_NSN_DIGITS, _MAX_NSN_DIGITS)
    short = PhoneMetadata.short_metadata_for_region(home)
    may_be_short = (
        home in phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(cc, ())
        and short is not None
        and short.general_desc is not None
    )
    not_short = (
        length > max(short.general_desc.possible_length, default=_MAX_NSN_DIGITS)
        if may_be_short
        else pl.lit(value=True)
    )
    return (
        stripped.with_columns(
            nsn=pl.when(keeps_stripped).then(pl.col("stripped")).otherwise(pl.col("n0"))
        )
        .with_columns(region_columns)
        .with_columns(_valid=valid)
        .select(
            "i",
            phone=pl.when(located & pl.col("_valid")).then(pl.concat_str(pl.lit(f"+{cc}"), nsn)),
            invalid=located & ~pl.col("_valid") & not_short,
        )
    )


def _strip_national_prefix(frame: _Frame, source: str, meta: PhoneMetadata) -> _Frame:
    """Re-enact ``_maybe_strip_national_prefix_carrier_code`` on column ``source``.

    Adds ``stripped``: the number without the prefix (and carrier code) matched by
    ``national_prefix_for_parsing``, unless it was viable before and would not be after. Adds
    ``declined``: where the region has a transform rule (Argentina, Brazil, the NANPA islands ...)
    and it would apply, which the fast path leaves to the library.
    """
    number = pl.col(source)
    prefix = meta.national_prefix_for_parsing
    if not prefix:
        return frame.with_columns(stripped=number, declined=pl.lit(value=False))
    rest = pl.col("after_prefix")
    marked = frame.with_columns(
        after_prefix=number.str.slice(_prefix_length(number, prefix))
    ).with_columns(keep_whole=_viable(number, meta) & ~_viable(rest, meta))
    declined: pl.Expr = pl.lit(value=False)
    if meta.national_prefix_transform_rule:
        groups = re.compile(prefix).groups
        declined = rest.is_not_null()
        if groups:
            pattern = _regex(prefix, whole=False)
            declined = declined & number.str.extract(pattern, groups).is_not_null()
    return marked.with_columns(
        stripped=pl.when(rest.is_not_null() & ~pl.col("keep_whole").fill_null(value=False))
        .then(rest)
        .otherwise(number),
        declined=declined,
    ).drop("after_prefix", "keep_whole")


def _prefix_length(text: pl.Expr, pattern: str) -> pl.Expr:
    """Length of the match of ``pattern`` at the start of ``text`` (``re.match``); null if none.

    Plain digit prefixes (``0``, ``00``, ``06``) are tested without a regex, which is cheaper.
    """
    if pattern.isascii() and pattern.isdigit():
        return pl.when(text.str.starts_with(pattern)).then(pl.lit(len(pattern), dtype=pl.UInt32))
    return text.str.extract(_regex(pattern, whole=False), 0).str.len_bytes()


def _viable(number: pl.Expr, meta: PhoneMetadata) -> pl.Expr:
    """Whether ``number`` matches the region's general pattern (``_match_national_number``)."""
    desc = meta.general_desc
    if desc is None or not desc.national_number_pattern:
        return pl.lit(value=False)
    return number.str.contains(_regex(desc.national_number_pattern, whole=True))


def _length_verdicts(length: pl.Expr, meta: PhoneMetadata) -> tuple[pl.Expr, pl.Expr]:
    """Re-enact ``_test_number_length`` for the general description.

    Returns whether parse keeps a stripped national prefix (the verdict is not too short, local
    only or an invalid length) and whether the length is too long.
    """
    desc = meta.general_desc
    if desc is None or not desc.possible_length or desc.possible_length[0] == -1:
        return pl.lit(value=False), pl.lit(value=False)
    possible = list(desc.possible_length)
    shortest, longest = possible[0], possible[-1]
    not_local = ~length.is_in(list(desc.possible_length_local_only))
    too_long = not_local & (length > shortest) & (length > longest)
    keeps = not_local & (
        (length == shortest)
        | ((length > shortest) & ((length > longest) | length.is_in(possible[1:])))
    )
    return keeps, too_long


@cache
def _validity(cc: int) -> tuple[list[pl.Expr], pl.Expr]:
    """``is_valid_number`` for the national significant numbers ``nsn`` of calling code ``cc``.

    Returns the per-region columns to add first and the verdict over them. A code shared by
    several regions (+1, +44, +7 ...) picks the first region whose leading digits match or, for a
    region without leading digits, whose patterns match; the number is valid when it is valid for
    the region picked (``_region_code_for_number_from_list``). Cached per calling code.
    """
    nsn = pl.col("nsn")
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[cc]
    if len(regions) == 1:
        meta = PhoneMetadata.metadata_for_region_or_calling_code(cc, regions[0])
        return [], pl.lit(value=False) if meta is None else _type_validity(nsn, meta)
    columns: list[pl.Expr] = []
    chain = None
    for region in regions:
        meta = PhoneMetadata.metadata_for_region(region)
        if meta is None:
            continue
        valid = pl.col(f"valid_{region}")
        columns.append(_type_validity(nsn, meta).alias(f"valid_{region}"))
        if meta.leading_digits is None:
            picked = valid
        else:
            picked = nsn.str.contains(_regex(meta.leading_digits, whole=False))
        chain = (pl.when(picked) if chain is None else chain.when(picked)).then(valid)
    return columns, pl.lit(value=False) if chain is None else chain.otherwise(pl.lit(value=False))


def _type_validity(nsn: pl.Expr, meta: PhoneMetadata) -> pl.Expr:
    """``_number_type_helper(nsn, meta) != UNKNOWN``: the general and one type description match.

    Types with the same possible lengths share one regex, so a region costs a few passes.
    """
    length = nsn.str.len_bytes()
    general = _description_match(nsn, length, meta.general_desc)
    descriptions = [getattr(meta, name) for name in _NUMBER_TYPES]
    if not meta.same_mobile_and_fixed_line_pattern:
        descriptions.append(meta.mobile)
    by_lengths: dict[tuple[int, ...], list[str]] = {}
    for desc in descriptions:
        if desc is not None and desc.national_number_pattern:
            lengths = tuple(desc.possible_length)
            by_lengths.setdefault(lengths, []).append(desc.national_number_pattern)
    matches = []
    for lengths, patterns in by_lengths.items():
        if lengths == (-1,):
            continue
        union = "|".join(f"(?:{pattern})" for pattern in patterns)
        match = nsn.str.contains(_regex(union, whole=True))
        matches.append(match if not lengths else length.is_in(list(lengths)) & match)
    if not matches:
        return pl.lit(value=False)
    return general & pl.any_horizontal(matches)


def _description_match(nsn: pl.Expr, length: pl.Expr, desc: object) -> pl.Expr:
    """``_is_number_matching_desc``: possible length (when listed) and full pattern match."""
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return pl.lit(value=False)
    match = nsn.str.contains(_regex(pattern, whole=True))
    lengths = list(getattr(desc, "possible_length", ()))
    return match if not lengths else length.is_in(lengths) & match


def _regex(pattern: str, *, whole: bool) -> str:
    """Anchor a phonenumbers pattern for Polars; raise ``_Unsupported`` if Rust cannot compile it.

    ``whole`` anchors both ends, like the library's full matches; otherwise only the start, like
    its ``re.match`` prefix tests. The pattern is compiled without Unicode classes: the fast path
    only ever matches ASCII digits, on which ``\\d`` means ``[0-9]`` either way, and Unicode
    ``\\d`` makes large patterns several times slower to compile. phonenumbers' patterns are
    written for Python's ``re``; a country whose patterns Rust's engine rejects (look-around,
    backreferences) is left to the library rather than mis-validated.
    """
    anchored = f"^(?-u:{pattern})$" if whole else f"^(?-u:{pattern})"
    if not _compiles(anchored):
        raise _Unsupported(pattern)
    return anchored


@cache
def _compiles(pattern: str) -> bool:
    """Whether Polars can compile ``pattern`` (cached: each pattern is tried once)."""
    try:
        pl.Series([""], dtype=pl.String).str.contains(pattern)
    except pl.exceptions.PolarsError:
        return False
    return True


# --------------------------------------------------------------------------------------------------
# account numbers
# --------------------------------------------------------------------------------------------------


def account_table(values: pl.Series) -> pl.DataFrame:
    """Normalise raw account numbers, one row per distinct value.

    A value shaped like an IBAN (two letters, two digits, letters and digits, once whitespace and
    the separators ``-`` and ``.`` are removed and it is upper-cased) is validated as
    ``stdnum.iban.validate`` does: the country must be in python-stdnum's IBAN registry, the length
    and BBAN structure must be the country's, and the ISO 7064 mod 97-10 check must give 1. Its
    normal form is the compact upper-case IBAN. The checks run as Polars expressions; only IBANs of
    the few countries stdnum checks further (national check digits of BE, ES, ME, NO) are passed to
    stdnum one by one.

    Any other value is an internal account number (``1234567890/0900``, ``19-123456/0200``,
    AMLSim's ``15349``) and is kept as written, minus whitespace and upper-cased.

    Parameters
    ----------
    values
        Account numbers as written in the input files. Nulls are ignored and duplicates collapsed;
        non-string values are cast to strings.

    Returns
    -------
    pl.DataFrame
        Columns ``raw`` (the value as given), ``account`` (normal form or null) and ``reason`` (null
        when accepted; ``"invalid IBAN check digits"``, ``"invalid IBAN"`` for an unknown country
        or a length or structure wrong for the country, or ``"invalid account"`` when nothing is
        left or it has characters outside ``A-Z 0-9 / - .``), sorted by ``raw``.

    Examples
    --------
    >>> import polars as pl
    >>> account_table(pl.Series(["sk31 1200 0000 1987 4263 7541", "19-123456/0200"]))
    shape: (2, 3)
    ┌───────────────────────────────┬──────────────────────────┬────────┐
    │ raw                           ┆ account                  ┆ reason │
    │ ---                           ┆ ---                      ┆ ---    │
    │ str                           ┆ str                      ┆ str    │
    ╞═══════════════════════════════╪══════════════════════════╪════════╡
    │ 19-123456/0200                ┆ 19-123456/0200           ┆ null   │
    │ sk31 1200 0000 1987 4263 7541 ┆ SK3112000000198742637541 ┆ null   │
    └───────────────────────────────┴──────────────────────────┴────────┘

    References
    ----------
    .. [1] ISO 13616-1:2020, *Financial services - International bank account number (IBAN)*.
    .. [2] ISO/IEC 7064:2003, *Check character systems* (MOD 97-10).
    """
    return account_answers(_distinct_sorted(values))


def account_answers(distinct: pl.Series) -> pl.DataFrame:
    """:func:`account_table`'s answers for values already distinct and non-null, in their order.

    Parameters
    ----------
    distinct : pl.Series
        Distinct, non-null account numbers as written (strings).

    Returns
    -------
    pl.DataFrame
        ``raw``, ``account`` and ``reason`` as in :func:`account_table`, in the order of
        ``distinct``.
    """
    distinct = distinct.rename("raw")
    compact = pl.col("compact")
    iban = pl.col("iban")
    marked = (
        distinct.to_frame()
        .with_columns(compact=pl.col("raw").str.replace_many(_whitespace()).str.to_uppercase())
        .with_columns(iban=compact.str.replace_all(_IBAN_SEPARATORS, ""))
        .with_columns(check_digits=_iban_check_digits(iban))
        .with_columns(
            shaped=iban.str.contains(_IBAN_SHAPE),
            well_formed=iban.str.contains(_iban_structure()),
            checksum_ok=_mod97(pl.col("check_digits")) == 1,
            internal_ok=compact.str.contains(_INTERNAL_ACCOUNT),
        )
    )
    iban_ok = pl.col("well_formed") & pl.col("checksum_ok")
    table = marked.select(
        "raw",
        account=pl.when(pl.col("shaped"))
        .then(pl.when(iban_ok).then(iban))
        .when(pl.col("internal_ok"))
        .then(compact),
        reason=pl.when(pl.col("shaped"))
        .then(
            pl.when(~pl.col("well_formed"))
            .then(pl.lit(_INVALID_IBAN))
            .when(~pl.col("checksum_ok"))
            .then(pl.lit(_INVALID_IBAN_CHECK))
        )
        .when(~pl.col("internal_ok"))
        .then(pl.lit(_INVALID_ACCOUNT)),
    )
    return _apply_country_rules(table)


@lru_cache(maxsize=1)
def _whitespace() -> dict[str, str]:
    """Every whitespace character (``str.isspace``) mapped to nothing.

    Removing them with one multi-pattern replacement is about twice as fast as a ``\\s`` regex.
    """
    return {chr(code): "" for code in range(sys.maxunicode + 1) if chr(code).isspace()}


def _apply_country_rules(table: pl.DataFrame) -> pl.DataFrame:
    """Let stdnum re-check accepted IBANs of countries with their own national check digits."""
    own_rules = (
        table.with_row_index("i")
        .filter(
            pl.col("reason").is_null()
            & pl.col("account").str.head(2).is_in(_countries_with_own_rules())
            & pl.col("account").str.contains(_IBAN_SHAPE)
        )
        .select("i", "account")
    )
    if own_rules.height == 0:
        return table
    reasons = [_stdnum_reason(value) for value in own_rules["account"].to_list()]
    accounts = [
        value if reason is None else None
        for value, reason in zip(own_rules["account"].to_list(), reasons, strict=True)
    ]
    account = table["account"].clone()
    reason = table["reason"].clone()
    account.scatter(own_rules["i"], pl.Series(accounts, dtype=pl.String))
    reason.scatter(own_rules["i"], pl.Series(reasons, dtype=pl.String))
    return table.with_columns(account, reason)


def _stdnum_reason(value: str) -> str | None:
    """Validate one IBAN with stdnum itself; the reason it fails, or None."""
    try:
        stdnum_iban.validate(value)
    except InvalidChecksum:
        return _INVALID_IBAN_CHECK
    except ValidationError:
        return _INVALID_IBAN
    return None


@lru_cache(maxsize=1)
def _iban_formats() -> dict[str, str]:
    """Country code -> BBAN structure (``"4!n6!n10!n"``) from python-stdnum's IBAN registry."""
    formats: dict[str, str] = {}
    for length, low, high, props, _children in numdb.get("iban").prefixes:
        if length != 2 or "bban" not in props:
            continue
        for first in range(ord(low[0]), ord(high[0]) + 1):
            for second in range(ord("A"), ord("Z") + 1):
                code = chr(first) + chr(second)
                if low <= code <= high:
                    formats[code] = props["bban"]
    return formats


@lru_cache(maxsize=1)
def _iban_structure() -> str:
    """One regex accepting exactly the IBANs whose country, length and BBAN structure are right.

    Built like stdnum's ``_struct_to_re``; the structure fixes the length, so a wrong length for
    the country fails here too.
    """

    def expand(part: re.Match[str]) -> str:
        return f"{_BBAN_CLASSES[part.group(2)]}{{{part.group(1)}}}"

    countries = (
        f"{code}[0-9]{{2}}{_BBAN_PART.sub(expand, bban)}"
        for code, bban in sorted(_iban_formats().items())
    )
    return f"^(?:{'|'.join(countries)})$"


@lru_cache(maxsize=1)
def _countries_with_own_rules() -> list[str]:
    """Countries for which ``stdnum.iban.validate`` runs a national module (BE, ES, ME, NO)."""
    return [code for code in sorted(_iban_formats()) if get_cc_module(code, "iban") is not None]


def _iban_check_digits(iban: pl.Expr) -> pl.Expr:
    """The digit string ISO 7064 checks: the first four characters moved last, A = 10 ... Z = 35."""
    letters = [chr(code) for code in range(ord("A"), ord("Z") + 1)]
    numbers = [str(10 + index) for index in range(len(letters))]
    return pl.concat_str(iban.str.slice(4), iban.str.head(4)).str.replace_many(letters, numbers)


def _mod97(digits: pl.Expr) -> pl.Expr:
    """ISO 7064 mod 97-10 of a digit string (a column: it is read once per chunk), vectorised.

    The string is folded chunk by chunk from the left, ``rem = (rem * 10**n + chunk) % 97`` with
    ``n`` the chunk's length (``10**n`` taken mod 97 so the product stays small); chunks past the
    end are empty and leave ``rem`` unchanged. Only digit strings of up to 68 digits (34 IBAN
    characters) are folded completely; longer or non-digit strings give a meaningless value, which
    is harmless because such values fail the structure check first.
    """
    length = digits.str.len_bytes().cast(pl.Int64)
    powers = {size: pow(10, size, 97) for size in range(_MOD97_CHUNK + 1)}
    remainder = pl.lit(0, dtype=pl.UInt64)
    for start in range(0, 2 * _IBAN_MAX_CHARS, _MOD97_CHUNK):
        size = (length - start).clip(0, _MOD97_CHUNK)
        factor = size.replace_strict(powers, return_dtype=pl.UInt64)
        chunk = digits.str.slice(start, _MOD97_CHUNK).str.to_integer(dtype=pl.UInt64, strict=False)
        remainder = (remainder * factor + chunk.fill_null(0)) % 97
    return remainder


# --------------------------------------------------------------------------------------------------
# number types (destination classes of relmine tem)
# --------------------------------------------------------------------------------------------------

#: ``phonenumbers.PhoneNumberType`` values by the names :func:`phone_types` gives them.
_TYPE_NAMES = {
    getattr(phonenumbers.PhoneNumberType, name): name.lower()
    for name in dir(phonenumbers.PhoneNumberType)
    if name.isupper()
}
_SHORT_TYPES = {
    shortnumberinfo.ShortNumberCost.PREMIUM_RATE: "short_premium",
    shortnumberinfo.ShortNumberCost.TOLL_FREE: "short_free",
}


def phone_types(phones: pl.Series, *, region: str) -> pl.DataFrame:
    """The number type and country of normalised phone numbers, one row per distinct value.

    The answer is ``phonenumbers.number_type`` and ``region_code_for_number`` of each E.164
    number. Like :func:`phone_table`, the common case is decided by Polars expressions built from
    the library's own metadata (the type patterns and possible lengths of each region, tried in
    the library's order), one pass per calling code with many numbers; every other value (calling
    codes shared by several regions, small groups, patterns the Rust engine rejects) is asked of
    the library one by one, so only the time differs. Short numbers (stored as their digits, no
    ``+``) get ``short_premium``, ``short_free`` or ``short`` from ``shortnumberinfo``'s expected
    cost in ``region``; anything else that is not a phone number (a pseudonymised token) is
    ``unknown`` with no country.

    Parameters
    ----------
    phones : pl.Series
        Phone numbers as the store holds them (E.164, or a short number's digits).
    region : str
        The store's region: the country of short numbers.

    Returns
    -------
    pl.DataFrame
        ``phone``, ``type`` (``mobile``, ``fixed_line``, ``fixed_line_or_mobile``,
        ``premium_rate``, ``toll_free``, ``shared_cost``, ``voip``, ``personal_number``,
        ``pager``, ``uan``, ``voicemail``, ``unknown``, ``short_premium``, ``short_free``,
        ``short``) and ``country`` (ISO 3166 alpha-2), sorted by ``phone``.

    Examples
    --------
    >>> phone_types(pl.Series(["+421905123456", "+421900123456", "112"]), region="SK")["type"]
    ... # doctest: +SKIP
    ['short_free', 'premium_rate', 'mobile']

    References
    ----------
    .. [1] Google, *libphonenumber*, ``PhoneNumberUtil.getNumberType`` and
       ``ShortNumberInfo.getExpectedCostForRegion``.
    """
    home = _home_region(region)
    distinct = _distinct_sorted(phones).rename("phone")
    frame = distinct.to_frame().with_row_index("i")
    t = pl.col("phone").str.slice(1)
    cc = pl.lit(None, dtype=pl.UInt16)
    for digits in (3, 2, 1):
        head = t.str.head(digits)
        known = [str(c) for c in phonenumbers.COUNTRY_CODE_TO_REGION_CODE if len(str(c)) == digits]
        cc = pl.when(head.is_in(known)).then(head.cast(pl.UInt16)).otherwise(cc)
    international = (
        frame.filter(pl.col("phone").str.contains(r"^\+[0-9]{3,}$"))
        .with_columns(cc=cc)
        .filter(pl.col("cc").is_not_null())
        .with_columns(nsn=t.str.slice(pl.col("cc").cast(pl.String).str.len_bytes()))
    )
    decided = []
    for (code,), part in international.partition_by("cc", as_dict=True).items():
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE[code]
        if part.height < _MIN_FAST_GROUP or len(regions) != 1 or regions[0] == "001":
            continue
        meta = PhoneMetadata.metadata_for_region(regions[0])
        try:
            kind = _type_expr(pl.col("nsn"), meta) if meta is not None else None
        except _Unsupported:
            kind = None
        if kind is not None:
            decided.append(part.select("i", type=kind, country=pl.lit(regions[0])))
    schema = {"i": pl.UInt32, "type": pl.String, "country": pl.String}
    fast = pl.concat([pl.DataFrame(schema=schema), *decided])
    rest = frame.join(fast, on="i", how="anti")
    slow = [_library_type(value, home) for value in rest["phone"].to_list()]
    slow_frame = pl.DataFrame(
        {
            "i": rest["i"],
            "type": [kind for kind, _ in slow],
            "country": [country for _, country in slow],
        },
        schema=schema,
    )
    return (
        frame.join(pl.concat([fast, slow_frame]), on="i", how="left")
        .sort("i")
        .select("phone", "type", "country")
    )


def _type_expr(nsn: pl.Expr, meta: PhoneMetadata) -> pl.Expr:
    """``_number_type_helper``: the first type description the number matches, in its order."""
    length = nsn.str.len_bytes()
    general = _description_match(nsn, length, meta.general_desc)
    kind = pl.when(~general).then(pl.lit("unknown"))
    for name in _NUMBER_TYPES[:-1]:  # every type before fixed_line
        desc = getattr(meta, name)
        if desc is not None and desc.national_number_pattern:
            kind = kind.when(_description_match(nsn, length, desc)).then(pl.lit(name))
    fixed = _description_match(nsn, length, meta.fixed_line)
    if meta.same_mobile_and_fixed_line_pattern:
        return kind.when(fixed).then(pl.lit("fixed_line_or_mobile")).otherwise(pl.lit("unknown"))
    mobile = _description_match(nsn, length, meta.mobile)
    return (
        kind.when(fixed & mobile)
        .then(pl.lit("fixed_line_or_mobile"))
        .when(fixed)
        .then(pl.lit("fixed_line"))
        .when(mobile)
        .then(pl.lit("mobile"))
        .otherwise(pl.lit("unknown"))
    )


def _library_type(value: str, region: str) -> tuple[str, str | None]:
    """The type and country of one stored number, from phonenumbers itself."""
    if value.startswith("+"):
        try:
            number = phonenumbers.parse(value, None)
        except phonenumbers.NumberParseException:
            return "unknown", None
        kind = _TYPE_NAMES.get(phonenumbers.number_type(number), "unknown")
        return kind, phonenumbers.region_code_for_number(number)
    if value.isascii() and value.isdigit():
        try:
            number = phonenumbers.parse(value, region)
        except phonenumbers.NumberParseException:
            return "unknown", None
        if shortnumberinfo.is_valid_short_number_for_region(number, region):
            cost = shortnumberinfo.expected_cost_for_region(number, region)
            return _SHORT_TYPES.get(cost, "short"), region
    return "unknown", None
