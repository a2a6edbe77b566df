"""Canonical column names and Polars schemas, in one place.

Input schemas (SPEC §2) say which columns a file of each kind has; store schemas say what relmine
keeps after normalisation. Every other module takes its column names from here.
"""

from __future__ import annotations

import polars as pl

__all__ = [
    "BANK_STORE",
    "CDR_STORE",
    "CELLS_STORE",
    "CUSTOMERS_STORE",
    "DERIVING_COLUMNS",
    "EVENT_TYPES",
    "INGEST_KINDS",
    "INPUT_COLUMNS",
    "KINDS",
    "REJECTS_STORE",
    "REQUIRED_COLUMNS",
    "TYPE_ALIASES",
]

#: Input kinds that ``relmine ingest --kind`` accepts (besides ``auto``).
KINDS = ("bank", "cdr", "customers", "cells")

#: Every canonical input column, per kind (SPEC §2). Headers are matched case-insensitively.
INPUT_COLUMNS: dict[str, tuple[str, ...]] = {
    "bank": (
        "account",
        "counterparty",
        "amount",
        "currency",
        "booked_at",
        "description",
        "counterparty_name",
    ),
    "cdr": ("caller", "callee", "start_time", "duration_s", "type", "cell_id", "roaming_country"),
    "customers": (
        "customer_id",
        "phone",
        "account",
        "name",
        "income",
        "assets",
        "defaulted",
        "segment",
        "kind",
        "employer_id",
        "department",
        "cost_center",
    ),
    "cells": ("cell_id", "lat", "lon"),
}

#: Kinds ``relmine ingest --kind`` accepts: the tables' kinds, and bandicoot's per-subscriber
#: files (read into the ``cdr`` table).
INGEST_KINDS = (*KINDS, "bandicoot")

#: Input columns of non-canonical layouts from which canonical ones are derived (see
#: :mod:`relmine.ingest.mapping`): a debit/credit pair or indicator gives ``amount``; the served
#: subscriber, the other party and the direction give ``caller`` and ``callee``.
DERIVING_COLUMNS: dict[str, tuple[str, ...]] = {
    "bank": ("debit", "credit", "direction"),
    "cdr": ("served", "other", "direction"),
    "customers": (),
    "cells": (),
}

#: Columns a file must have to be read as that kind.
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    "bank": ("account", "amount", "booked_at"),
    "cdr": ("caller", "callee", "start_time"),
    "customers": ("customer_id",),
    "cells": ("cell_id", "lat", "lon"),
}

#: Canonical event types of call-detail records.
EVENT_TYPES = ("voice", "sms", "mms")

#: Spellings of event types found in real exports, lower-cased, mapped onto :data:`EVENT_TYPES`.
TYPE_ALIASES: dict[str, str] = {
    "voice": "voice",
    "call": "voice",
    "calls": "voice",
    "moc": "voice",
    "mtc": "voice",
    "sms": "sms",
    "text": "sms",
    "message": "sms",
    "sms-mo": "sms",
    "sms-mt": "sms",
    "sms_mo": "sms",
    "sms_mt": "sms",
    "mms": "mms",
    "mms-mo": "mms",
    "mms-mt": "mms",
}

_TS_UTC = pl.Datetime("us", "UTC")
_TS_LOCAL = pl.Datetime("us")

#: One row per call or message. ``ts_utc`` is the instant; ``ts_local`` the wall-clock time where it
#: happened (from the offset in the file, else the configured time zone), which is what night /
#: weekend features need.
CDR_STORE: dict[str, pl.DataType] = {
    "caller": pl.String(),
    "callee": pl.String(),
    "ts_utc": _TS_UTC,
    "ts_local": _TS_LOCAL,
    "duration_s": pl.Int32(),
    "type": pl.Enum(list(EVENT_TYPES)),
    "cell_id": pl.String(),
    "roaming_country": pl.String(),
}

#: One row per booking on a statement of one of our accounts. ``src``/``dst``/``value`` give the
#: transfer it shows (payer, payee, absolute amount); a transfer between two of our accounts is
#: booked on both statements and is one transfer: same ``src, dst, value, currency, ts_utc``.
BANK_STORE: dict[str, pl.DataType] = {
    "account": pl.String(),
    "counterparty": pl.String(),
    "amount": pl.Float64(),
    "currency": pl.String(),
    "ts_utc": _TS_UTC,
    "ts_local": _TS_LOCAL,
    "description": pl.String(),
    "counterparty_name": pl.String(),
    "src": pl.String(),
    "dst": pl.String(),
    "value": pl.Float64(),
}

CUSTOMERS_STORE: dict[str, pl.DataType] = {
    "customer_id": pl.String(),
    "phone": pl.String(),
    "account": pl.String(),
    "name": pl.String(),
    "income": pl.Float64(),
    "assets": pl.Float64(),
    "defaulted": pl.Boolean(),
    "segment": pl.String(),
    "kind": pl.String(),
    "employer_id": pl.String(),
    "department": pl.String(),  # employees (kind = employee): for relmine tem
    "cost_center": pl.String(),
}

CELLS_STORE: dict[str, pl.DataType] = {
    "cell_id": pl.String(),
    "lat": pl.Float64(),
    "lon": pl.Float64(),
}

#: Every rejected input row: where it came from, why, and its raw text (fields joined by the
#: file's separator) so that nothing is lost.
REJECTS_STORE: dict[str, pl.DataType] = {
    "file": pl.String(),
    "line": pl.Int64(),
    "reason": pl.String(),
    "raw": pl.String(),
}
