"""The example notebooks show what they promise: notebook 03 draws its chart as an image."""

from __future__ import annotations

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
