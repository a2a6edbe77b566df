"""``relmine report``: the HTML and Markdown report on the sample world, through the CLI.

The acceptance test opens the report in headless Chromium (Debian's ``chromium``, which
``.ci/run`` installs): every chart decoded, the page is not blank, no console message, and a
customer named ``<script>alert(1)</script>`` shows as text.
"""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
from pathlib import Path

import markupsafe
import numpy as np
import polars as pl
import pytest
from PIL import Image

from conftest import SAMPLE, run_cli, run_process

CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMAGE = "<img src=x onerror=\"document.body.setAttribute('data-pwned','1')\">"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
IMG = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"')
#: The charts of a report on the sample: 2 distributions of the graph, community and household
#: sizes, 3 communities and 3 influencers drawn, the hour x weekday grid.
CHARTS = 11


def _report(store: Path, out: Path, *extra: str | Path) -> str:
    run = run_cli("report", "--store", store, "-o", out, *extra)
    assert run.exit_code == 0, run.stderr
    assert f"wrote {out}" in run.stderr
    return out.read_text(encoding="utf-8")


def _cell(page: str, label: str) -> str:
    """The value of a two-column row ``<th>label</th><td class="n">value</td>``."""
    found = re.search(rf"<th>{re.escape(label)}</th><td class=\"n\">([^<]*)</td>", page)
    assert found, label
    return found.group(1)


def _output(store: Path, tmp: Path, command: str, *extra: str) -> pl.DataFrame:
    path = tmp / f"{command}.parquet"
    run = run_cli(command, "--store", store, "-o", path, "-q", *extra)
    assert run.exit_code == 0, run.stderr
    return pl.read_parquet(path)


@pytest.fixture(scope="module")
def outputs(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    tmp = tmp_path_factory.mktemp("report-outputs")
    frames = {
        "ties": _output(sample_store, tmp, "graph"),
        "communities": _output(sample_store, tmp, "communities"),
        "households": _output(sample_store, tmp, "households"),
        "influencers": _output(sample_store, tmp, "influencers"),
    }
    return {"dir": tmp, **frames}


@pytest.fixture(scope="module")
def page(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    return _report(sample_store, tmp_path_factory.mktemp("report") / "report.html")


def test_page_is_self_contained_with_every_chart_a_png(page: str) -> None:
    images = IMG.findall(page)
    assert len(images) == page.count("<img") == CHARTS
    for data in images:
        png = base64.b64decode(data)
        assert png.startswith(PNG_MAGIC)
        width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
        assert width >= 400 and height >= 300
    # nothing is fetched: no link, no remote source, no stylesheet or script from elsewhere
    assert not re.search(r"(src|href)=\"(https?:)?//", page)
    assert "<link" not in page and page.count("<script") == 1
    assert "default-src 'none'" in html.unescape(page)  # Content-Security-Policy


def test_ingest_section_is_the_manifest(sample_store: Path, page: str) -> None:
    status = run_cli("status", "--store", sample_store, "--format", "json").json()
    for f in status["files"]:
        row = f"<tr><td>{html.escape(f['path'])}</td><td>{f['kind']}</td>"
        figures = "".join(
            f'<td class="n">{f[k]:,}</td>' for k in ("rows", "accepted", "rejected", "duplicates")
        )
        assert row + figures + "</tr>" in page
    reasons: dict[tuple[str, str], int] = {}
    for f in status["files"]:
        for reason, n in f["rejected_by_reason"].items():
            reasons[(f["kind"], reason)] = reasons.get((f["kind"], reason), 0) + n
    assert len(reasons) == 7  # the sample's planted defects
    for (kind, reason), n in reasons.items():
        assert f'<tr><td>{kind}</td><td>{reason}</td><td class="n">{n:,}</td></tr>' in page
    total = sum(f["rejected"] for f in status["files"])
    assert f'<th class="n">{total:,}</th>' in page


def test_graph_and_activity_figures_come_from_the_tie_table(page: str, outputs: dict) -> None:
    ties = outputs["ties"]
    nodes = pl.concat([ties["a"], ties["b"]]).n_unique()
    assert _cell(page, "ties") == f"{ties.height:,}"
    assert _cell(page, "parties (nodes)") == f"{nodes:,}"
    degrees = pl.concat([ties["a"], ties["b"]]).value_counts()["count"]
    assert _cell(page, "max degree") == f"{degrees.max():,}"
    voice, sms, bank = (int(ties[c].sum()) for c in ("voice_n", "sms_n", "bank_n"))
    events = re.search(r"<tr><td[^>]*>([\d,]+)</td><td[^>]*>([\d,]+)</td><td[^>]*>([\d,]+)", page)
    assert events and [int(g.replace(",", "")) for g in events.groups()] == [voice, sms, bank]
    # the hour x weekday grid counts every call and message of the ties once
    assert f"{voice + sms:,} calls and messages; busiest hour" in page


def test_calls_between_a_persons_own_sims_are_not_in_the_activity(tmp_path: Path) -> None:
    """The grid counts relationship events: a person calling their own second SIM is none."""
    customers = pl.read_csv(SAMPLE / "customers.csv", infer_schema=False)
    sims = (
        customers.drop_nulls("phone")
        .group_by("customer_id")
        .agg(pl.col("phone").sort())
        .filter(pl.col("phone").list.len() > 1)
        .sort("customer_id")["phone"][0]
        .to_list()
    )
    # 600 calls on a Tuesday at 04:00-04:59 (a quiet hour), more than any hour of the sample has
    own = pl.DataFrame(
        {
            "caller": [sims[0]] * 600,
            "callee": [sims[1]] * 600,
            "start_time": [f"2026-03-03 04:{i // 60:02d}:{i % 60:02d}" for i in range(600)],
            "duration_s": ["30"] * 600,
            "type": ["voice"] * 600,
        }
    )
    own.write_csv(tmp_path / "own.csv")
    store = tmp_path / "store"
    files = [*(SAMPLE / f for f in ("customers.csv", "cells.csv", "calls.csv", "bank.csv"))]
    run = run_cli("ingest", *files, tmp_path / "own.csv", "--store", store, "-q")
    assert run.exit_code == 0, run.stderr
    ties = _output(store, tmp_path, "graph")
    calls = int(ties["voice_n"].sum() + ties["sms_n"].sum())
    assert calls == 19_809  # the sample's calls and messages: none of the 600 is a tie's
    page = _report(store, tmp_path / "report.html")
    found = re.search(r"([\d,]+) calls and messages; busiest hour (\w+ \d\d:\d\d)", page)
    assert found, "no activity line"
    assert int(found.group(1).replace(",", "")) == calls
    assert found.group(2) != "Tue 04:00"


def test_groups_and_influencers_are_those_of_the_commands(page: str, outputs: dict) -> None:
    communities = outputs["communities"].unique("community_id")
    assert _cell(page, "communities") == f"{communities.height:,}"
    assert _cell(page, "largest") == f"{communities['community_size'].max():,}"
    households = outputs["households"].filter(pl.col("household_size") > 1)
    assert _cell(page, "households (2 or more members)") == (
        f"{households['household_id'].n_unique():,}"
    )
    assert _cell(page, "people in households") == f"{households.height:,}"
    section = page.split('id="influencers"')[1].split("</table>")[0]
    ranked = re.findall(r'<tr><td class="n">(\d+)</td><td>([^<]+)</td>', section)
    expected = outputs["influencers"].head(20)
    assert [int(r) for r, _ in ranked] == expected["rank"].to_list()
    assert [n for _, n in ranked] == expected["node_id"].to_list()
    # the planted hubs of the sample lead the table
    truth = pl.read_csv(SAMPLE / "truth" / "nodes.csv", infer_schema=False)
    hubs = set(truth.filter(pl.col("is_hub") == "true")["node_id"])
    assert sum(n in hubs for _, n in ranked[:10]) >= 8
    assert "their churn would take about" in section  # the explanation column


def test_files_given_make_the_same_report(
    sample_store: Path, page: str, outputs: dict, tmp_path: Path
) -> None:
    folder = outputs["dir"]
    given = _report(
        sample_store,
        tmp_path / "given.html",
        "--communities",
        folder / "communities.parquet",
        "--households",
        folder / "households.parquet",
        "--influencers",
        folder / "influencers.parquet",
    )
    assert f"read from {folder / 'communities.parquet'}" in given
    assert "computed:" not in given and "computed:" in page

    def without_sources(text: str) -> str:
        text = re.sub(r'<p class="source">[^<]*</p>', "", text)
        return re.sub(r"<p>seed 0; communities: [^<]*</p>", "", text)

    assert without_sources(given) == without_sources(page)


def test_same_store_and_seed_give_the_same_bytes(sample_store: Path, tmp_path: Path) -> None:
    first = _report(sample_store, tmp_path / "a.html", "--seed", "3")
    second = _report(sample_store, tmp_path / "b.html", "--seed", "3")
    assert first == second
    assert "seed 3" in first


def test_markdown_with_png_charts_beside_it(sample_store: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.md"
    run = run_cli("report", "--store", sample_store, "-o", out)
    assert run.exit_code == 0, run.stderr
    text = out.read_text(encoding="utf-8")
    links = re.findall(r"!\[[^\]]*\]\((report_files/[a-z_0-9]+\.png)\)", text)
    assert len(links) == CHARTS
    files = sorted((tmp_path / "report_files").iterdir())
    assert sorted(str(p.relative_to(tmp_path)) for p in files) == sorted(links)
    assert all(p.read_bytes().startswith(PNG_MAGIC) for p in files)
    assert "## Influencers" in text and "| rank | node\\_id | name |" in text
    # --format md with a name of another extension, and a second run replaces the folder
    again = tmp_path / "summary.txt"
    assert run_cli("report", "--store", sample_store, "-o", again, "--format", "md").exit_code == 0
    assert len(list((tmp_path / "summary_files").glob("*.png"))) == CHARTS


def test_errors_say_what_to_do(sample_store: Path, outputs: dict, tmp_path: Path) -> None:
    wrong = run_process(
        "report",
        "--store",
        sample_store,
        "-o",
        tmp_path / "r.html",
        "--influencers",
        outputs["dir"] / "communities.parquet",
    )
    assert wrong.returncode == 1 and wrong.stderr.count("\n") == 1
    assert "is not an output of `relmine influencers` (no rank, score)" in wrong.stderr
    assert not (tmp_path / "r.html").exists()
    piped = run_process("report", "--store", sample_store, "-o", "-", "--format", "md")
    assert piped.returncode == 1 and "-o FILE.md" in piped.stderr
    nowhere = run_process("report", "--store", sample_store, "-o", tmp_path / "no" / "r.html")
    assert nowhere.returncode == 1 and "does not exist" in nowhere.stderr


def test_settings_bound_the_drawings(
    sample_store: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RELMINE_REPORT_DRAWINGS", "1")
    monkeypatch.setenv("RELMINE_REPORT_DRAW_MAX_NODES", "20")
    page = _report(sample_store, tmp_path / "small.html", "--top", "5")
    assert page.count("<img") == CHARTS - 4  # one community and one influencer drawn
    assert re.search(r"community 1: [\d,]+ members \(20 shown\)", page)
    assert re.search(r"influencer #1 \S+: 19 strongest of [\d,]+ contacts", page)
    section = page.split('id="influencers"')[1].split("</table>")[0]
    assert section.count("<tr><td") == 5
    monkeypatch.setenv("RELMINE_REPORT_DRAW_MAX_NODES", "1")
    run = run_cli("report", "--store", sample_store, "-o", tmp_path / "r.html")
    assert run.exit_code == 1 and "report_draw_max_nodes must be at least 2" in run.stderr


def test_html_to_stdout(sample_store: Path) -> None:
    run = run_process("report", "--store", sample_store, "-o", "-", "--top", "5")
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("<!DOCTYPE html>") and run.stdout.count("<img") == CHARTS


# ---------------------------------------------------------------------------------------------
# escaping, and the acceptance test in a real browser
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile_store(sample_store: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample with the two top influencers renamed to HTML that would run if not escaped."""
    tmp = tmp_path_factory.mktemp("hostile")
    top = _output(sample_store, tmp, "influencers", "--top", "2")["node_id"].to_list()
    customers = pl.read_csv(SAMPLE / "customers.csv", infer_schema=False)
    renamed = customers.with_columns(
        name=pl.when(pl.col("customer_id") == top[0])
        .then(pl.lit(XSS_SCRIPT))
        .when(pl.col("customer_id") == top[1])
        .then(pl.lit(XSS_IMAGE))
        .otherwise("name")
    )
    renamed.write_csv(tmp / "customers.csv")
    store = tmp / "store"
    files = [tmp / "customers.csv", *(SAMPLE / f for f in ("cells.csv", "calls.csv", "bank.csv"))]
    run = run_cli("ingest", *files, "--store", store, "-q")
    assert run.exit_code == 0, run.stderr
    return store


def test_names_from_the_input_are_escaped(hostile_store: Path, tmp_path: Path) -> None:
    page = _report(hostile_store, tmp_path / "report.html")
    assert XSS_SCRIPT not in page and "<img src=x" not in page
    assert html.escape(XSS_SCRIPT) in page
    assert str(markupsafe.escape(XSS_IMAGE)) in page
    assert page.count("<script") == 1
    text = _report(hostile_store, tmp_path / "report.md")
    assert XSS_SCRIPT not in text and "<img src=x" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text


def _chromium(page: Path, profile: Path, *args: str) -> subprocess.CompletedProcess:
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={profile}",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
    ]
    return subprocess.run(
        [str(CHROMIUM), *flags, *args, page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.skipif(
    not CHROMIUM.exists() and shutil.which("chromium") is None,
    reason="chromium is not installed: `apt-get install -y chromium` (.ci/run installs it)",
)
def test_report_renders_in_headless_chromium(hostile_store: Path, tmp_path: Path) -> None:
    page = tmp_path / "report.html"
    source = _report(hostile_store, page)
    charts = source.count("<img")
    assert charts == CHARTS
    dom = _chromium(page, tmp_path / "profile-dom", "--dump-dom")
    assert dom.returncode == 0, dom.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", dom.stdout)
    assert body, dom.stdout[:500]
    # the page's script ran after load and counted the images that decoded with a width
    assert f'data-charts="{charts}"' in body.group(1)
    assert f'data-charts-rendered="{charts}"' in body.group(1)
    assert "data-pwned" not in body.group(1)  # the onerror of the hostile name never ran
    assert "&lt;img src=x onerror=" in dom.stdout  # it is text
    # the hostile name is text in the DOM, not an element
    assert html.escape(XSS_SCRIPT) in dom.stdout and dom.stdout.count("<script") == 1
    console = [line for line in dom.stderr.splitlines() if "CONSOLE" in line]
    assert console == []  # no console message at all: no error, no CSP violation, no alert

    shot = tmp_path / "screenshot.png"
    run = _chromium(
        page, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1200,3000"
    )
    assert run.returncode == 0 and shot.is_file(), run.stderr[-2000:]
    assert [line for line in run.stderr.splitlines() if "CONSOLE" in line] == []
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    assert pixels.shape[:2] == (3000, 1200)
    not_white = (pixels < 245).any(axis=2).mean()
    colours = np.unique(pixels.reshape(-1, 3), axis=0).shape[0]
    assert not_white > 0.05 and colours > 100  # text, tables and charts, not a blank page


def test_telco_expense_section(tmp_path: Path) -> None:
    """`report --tem TARIFF` on the corporate demo: costs, the department graph, anomalies."""
    from conftest import ROOT

    demo = tmp_path / "corp"
    assert run_cli("demo", "--corporate", demo, "-q").exit_code == 0
    tariff, watch = (
        ROOT / "examples" / "tem" / "tariff.toml",
        ROOT / "examples" / "tem" / "watch-list.csv",
    )
    usage = tmp_path / "usage.parquet"
    run = run_cli(
        "tem",
        "--store",
        demo / "store",
        "--tariff",
        tariff,
        "--watch-list",
        watch,
        "--by",
        "department",
        "-o",
        usage,
        "--log-format",
        "json",
    )
    assert run.exit_code == 0, run.stderr
    page = _report(demo / "store", tmp_path / "r.html", "--tem", tariff, "--watch-list", watch)
    assert "Telco expense management" in page
    assert len(IMG.findall(page)) == CHARTS + 3  # cost per department and destination, graph
    summary = next(json.loads(line) for line in run.stderr.splitlines() if '"tem"' in line)
    assert f">{summary['total_cost_(EUR)']}<" in page  # the same total cost as `relmine tem`
    assert "Anomalies (7)" in page  # every planted anomaly of the corporate world
    for kind in ("premium", "private", "roaming_spike", "competitor"):
        assert f"<td>{kind}</td>" in page
    markdown = tmp_path / "r.md"
    _report(demo / "store", markdown, "--tem", tariff)
    assert "## Telco expense management" in markdown.read_text(encoding="utf-8")
    assert len(list((tmp_path / "r_files").glob("tem_*.png"))) == 3
