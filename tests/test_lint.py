"""One gate: the code is ruff-clean (lint and format), checked with the tests."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from conftest import ROOT

#: The folders of the project's own Python code. Named, not ``.``: a virtualenv in the checkout
#: under another name than ``.venv`` or ``venv`` (``.venv2``, ``env-3.12``) holds third-party
#: scripts that ruff would otherwise lint.
CODE = ("src", "tests", "benchmarks")


@pytest.mark.skipif(
    shutil.which("ruff") is None, reason="ruff is not installed (pip install -e '.[test]')"
)
@pytest.mark.parametrize("args", [["check"], ["format", "--check"]])
def test_ruff(args: list[str]) -> None:
    proc = subprocess.run(["ruff", *args, *CODE], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
