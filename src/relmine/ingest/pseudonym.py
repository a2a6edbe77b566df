"""Pseudonymisation: keyed HMAC-SHA256 tokens instead of phone numbers, accounts and names.

``relmine ingest --pseudonymize`` replaces every identifier *after* identity resolution, so all
writings of one number (``0905 123 456``, ``+421905123456``) and a register's phone and account
get tokens that still join: one person stays one node, and graph outputs are those of the plain
store up to renaming. The token of a value depends only on the key and the value, so it is the
same across files and runs; without the key it cannot be reversed or recomputed (RFC 2104).

Tokens are ``tel-``, ``acc-``, ``name-``, ``raw-`` or ``file-`` and 20 lower-case base32
characters (100 bits of the HMAC). base32's digits are 2-7 only, so no token can contain a
phone number or an IBAN.

References
----------
H. Krawczyk, M. Bellare, R. Canetti, "HMAC: Keyed-Hashing for Message Authentication",
RFC 2104, 1997.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from collections.abc import Callable
from pathlib import Path

import polars as pl

from relmine.errors import ConfigError

__all__ = [
    "KEY_ENV",
    "PSEUDONYMOUS",
    "SAFE_INPUT_COLUMNS",
    "key_check",
    "load_key",
    "pseudonymize",
    "token",
    "tokens",
]

#: Environment variable holding the key (any text of at least ``_MIN_KEY_BYTES`` bytes).
KEY_ENV = "RELMINE_KEY"
_MIN_KEY_BYTES = 16
_TOKEN_CHARS = 20

#: Per store table: column -> token domain. ``None`` drops the column's text (free text can
#: hold any identifier, so a pseudonymised store keeps none of it).
PSEUDONYMOUS: dict[str, dict[str, str | None]] = {
    "cdr": {"caller": "tel", "callee": "tel"},
    "bank": {
        "account": "acc",
        "counterparty": "acc",
        "src": "acc",
        "dst": "acc",
        "counterparty_name": "name",
        "description": None,
    },
    "customers": {"phone": "tel", "account": "acc", "name": "name"},
    "cells": {},
}

#: Input columns whose raw text may stay in a rejected row's ``raw`` text; every other field of
#: a rejected row (identifiers, names, free text, unknown columns) becomes a ``raw-`` token.
SAFE_INPUT_COLUMNS = frozenset(
    {
        "amount",
        "currency",
        "booked_at",
        "start_time",
        "duration_s",
        "type",
        "cell_id",
        "roaming_country",
        "direction",
        "debit",
        "credit",
        "lat",
        "lon",
        "income",
        "assets",
        "defaulted",
        "segment",
        "kind",
        "customer_id",
        "employer_id",
    }
)


def load_key(key_file: Path | None = None) -> bytes:
    """The pseudonymisation key: the contents of ``key_file``, else ``$RELMINE_KEY``.

    Surrounding white space (a file's final newline) is not part of the key.

    Raises
    ------
    ConfigError
        If there is no key, the file cannot be read, or the key is shorter than 16 bytes.
    """
    if key_file is not None:
        try:
            key = Path(key_file).read_bytes().strip()
        except OSError as exc:
            raise ConfigError(f"cannot read key file {key_file}: {exc.strerror}") from None
        source = f"key file {Path(key_file).name}"
    else:
        key = os.environ.get(KEY_ENV, "").strip().encode("utf-8")
        source = KEY_ENV
        if not key:
            raise ConfigError(
                f"--pseudonymize needs a secret key: set {KEY_ENV} or pass --key-file FILE "
                "(e.g. head -c 32 /dev/urandom | base64 > relmine.key), and keep the same key "
                "for every run into this store"
            )
    if len(key) < _MIN_KEY_BYTES:
        raise ConfigError(f"the key in {source} is too short; use at least {_MIN_KEY_BYTES} bytes")
    return key


def token(value: str, *, key: bytes, domain: str) -> str:
    """The token of one value: ``<domain>-`` and 20 base32 characters of its HMAC-SHA256.

    The domain (``tel``, ``acc``, ``name``, ``raw``, ``file``) is part of the MAC's message, so
    one string gets unrelated tokens as a phone number and as a name.

    Examples
    --------
    >>> token("+421905123456", key=b"0123456789abcdef", domain="tel")[:4]
    'tel-'
    """
    return _tokenizer(key, domain)(value)


def _tokenizer(key: bytes, domain: str) -> Callable[[str], str]:
    """:func:`token` for one key and domain, with the key schedule done once (about 25% faster)."""
    keyed = hmac.new(key, digestmod=hashlib.sha256)
    prefix, label = f"{domain}-", f"{domain}\x00".encode()

    def one(value: str) -> str:
        mac = keyed.copy()
        mac.update(label + value.encode())
        return prefix + base64.b32encode(mac.digest()).decode("ascii")[:_TOKEN_CHARS].lower()

    return one


def key_check(key: bytes) -> str:
    """A short value that tells whether two runs used the same key (without revealing it)."""
    return token("relmine key check", key=key, domain="key")


def tokens(values: pl.Series, *, key: bytes, domain: str) -> pl.DataFrame:
    """``value`` -> ``token`` for the distinct non-null values (HMAC per distinct value)."""
    distinct = values.drop_nulls().unique().sort()
    # One HMAC per distinct value, as identity normalisation does per distinct value: there is
    # no vectorised HMAC, and the distinct values are far fewer than the rows.
    one = _tokenizer(key, domain)
    out = [one(v) for v in distinct.to_list()]
    return pl.DataFrame(
        {"value": distinct, "token": pl.Series(out, dtype=pl.String)},
        schema={"value": pl.String, "token": pl.String},
    )


def pseudonymize(
    frame: pl.DataFrame, columns: dict[str, str | None], *, key: bytes
) -> pl.DataFrame:
    """Replace each named column by its tokens (``None``: by nulls); other columns unchanged.

    Parameters
    ----------
    frame : DataFrame
        Normalised rows (identifiers already in E.164 / compact IBAN form).
    columns : dict
        Column -> token domain, or ``None`` to drop the column's text.
    key : bytes
        The secret key (:func:`load_key`).

    Returns
    -------
    DataFrame
        The same rows and columns; values of one domain share one token table, so the same
        value gets the same token in every column (caller and callee, account and counterparty).
    """
    domains = sorted({d for d in columns.values() if d is not None})
    for domain in domains:
        names = [c for c, d in columns.items() if d == domain and c in frame.columns]
        if not names:
            continue
        values = pl.concat([frame.get_column(c).cast(pl.String) for c in names])
        table = tokens(values, key=key, domain=domain)
        for c in names:
            # A join, not replace_strict: 8x faster with hundreds of thousands of values.
            found = frame.select(pl.col(c).cast(pl.String)).join(
                table.rename({"value": c}), on=c, how="left", maintain_order="left"
            )
            frame = frame.with_columns(found["token"].alias(c))
    dropped = [c for c, d in columns.items() if d is None and c in frame.columns]
    if dropped:
        frame = frame.with_columns(pl.lit(None, frame.schema[c]).alias(c) for c in dropped)
    return frame
