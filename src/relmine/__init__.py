"""relmine: mine the relationships hidden in bank-statement and call-detail records."""

from __future__ import annotations

from relmine.errors import RelmineError

__version__ = "0.1.0"

__all__ = ["RelmineError", "__version__"]
