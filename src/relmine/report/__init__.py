"""The HTML report: ingest, graph, communities, households, influencers and activity, with charts.

:func:`build_report` gathers the content (:mod:`relmine.report.build`), :func:`write_report`
writes it as one self-contained HTML page or as Markdown with PNG charts beside it
(:mod:`relmine.report.render`); the charts are drawn by :mod:`relmine.report.charts` and the
pages come from the Jinja templates in ``templates/`` (package data).
"""

from __future__ import annotations

from relmine.report.build import Report, build_report
from relmine.report.render import render_html, render_markdown, write_report

__all__ = ["Report", "build_report", "render_html", "render_markdown", "write_report"]
