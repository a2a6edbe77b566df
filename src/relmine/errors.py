"""Errors raised by the relmine library.

The library never prints and never exits: it raises a :class:`RelmineError` subclass whose message
tells the user what went wrong and how to fix it. The CLI turns it into one line on stderr and the
exit code from SPEC §4 (``exit_code``).
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "InputError",
    "OutputError",
    "RejectRateExceeded",
    "RelmineError",
    "StoreError",
    "UnknownFileKind",
    "UnknownParty",
]


class RelmineError(Exception):
    """Base class of every error relmine reports to a user (exit code 1)."""

    exit_code: int = 1


class ConfigError(RelmineError):
    """A setting, flag combination or ``relmine.toml`` value is invalid."""


class InputError(RelmineError):
    """An input file cannot be read as asked: empty, binary, unreadable, or missing a column."""


class UnknownFileKind(InputError):
    """``--kind auto`` could not tell from the header what kind of file this is."""


class StoreError(RelmineError):
    """The store is missing, locked, corrupt or not writable."""


class OutputError(RelmineError):
    """An output file cannot be written (disk full, read-only folder, ...); the old one stays."""


class RejectRateExceeded(RelmineError):
    """More rows of a file were rejected than ``--max-reject-rate`` allows (exit code 3)."""

    exit_code = 3

    def __init__(self, message: str, *, report: object = None) -> None:
        super().__init__(message)
        #: The :class:`~relmine.ingest.core.IngestReport` of the run, for the CLI to show.
        self.report = report


class UnknownParty(RelmineError):
    """A customer id, phone number or account given on the command line is not in the store."""
