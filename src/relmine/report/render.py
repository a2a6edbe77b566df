"""A :class:`~relmine.report.build.Report` as one self-contained HTML file, or Markdown + PNGs.

HTML: the charts are PNG ``data:`` URIs and the style is inline, so the file opens anywhere
without network access. Every value from the data (names, ids, file names, reasons) goes through
Jinja's autoescaping, and a Content-Security-Policy allows no script but the page's own one (by
its SHA-256), no network and images from ``data:`` only, so even a value that escaped the
escaping could not run. The page's script sets ``data-charts`` and ``data-charts-rendered`` on
``<body>`` after loading (images that decoded with a width), for checks in a headless browser.

Markdown: the same sections as text, the charts written beside it (``report_files/*.png`` for
``report.md``); values are escaped for Markdown and HTML both, since Markdown viewers render
inline HTML.
"""

from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import shutil
import sys
import uuid
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from relmine.errors import ConfigError, OutputError
from relmine.output import checked_target, write_file
from relmine.report.build import Report
from relmine.store import write_failure

__all__ = ["FORMATS", "render_html", "render_markdown", "report_format", "write_report"]

#: Report formats.
FORMATS = ("html", "md")

#: The page's only script: count the charts that rendered, once everything has loaded.
_SCRIPT = (
    "window.addEventListener('load', function () {"
    " var images = Array.prototype.slice.call(document.images);"
    " var drawn = images.filter(function (i) { return i.complete && i.naturalWidth > 0; });"
    " document.body.setAttribute('data-charts', String(images.length));"
    " document.body.setAttribute('data-charts-rendered', String(drawn.length));"
    " });"
)

_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")


def _environment(*, markdown: bool) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("relmine.report", "templates"),
        autoescape=not markdown,
        finalize=_md_finalize if markdown else None,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        undefined=jinja2.StrictUndefined,
    )
    env.filters["num"] = _number
    return env


def _number(value: Any, digits: int = 4) -> str:
    """Thousands separated integers; floats rounded to ``digits`` significant decimals."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}g}" if abs(value) < 1e6 else f"{value:,.0f}"
    return str(value)


def _md_text(value: Any) -> str:
    """Text for a Markdown cell: emphasis, links, code and pipes backslashed, then ``& < >``
    written as HTML entities (a Markdown viewer renders inline HTML); one line."""
    text = str(value).replace("\r", " ").replace("\n", " ")
    return html.escape(_MD_SPECIAL.sub(r"\\\1", text), quote=False)


def _md_finalize(value: Any) -> Any:
    """Escape every value a Markdown template prints, except what the template marks safe."""
    if isinstance(value, Markup):
        return str(value)
    return _md_text(value)


def render_html(report: Report) -> bytes:
    """The report as one self-contained HTML page (UTF-8)."""
    script_hash = base64.b64encode(hashlib.sha256(_SCRIPT.encode()).digest()).decode()
    csp = (
        "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
        f"script-src 'sha256-{script_hash}'; base-uri 'none'; form-action 'none'"
    )
    images = {
        name: "data:image/png;base64," + base64.b64encode(chart.png).decode("ascii")
        for name, chart in report.charts.items()
    }
    page = (
        _environment(markdown=False)
        .get_template("report.html.j2")
        .render(r=report, images=images, csp=csp, script=Markup(_SCRIPT))
    )
    return page.encode("utf-8")


def render_markdown(report: Report, folder: str) -> tuple[bytes, dict[str, bytes]]:
    """The report as Markdown, and its charts as ``{file name: PNG}`` to write into ``folder``.

    ``folder`` is the charts' folder relative to the Markdown file (``report_files``).
    """
    files = {f"{name}.png": chart.png for name, chart in report.charts.items()}
    links = {name: Markup(f"{folder}/{name}.png") for name in report.charts}
    text = _environment(markdown=True).get_template("report.md.j2").render(r=report, images=links)
    return text.encode("utf-8"), files


def report_format(target: str, fmt: str | None) -> str:
    """``fmt`` if given, else ``md`` for a ``.md`` target and ``html`` otherwise."""
    if fmt is not None:
        if fmt not in FORMATS:
            raise ConfigError(f"unknown report format {fmt!r}; use html or md")
        return fmt
    return "md" if Path(target).suffix.lower() in (".md", ".markdown") else "html"


def write_report(report: Report, target: str, *, fmt: str | None = None) -> dict[str, Any]:
    """Write the report to ``target`` (``-`` for HTML on stdout); return what was written.

    A file is replaced atomically; Markdown's charts go to ``<stem>_files/`` beside it, which is
    replaced as a whole (written under a temporary name first).

    Returns
    -------
    dict
        ``format``, ``bytes`` (of the page), ``charts`` and, for Markdown, ``folder``.

    Raises
    ------
    ConfigError
        For Markdown to stdout, or a target whose folder does not exist.
    OutputError
        If the file cannot be written; a previous report stays.
    """
    fmt = report_format(target, fmt)
    written: dict[str, Any] = {"format": fmt, "charts": len(report.charts)}
    if target == "-":
        if fmt == "md":
            raise ConfigError("a Markdown report needs a folder for its charts: give -o FILE.md")
        data = render_html(report)
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return written | {"bytes": len(data)}
    path = checked_target(target)
    if fmt == "html":
        data = render_html(report)
    else:
        folder = path.parent / f"{path.stem}_files"
        data, files = render_markdown(report, folder.name)
        try:
            _replace_folder(folder, files)
        except OSError as exc:
            reason = write_failure(exc) or exc.strerror or type(exc).__name__
            raise OutputError(f"cannot write {folder}: {reason}") from None
        written["folder"] = str(folder)
    write_file(data, target)
    return written | {"bytes": len(data)}


def _replace_folder(folder: Path, files: dict[str, bytes]) -> None:
    """Write ``files`` into a new folder, then put it in the place of ``folder``."""
    staging = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.tmp")
    old = folder.with_name(f".{folder.name}.{uuid.uuid4().hex}.old")
    staging.mkdir()
    try:
        for name, data in sorted(files.items()):
            (staging / name).write_bytes(data)
        if folder.exists():
            os.replace(folder, old)
        os.replace(staging, folder)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)
