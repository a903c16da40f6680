"""The magics in a real IPython kernel: embedded server, a ``%%orra service`` cell, the plan
preview widget edited and run, ``%%orra sql`` against the API's numbers, and bad input."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from helpers import ROOT, ServerProcess, new_project
from kernel import Kernel

MODELS = """
from pydantic import BaseModel

class ShoutIn(BaseModel):
    message: str

class ShoutOut(BaseModel):
    shouted: str
"""

SERVICE_CELL = '''%%orra service text-shouter
def shout(inp: ShoutIn) -> ShoutOut:
    """Shouts a message: converts it to upper case"""
    return ShoutOut(shouted=inp.message.upper())
'''


@pytest.fixture(scope="module")
def kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kernel]:
    """A kernel with no orra server configured (its own empty config path)."""
    home = tmp_path_factory.mktemp("kernel-home")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORRA_", "OPENAI_"))} | {
        "ORRA_CONFIG": str(home / "config.toml"),
        "HOME": str(home),
    }
    started = Kernel(env, cwd=str(ROOT))
    started.home = home  # type: ignore[attr-defined]
    try:
        started.ok("%load_ext orra_studio")
        yield started
    finally:
        started.close()


def _session(kernel: Kernel) -> tuple[str, str]:
    return kernel.value(
        "[(m.session.client.url, m.session.client.api_key) for m in get_ipython().configurables "
        "if type(m).__name__ == 'OrraMagics'][0]"
    )


def test_embedded_server_service_cell_plan_widget_and_sql(kernel: Kernel) -> None:
    started = kernel.ok("%orra services")  # nothing configured: the kernel starts one itself
    assert "Started an embedded control plane in this kernel at http://127.0.0.1:" in started.stdout
    url, key = _session(kernel)
    api = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30)

    kernel.ok(MODELS)
    served = kernel.ok(SERVICE_CELL)
    assert "Service text-shouter" in served.stdout and "serving shout()" in served.stdout
    services = {s["name"]: s for s in api.get("/services").json()["services"]}
    assert services["text-shouter"]["online"]  # a real websocket from the kernel
    assert services["text-shouter"]["description"] == "Shouts a message: converts it to upper case"

    # the plan preview widget: state, the graph view, an edit, the Run button
    kernel.ok("preview = %orra plan 'shout: hello there' message='hello there'")
    state = kernel.value(
        "{'status': preview.status, 'plan': preview.plan, 'fields': list(preview.inputs['step1']),"
        " 'disabled': preview.run_button.disabled, 'view': preview.view.value}"
    )
    assert state["status"] == "PREVIEW" and state["view"] == "table" and not state["disabled"]
    assert state["fields"] == ["message"]
    assert state["plan"]["steps"][0]["component"] == "text-shouter"
    assert state["plan"]["steps"][0]["input"] == {"message": "{{request.data.message}}"}
    assert kernel.value("preview.view.options") == ["table", "graph"]
    assert (
        kernel.value("(setattr(preview.view, 'value', 'graph'), preview.diagram.value)[1]")[:4]
        == "<svg"
    )

    kernel.ok("preview.inputs['step1']['message'].value = 'edited in a widget'")
    kernel.ok("preview.run_button.click()")
    ran = kernel.value(
        "{'status': preview.status, 'result': preview.result.result, "
        "'id': preview.result.execution_id, 'done': preview.progress_box.children[0].bar.value}"
    )
    assert ran["status"] == "COMPLETED" and ran["result"] == {"shouted": "EDITED IN A WIDGET"}
    assert ran["done"] == 1
    body = api.get(f"/orchestrations/{ran['id']}").json()
    assert body["stepResults"][0]["input"] == {"message": "edited in a widget"}  # the edit ran

    # %orra run: live progress, an OrchestrationResult with DataFrames and HTML
    out = kernel.ok("result = %orra run 'shout: second' message=second\nresult")
    assert any("application/vnd.jupyter.widget-view+json" in r for r in out.results)
    assert "OrchestrationResult" in out.results[-1]["text/plain"]
    assert "COMPLETED" in out.results[-1]["text/html"]
    assert kernel.value("result.to_pandas().loc['step1', 'output']") == {"shouted": "SECOND"}
    assert kernel.value("float(result.timings()['duration_ms'].iloc[0]) >= 0")
    refused = kernel.ok("%orra run 'launch a rocket to the moon' rocketId=r1 --quiet").results
    assert "NOT_ACTIONABLE" in refused[-1]["text/html"]

    # %orra studio ID: the web studio's run view, inline (the same Panel code)
    shown = kernel.ok(f"view = %orra studio {ran['id']}\nview")
    assert any("application/vnd.holoviews_exec.v0+json" in r for r in shown.results), shown.results
    graph = kernel.value(
        "[p.object for p in view.select(__import__('panel').pane.HTML) "
        "if 'orra-plan' in str(p.object)][0]"
    )
    assert graph.count('data-status="COMPLETED"') == 1 and 'data-step="step1"' in graph
    kernel.ok("page = %orra studio")
    assert kernel.value("page.objects[-1].css_classes") == ["orra-executions"]

    # %%orra sql: numbers match the API's
    kernel.ok(
        "%%orra sql -o by_status\n"
        "SELECT status, count(*) AS n FROM orchestrations GROUP BY status ORDER BY status"
    )
    by_status = kernel.value("dict(zip(by_status['status'], by_status['n'].astype(int)))")
    listed = api.get("/orchestrations", params={"limit": 1000}).json()["orchestrations"]
    assert by_status == dict(Counter(o["status"] for o in listed))
    kernel.ok(
        "%%orra sql -o totals\n"
        "SELECT count(*) AS steps, sum(attempts) AS attempts FROM steps s "
        "JOIN orchestrations o USING (execution_id) WHERE o.status = 'COMPLETED'"
    )
    totals = kernel.value("{k: int(v) for k, v in totals.iloc[0].items()}")
    completed = [
        api.get(f"/orchestrations/{o['executionId']}").json()
        for o in listed
        if o["status"] == "COMPLETED"
    ]
    assert totals["steps"] == sum(len(b["stepResults"]) for b in completed)
    assert totals["attempts"] == sum(s["attempts"] for b in completed for s in b["stepResults"])
    kernel.ok("listed = %orra ps --limit 1000")
    assert kernel.value("len(listed)") == len(listed)
    api.close()


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        ("%orra frobnicate", "UsageError: unknown sub-command 'frobnicate'"),
        ("%orra sql", "'sql' is a cell sub-command: use %%orra sql"),
        ("%orra run 'shout: x' message", "UsageError: malformed data 'message'"),
        ("%orra run 'shout: x' n:=nope", "after ':=' comes JSON"),
        ("%orra ps --limit many", "UsageError: argument --limit: invalid int value: 'many'"),
        ("%orra run 'unbalanced", "No closing quotation (check the quotes)"),
        ("%%orra sql\nSELEC 1", "UsageError: SQL error: Parser Error"),
        ("%%orra sql\nSELECT * FROM nowhere", "UsageError: SQL error: Catalog Error"),
        ("%orra inspect o_nope", "no orchestration 'o_nope' in this project"),
        ("%%orra service bad\nx = 1", "define the handler in the cell"),
    ],
)
def test_bad_input_is_one_line_not_a_traceback(kernel: Kernel, cell: str, message: str) -> None:
    outcome = kernel.run(cell)
    assert outcome.status == "error"
    assert message in outcome.shown
    assert "Traceback" not in outcome.shown
    assert len([line for line in outcome.stderr.splitlines() if line.strip()]) == 1


def test_help_lists_every_sub_command(kernel: Kernel) -> None:
    page = kernel.ok("%orra?").payload[0]["data"]["text/plain"]
    for usage in ("%orra connect", "%orra plan", "%orra run", "%orra ps", "%orra inspect"):
        assert usage in page
    assert "%%orra sql" in page and "%%orra service NAME" in page


def test_connect_to_a_running_server(kernel: Kernel, live_server: ServerProcess) -> None:
    api, project = new_project(live_server.url)
    said = kernel.ok(f"%orra connect {live_server.url} --api-key {project['apiKey']}").stdout
    assert said.startswith(f"Connected to {live_server.url}")
    kernel.ok("listed = %orra ps\nservices = %orra services")
    assert kernel.value("len(listed)") == 0
    assert kernel.value("list(services.columns)")[:2] == ["name", "kind"]

    # a server but no key: the kernel adds a 'notebook' project to the config, then reuses it
    said = kernel.ok(f"%orra connect {live_server.url}").stdout
    assert said.strip().endswith("project notebook.")
    config = tomllib.loads((kernel.home / "config.toml").read_text())  # type: ignore[attr-defined]
    notebook = config["projects"]["notebook"]
    assert notebook["url"] == live_server.url
    kernel.ok(f"%orra connect {live_server.url}")
    again = tomllib.loads((kernel.home / "config.toml").read_text())  # type: ignore[attr-defined]
    assert again["projects"]["notebook"]["id"] == notebook["id"]

    kernel.ok("%config OrraMagics.timeout = 12.5")
    assert kernel.value("get_ipython().find_magic('orra').__self__.timeout") == 12.5


TERMINAL_SESSION = """
import os
from IPython.core.interactiveshell import InteractiveShell

ip = InteractiveShell.instance()
ip.run_line_magic("load_ext", "orra_studio")
ip.run_cell(MODELS)
ip.run_cell_magic("orra", "service text-shouter", SERVICE)
result = ip.run_line_magic("orra", "run 'shout: from a terminal' message=terminal")
print("RESULT", result.status, result.result)
ip.run_line_magic("orra", "disconnect")
"""


def test_terminal_ipython_prints_progress_lines(tmp_path: Path) -> None:
    """Without a frontend to draw widgets, ``%orra run`` prints a line per finished step."""
    script = (
        f"MODELS = {MODELS!r}\nSERVICE = {SERVICE_CELL.split(chr(10), 1)[1]!r}\n" + TERMINAL_SESSION
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORRA_")}
    env |= {"ORRA_CONFIG": str(tmp_path / "config.toml"), "IPYTHONDIR": str(tmp_path / "ipy")}
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env
    )
    assert out.returncode == 0, out.stderr
    assert "Started an embedded control plane" in out.stdout
    assert "step1 text-shouter: COMPLETED (attempt 1)" in out.stdout
    assert "RESULT COMPLETED {'shouted': 'TERMINAL'}" in out.stdout
    assert "VBox" not in out.stdout
