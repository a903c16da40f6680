"""Orra Studio in Jupyter: ``%load_ext orra_studio``, then ``%orra?``.

magics.py    %orra / %%orra and their sub-commands
session.py   what a kernel holds: client, embedded server, served services, local DuckDB
widgets.py   plan preview (edit, run) and live progress (ipywidgets)
results.py   OrchestrationResult: HTML summary and DataFrames
"""

from __future__ import annotations

from typing import Any

from .magics import OrraMagics
from .results import OrchestrationResult
from .widgets import ApprovalCard, ApprovalsPanel, PlanPreview, RunProgress

__all__ = [
    "ApprovalCard",
    "ApprovalsPanel",
    "OrchestrationResult",
    "OrraMagics",
    "PlanPreview",
    "RunProgress",
    "load_ipython_extension",
    "unload_ipython_extension",
]


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics once per shell (loading twice is harmless)."""
    if any(isinstance(c, OrraMagics) for c in ipython.configurables):
        return
    magics = OrraMagics(shell=ipython)
    ipython.register_magics(magics)
    ipython.configurables.append(magics)


def unload_ipython_extension(ipython: Any) -> None:
    for configurable in list(ipython.configurables):
        if isinstance(configurable, OrraMagics):
            configurable.session.close()
            ipython.configurables.remove(configurable)
