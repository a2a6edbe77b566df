"""The Parquet store: datasets, manifest, rejects, settings, atomic commits and a writer lock.

Layout of a store directory::

    relmine.toml            settings the store's data was read with (region, time zone, ...)
    manifest.json           the commit point: which part files make up each table, and per input
                            file its content hash and row counts
    data/<run>/<table>-<n>.parquet   part files written by one ingest run
    .lock                   held (flock) by the process that writes
    cache/ties-<key>.parquet  derived tie tables (:func:`relmine.graph.load_ties`), safe to delete
    cache/parts/              per-part pair aggregates (:mod:`relmine.partials`), safe to delete

A run writes its part files into ``data/.tmp-<run>/``, renames that folder to ``data/<run>/`` and
then atomically replaces ``manifest.json`` (write temporary, fsync, rename, fsync the folder).
Readers only read parts the manifest names, so a run killed at any point leaves the store exactly as
it was: its half-written folder is invisible, and the next writer removes it. Committed parts are
never changed or removed, so a reader that read the manifest keeps a consistent version while a
writer commits the next one.

The store holds bank and telecom data: its folders are created ``0700`` and its files ``0600``
(readable by the owner only), whatever the umask. A write that fails because the disk is full, a
file grew beyond a limit, or the file system is read-only becomes a :class:`StoreError` saying so;
nothing of the run is committed.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from relmine.config import CONFIG_FILE, Settings, load_settings, settings_to_toml
from relmine.errors import StoreError
from relmine.schema import (
    BANK_STORE,
    CDR_STORE,
    CELLS_STORE,
    CUSTOMERS_STORE,
    REJECTS_STORE,
)

__all__ = [
    "TABLES",
    "Store",
    "Transaction",
    "atomic_write_bytes",
    "default_store_dir",
    "write_failure",
]

MANIFEST = "manifest.json"
FORMAT_VERSION = 1

#: The store's tables and their schemas.
TABLES: dict[str, dict[str, pl.DataType]] = {
    "cdr": CDR_STORE,
    "bank": BANK_STORE,
    "customers": CUSTOMERS_STORE,
    "cells": CELLS_STORE,
    "rejects": REJECTS_STORE,
}


def default_store_dir(store: Path | None) -> Path:
    """``--store``, else ``$RELMINE_STORE``, else ``./relmine-store`` (SPEC §3)."""
    if store is not None:
        return store
    env = os.environ.get("RELMINE_STORE")
    return Path(env) if env else Path("relmine-store")


def _fsync(path: Path) -> None:
    """Flush a file's data, or a folder's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


#: Owner-only permissions of the store's files and folders.
FILE_MODE, DIR_MODE = 0o600, 0o700

#: Write failures that are the machine's state, not relmine's fault, and what to tell the user.
_WRITE_FAILURES = {
    errno.ENOSPC: "no space left on the device",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EFBIG: "a file would exceed the size limit",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}


def write_failure(exc: BaseException) -> str | None:
    """Why a write failed, in words, when it is one of the machine's states (disk full, ...).

    Polars reports an I/O failure as its own error with ``(os error N)`` in the message rather
    than as an :class:`OSError`, so both are recognised.
    """
    code = exc.errno if isinstance(exc, OSError) else None
    if code is None:
        found = re.search(r"os error (\d+)", str(exc))
        code = int(found.group(1)) if found else None
    return _WRITE_FAILURES.get(code) if code is not None else None


def atomic_write_bytes(
    path: Path, data: bytes | Iterable[bytes], *, mode: int | None = FILE_MODE
) -> None:
    """Replace ``path`` with ``data`` so that readers see the old or the new file, never half.

    ``data`` is the bytes, or pieces of them written one after the other. ``mode`` is the new
    file's permissions (owner-only by default, for the store); ``None`` leaves them to the
    umask, as for any file the user asked for.
    """
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        fd = os.open(tmp, flags, 0o666 if mode is None else mode)
        with open(fd, "wb") as fh:
            if mode is not None:
                os.fchmod(fh.fileno(), mode)  # not narrowed or widened by the umask
            for piece in [data] if isinstance(data, bytes) else data:
                fh.write(piece)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    _fsync(path.parent)


def _empty_manifest() -> dict[str, Any]:
    return {"format": FORMAT_VERSION, "version": 0, "tables": {t: [] for t in TABLES}, "files": []}


@dataclass
class Store:
    """A relmine store directory, read through its manifest.

    Use :meth:`open` to read an existing store and :meth:`transaction` to change it.
    """

    root: Path
    manifest: dict[str, Any]
    settings: Settings

    @classmethod
    def open(cls, root: Path, *, create: bool = False, **overrides: Any) -> Store:
        """Open the store at ``root``.

        Parameters
        ----------
        root : Path
            The store directory.
        create : bool
            Create an empty store (writing ``relmine.toml`` from the settings in force) when
            ``root`` holds none; otherwise a missing store is an error.
        **overrides
            Settings given on the command line (``region``, ``timezone``, ...).

        Raises
        ------
        StoreError
            If there is no store at ``root`` (and ``create`` is false), or it is unreadable.
        """
        root = Path(root)
        manifest_path = root / MANIFEST
        if not manifest_path.is_file():
            if not create:
                raise StoreError(
                    f"no relmine store at {root}; ingest files first "
                    "(relmine ingest FILE --store DIR) or pass --store"
                )
            settings = load_settings(None, **overrides)
            try:
                root.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
                (root / "data").mkdir(exist_ok=True, mode=DIR_MODE)
                with _locked(root):
                    if not manifest_path.is_file():
                        atomic_write_bytes(
                            root / CONFIG_FILE, settings_to_toml(settings).encode("utf-8")
                        )
                        atomic_write_bytes(manifest_path, _dump(_empty_manifest()))
            except OSError as exc:
                raise StoreError(f"cannot create a store at {root}: {exc.strerror}") from None
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(f"cannot read {manifest_path}: {exc}") from None
        if manifest.get("format") != FORMAT_VERSION:
            raise StoreError(f"{root} was written by an incompatible relmine version")
        return cls(root, manifest, load_settings(root, **overrides))

    def scan(self, table: str) -> pl.LazyFrame:
        """Lazily read one table (all its committed parts); an empty frame when it has none."""
        parts = [self.root / p for p in self.manifest["tables"].get(table, [])]
        if not parts:
            return pl.LazyFrame(schema=TABLES[table])
        # Parts written before a column was added to the table (the register's department and
        # cost centre) read it as nulls.
        return pl.scan_parquet(parts, schema=TABLES[table], missing_columns="insert")

    @property
    def files(self) -> list[dict[str, Any]]:
        """The manifest's record of every ingested file, in ingest order."""
        return list(self.manifest["files"])

    def has_file(self, sha256: str) -> dict[str, Any] | None:
        """The record of an already-ingested file with this content hash, if any."""
        return next((f for f in self.manifest["files"] if f["sha256"] == sha256), None)

    @contextlib.contextmanager
    def transaction(self, *, wait: bool = True) -> Iterator[Transaction]:
        """Hold the writer lock and stage a change; it is committed only if the block completes.

        The manifest is re-read under the lock, so a writer that waited sees its predecessor's
        commit. Leftovers of killed runs are removed first. With ``wait=False`` a store that
        another process is writing is an error instead of a wait.

        Raises
        ------
        StoreError
            If the store is being written and ``wait`` is false, or a write fails because the
            disk is full, a size limit is reached or the file system is read-only (nothing of
            the run is committed then).
        """
        with _locked(self.root, wait=wait):
            self.manifest = json.loads((self.root / MANIFEST).read_text(encoding="utf-8"))
            self._remove_orphans()
            run = f"{self.manifest['version'] + 1:06d}-{uuid.uuid4().hex[:8]}"
            staging = self.root / "data" / f".tmp-{run}"
            try:
                staging.mkdir(parents=True, mode=DIR_MODE)
                txn = Transaction(self, run, staging)
                yield txn
                if txn.has_changes:
                    self._commit(txn)
            except Exception as exc:
                reason = write_failure(exc)
                if reason is None:
                    raise
                raise StoreError(
                    f"cannot write the store at {self.root}: {reason}; nothing of this run was "
                    "stored (free space or fix the permissions, then run it again)"
                ) from None
            finally:
                shutil.rmtree(staging, ignore_errors=True)

    def _commit(self, txn: Transaction) -> None:
        final = self.root / "data" / txn.run
        for part in txn.staging.iterdir():
            os.chmod(part, FILE_MODE)
            _fsync(part)
        os.rename(txn.staging, final)
        _fsync(final.parent)
        manifest = json.loads(json.dumps(self.manifest))
        manifest["version"] += 1
        for table, names in txn.parts.items():
            manifest["tables"][table].extend(f"data/{txn.run}/{n}" for n in names)
        manifest["files"].extend(txn.file_records)
        atomic_write_bytes(self.root / MANIFEST, _dump(manifest))
        self.manifest = manifest

    def _remove_orphans(self) -> None:
        referenced = {p.split("/")[1] for parts in self.manifest["tables"].values() for p in parts}
        for entry in (self.root / "data").iterdir():
            if entry.name not in referenced:
                shutil.rmtree(entry, ignore_errors=True)


@dataclass
class Transaction:
    """A staged change to a store: part files and file records, committed together."""

    store: Store
    run: str
    staging: Path
    parts: dict[str, list[str]] = field(default_factory=dict)
    file_records: list[dict[str, Any]] = field(default_factory=list)

    def part_path(self, table: str) -> tuple[Path, str]:
        """A new part file of ``table`` to write into; it joins the table at commit."""
        names = self.parts.setdefault(table, [])
        name = f"{table}-{len(names):04d}.parquet"
        names.append(name)
        return self.staging / name, name

    def flush_part(self, path: Path) -> None:
        """Write a finished part's data to disk now rather than at commit.

        The commit syncs every part (:meth:`Store._commit`); one already synced costs it
        nothing, so syncing parts as they are finished overlaps that wait with the run's work.
        """
        _fsync(path)

    def drop_part(self, table: str, name: str) -> None:
        """Forget a staged part (for example one that turned out empty)."""
        self.parts[table].remove(name)
        (self.staging / name).unlink(missing_ok=True)

    def add_file(self, record: dict[str, Any]) -> None:
        """Record an ingested input file in the manifest at commit."""
        self.file_records.append(record)

    @property
    def has_changes(self) -> bool:
        return bool(self.file_records) or any(self.parts.values())


def _dump(obj: Any) -> bytes:
    return (json.dumps(obj, indent=1, sort_keys=True) + "\n").encode("utf-8")


@contextlib.contextmanager
def _locked(root: Path, *, wait: bool = True) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``root/.lock``; a second writer waits for the first.

    With ``wait=False`` the second writer fails at once instead (for cron jobs that must not
    pile up behind a long run).
    """
    try:
        fd = os.open(root / ".lock", os.O_RDWR | os.O_CREAT, FILE_MODE)
    except OSError as exc:
        raise StoreError(f"cannot lock the store at {root}: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            raise StoreError(
                f"the store at {root} is being written by another relmine process; "
                "try again when it has finished, or run without --no-wait to wait for it"
            ) from None
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)
