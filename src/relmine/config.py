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
    """

    region: str = "SK"
    timezone: str = "Europe/Bratislava"
    currency: str = "EUR"
    max_reject_rate: float = 0.05

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
        return dataclasses.replace(self, region=self.region.upper(), currency=self.currency.upper())


def _coerce(name: str, value: Any, kind: type) -> Any:
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
