"""The example notebooks show what they promise: notebook 03 draws its chart as an image, and
the quickstart's widgets still show in nbconvert's HTML offline."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from helpers import ROOT


def test_notebook_03_runs_and_shows_its_chart_as_an_image(tmp_path):
    notebook = nbformat.read(ROOT / "notebooks" / "03-analytics-with-sql.ipynb", as_version=4)
    NotebookClient(
        notebook, timeout=300, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = [o for cell in notebook.cells for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 1, [o.get("data", {}).keys() for o in outputs]
    text_only = [o for o in outputs if "image/png" not in o.get("data", {})]
    assert not any("<Figure size" in str(o.get("data", {}).get("text/plain")) for o in text_only)


def test_nbconverts_html_of_the_quickstart_shows_the_plan_and_the_run_offline(tmp_path):
    """``jupyter nbconvert --to html --execute``: the widgets' JavaScript comes from a CDN, so
    offline they are blank; their static copies show the plan and how the run ended."""
    from browser import browser_page

    home = tmp_path / "home"
    home.mkdir()
    installed = str(Path(sys.executable).parent)  # the kernel's `python` is this one too
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORRA_")}
    env |= {"HOME": str(home), "PATH": f"{installed}:{env.get('PATH', '')}"}
    converted = subprocess.run(
        [sys.executable, "-m", "jupyter", "nbconvert", "--to", "html", "--execute"]
        + [str(ROOT / "notebooks" / "01-quickstart.ipynb"), "--output-dir", str(tmp_path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert converted.returncode == 0, converted.stderr[-3000:]
    page_file = tmp_path / "01-quickstart.html"
    with browser_page(tmp_path) as (page, _watched):
        page.route(re.compile(r"^https?://"), lambda route: route.abort())  # offline
        page.goto(page_file.as_uri())
        copies = page.locator(".orra-static")
        assert copies.count() == 2
        plan, run = copies.nth(0), copies.nth(1)
        assert plan.is_visible() and "Plan preview" in plan.inner_text()
        assert "customer-data-service" in plan.inner_text()
        assert run.is_visible() and ": COMPLETED" in run.inner_text()  # how it ended
        assert run.locator("svg.orra-plan").count() == 1  # the graph, drawn inline
