"""Run commands as child processes and measure wall time and peak RSS of each (``os.wait4``)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Measured", "machine", "markdown_table", "measure", "relmine_cmd", "targets_line"]

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Measured:
    name: str
    rows: int
    seconds: float
    peak_rss_mb: float
    #: User + system CPU seconds of the process (on a shared machine steadier than wall time).
    cpu_seconds: float = float("nan")

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else float("nan")


def relmine_cmd(*args: str) -> list[str]:
    """``python -m relmine ARGS`` with this checkout's sources first on the path."""
    return [sys.executable, "-m", "relmine", *args]


def measure(name: str, cmd: list[str], *, rows: int, env: dict[str, str] | None = None) -> Measured:
    """Run ``cmd``; fail loudly if it fails; return its wall time and peak resident memory.

    ``env`` adds environment variables (e.g. a setting such as ``RELMINE_TIE_CACHE``).
    Peak RSS is ``ru_maxrss``, which Linux reports in KiB: ``peak_rss_mb`` is in MiB.
    """
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{name} failed: {' '.join(cmd)}")
    cpu = usage.ru_utime + usage.ru_stime
    return Measured(name, rows, seconds, usage.ru_maxrss / 1024, cpu)


def machine() -> str:
    """A one-line description of this machine."""
    mem_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} cores ({cpu}), {mem_gb:.0f} GiB RAM, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )


def markdown_table(results: list[Measured]) -> str:
    lines = [
        "| stage | rows | wall s | rows/s | peak RSS MiB |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in results:
        figures = f"{r.rows:,} | {r.seconds:.1f} | {r.rows_per_s:,.0f} | {r.peak_rss_mb:,.0f}"
        lines.append(f"| {r.name} | {figures} |")
    return "\n".join(lines)


def targets_line(results: list[Measured], *, seconds: float, rss_mb: float) -> str:
    """Whether every run stayed under the wall-time and peak-RSS targets, and which did not."""
    missed = [r.name for r in results if r.seconds > seconds or r.peak_rss_mb > rss_mb]
    targets = f"< {seconds:.0f} s and < {rss_mb:,.0f} MiB"
    return f"targets ({targets}): " + (f"missed by {', '.join(missed)}" if missed else "met")
