"""The web studio in a real headless Chromium: a real ``orra studio`` process, a real control
plane, real services over websockets. Screenshots of each page go to a folder printed at the
end of the module (``pytest -s`` shows it)."""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from browser import StudioProcess, Watched, browser_page

from helpers import (
    SEED_REQUEST,
    Api,
    ServerProcess,
    new_project,
    one_step,
    saga_request,
    seed_services,
    serving,
    wait_until,
)

pytestmark = pytest.mark.slow

MARKUP = "<b>bold</b> & <i>not</i>"


@dataclass
class Studio:
    api: Api
    url: str
    page: Any
    watched: Watched
    shots: Path
    process: StudioProcess

    def open(self, route: str) -> Any:
        self.page.goto(self.url + route)
        self.page.wait_for_selector(".orra-nav")
        return self.page

    def tab(self, name: str) -> Any:
        """Open one of the run page's tabs (Summary, Graph, Timeline, Steps, Events)."""
        self.page.locator(".bk-tab", has_text=name).click()
        return self.page

    def shot(self, name: str) -> None:
        """A screenshot of the page; with ``ORRA_STUDIO_SHOTS=docs/images`` the tests redraw
        the documentation's pictures (``studio-NAME.png``)."""
        self.page.screenshot(path=str(self.shots / f"studio-{name}.png"), full_page=True)

    def run(self, body: dict[str, Any]) -> str:
        answer = self.api.post("/orchestrations", body)
        assert answer.status_code == 202, answer.text
        return answer.json()["executionId"]


#: quick retries and few compensation attempts, so a compensation fails for good in seconds
FAST = {"ORRA_RETRY_DELAY": "0.05", "ORRA_RETRY_MAX_DELAY": "0.2"}
FAST |= {"ORRA_COMPENSATION_ATTEMPTS": "3", "ORRA_COMPENSATION_TIMEOUT": "5"}


@pytest.fixture(scope="module")
def studio(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Studio]:
    server = ServerProcess(tmp_path_factory.mktemp("studio-db") / "orra.duckdb", env=FAST).start()
    api, _ = new_project(server.url)
    Api.opened.remove(api)  # lives for the module
    shots = tmp_path_factory.mktemp("studio-screenshots")
    pictures = Path(os.environ.get("ORRA_STUDIO_SHOTS") or shots)
    faulty = {"FAIL_TIMES": "2", "WORK_DELAY": "30", "REVERT_LOG": str(shots / "reverts.log")}
    with contextlib.ExitStack() as stack:
        stack.enter_context(seed_services(api))
        stack.enter_context(
            serving(
                api,
                "faulty_services.py",
                "flaky,worker,saga",
                online={"flaky-echo", "slow-worker", "reserve-stock", "charge-card", "ship-order"},
                env=faulty,
            )
        )
        stack.callback(server.stop)
        # its own working directory: a query must leave nothing in it (no DuckDB .tmp/)
        cwd = tmp_path_factory.mktemp("studio-cwd")
        process = StudioProcess(server.url, api.key or "", shots / "studio.log", cwd=cwd).start()
        stack.callback(process.stop)
        page, watched = stack.enter_context(browser_page(shots))
        page.goto(process.login_url)  # as a person opens the URL `orra studio` printed
        yield Studio(api, process.url, page, watched, pictures, process)
        watched.check(page)
    print(f"\nstudio screenshots: {pictures}")
    api.close()


def test_every_page_loads_offline_without_errors(studio: Studio):
    for route in ("executions", "services", "run"):
        page = studio.open(route)
        page.wait_for_selector(".orra-nav")
        studio.watched.check(page)
    studio.open("run").wait_for_selector("text=No orchestration chosen")
    studio.open("run?id=o_doesnotexist")
    studio.page.wait_for_selector("text=No orchestration 'o_doesnotexist'")
    studio.watched.check(studio.page)


def test_the_run_view_goes_live_to_completed_with_four_green_nodes_and_four_bars(
    studio: Studio,
):
    body = {**SEED_REQUEST, "action": {"type": "customer-inquiry", "content": MARKUP}}
    execution_id = studio.run(body)
    page = studio.open(f"run?id={execution_id}")
    page.wait_for_selector(".orra-run-status [data-status=COMPLETED]")
    # the Summary says how it went, and offers only what a finished run allows
    page.wait_for_selector(".orra-summary >> text=4 of 4 completed")
    assert page.locator(".orra-cancel-row").is_hidden()
    assert page.locator(".orra-rerun-row").is_visible()
    studio.shot("run-view")
    studio.tab("Graph")
    completed = page.locator("g.orra-node[data-status=COMPLETED]")
    completed.first.wait_for()
    wait_until(lambda: completed.count() == 4, 10, "four green nodes")
    assert page.locator("line.orra-edge").count() == 3
    studio.shot("run-view-graph")
    studio.tab("Timeline")
    page.locator("rect.orra-attempt[data-outcome=COMPLETED]").first.wait_for()
    assert page.locator("rect.orra-attempt[data-outcome=COMPLETED]").count() == 4
    assert page.locator("line.orra-tick").count() >= 2  # a time axis with its marks
    studio.shot("run-view-timeline")
    studio.tab("Steps")
    page.locator(".orra-steps .tabulator-row", has_text="step2").click()
    page.wait_for_selector(".orra-step-drawer >> text=product-catalog-service")
    page.wait_for_selector(".orra-step-drawer >> text=relevantProducts")  # its output
    studio.shot("run-view-steps")
    studio.tab("Events")
    page.wait_for_selector("text=orchestration_completed")
    studio.shot("run-view-events")
    # the action's text is shown as it is, never as markup
    assert page.get_by_text(f"customer-inquiry: {MARKUP}").count() == 1
    studio.watched.check(page)


def test_a_step_that_fails_twice_shows_each_attempt_as_its_own_bar(studio: Studio):
    execution_id = studio.run(one_step("flaky-echo", "text", "retry me", initialDelaySeconds=0.05))
    page = studio.open(f"run?id={execution_id}")
    page.wait_for_selector(".orra-run-status [data-status=COMPLETED]")
    studio.tab("Timeline")
    bars = page.locator("rect.orra-attempt[data-step=step1]")
    wait_until(lambda: bars.count() == 3, 10, "three attempts of step1")
    outcomes = [bars.nth(i).get_attribute("data-outcome") for i in range(3)]
    assert outcomes == ["RETRYING", "RETRYING", "COMPLETED"]
    studio.shot("run-view-retries")


def test_cancel_a_running_orchestration_from_the_run_view(studio: Studio):
    execution_id = studio.run(one_step("slow-worker", "job", "long"))
    page = studio.open(f"run?id={execution_id}")
    page.wait_for_selector(".orra-run-status [data-status=RUNNING]")
    page.get_by_placeholder("why (recorded with the cancellation)").fill("wrong <job>")
    page.get_by_role("button", name="Cancel").click()
    page.wait_for_selector(".orra-run-status [data-status=CANCELLED]")
    body = studio.api.get(f"/orchestrations/{execution_id}").json()
    assert body["status"] == "CANCELLED"
    assert body["error"] == "cancelled by the caller: wrong <job>"
    # a cancelled run offers no Cancel any more, but a re-run; the Summary says why it ended
    page.locator(".orra-cancel-row").wait_for(state="hidden")
    assert page.locator(".orra-rerun-row").is_visible()
    page.wait_for_selector(".orra-summary >> text=cancelled by the caller: wrong <job>")
    studio.shot("run-view-cancelled")


def test_executions_are_paged_by_the_server_and_filtered_by_status(studio: Studio):
    cancelled = studio.run(one_step("slow-worker", "job", "to cancel"))
    studio.api.post(f"/orchestrations/{cancelled}/cancel", {"reason": "filter test"})
    page = studio.open("executions")
    page.wait_for_selector(f"text={cancelled}")
    page.locator(".orra-activity canvas").first.wait_for()  # the last hour, by status
    page.locator("select").select_option("CANCELLED")
    rows = page.locator(".tabulator-row")

    def only_cancelled() -> bool:
        texts = rows.all_inner_texts()  # one read: the table may re-render meanwhile
        return bool(texts) and all("CANCELLED" in text for text in texts)

    wait_until(only_cancelled, 10, "only cancelled rows")
    studio.shot("executions")
    page.get_by_role("link", name=cancelled).click()
    page.wait_for_selector(".orra-run-status [data-status=CANCELLED]")
    assert f"id={cancelled}" in page.url


def test_register_a_service_from_the_form_and_see_it_listed_offline(studio: Studio):
    page = studio.open("services")
    page.wait_for_selector(".tabulator-row")
    name = page.get_by_placeholder("refund-service")
    name.fill("Bad Name")
    page.wait_for_selector("text=✗ lowercase letters")
    name.fill("refund-service")
    page.get_by_placeholder("What it does, in a sentence or two").fill(
        "Refunds an order <script>alert(1)</script>"
    )
    page.get_by_role("button", name="Register").click()
    page.wait_for_selector("text=Registered refund-service (version 1)")
    page.wait_for_selector("text=run_forever(service)")
    # the code runs as pasted: this control plane's URL, the key the one placeholder
    page.wait_for_selector(f"text=url='{studio.api.url}'")
    page.wait_for_selector('text=api_key="sk-orra-v1-...",  # your project\'s key')
    row = page.locator(".tabulator-row", has_text="refund-service")
    row.wait_for()
    # shown as text, never run (the list refreshes every 2 s: read until a whole row is drawn)
    wait_until(
        lambda: (
            "offline" in row.inner_text()
            and "<script>alert(1)</script>" in row.inner_text()
            and "not since the control plane started" in row.inner_text()
        ),
        10,
        "the new service's row with its description",
    )
    # the server's own refusal is shown beside the form, not a traceback
    page.get_by_placeholder("What it does, in a sentence or two").fill("x" * 501)
    page.get_by_role("button", name="Register").click()
    studio.shot("services-refusal")
    page.wait_for_selector("text=/description is 501 characters; keep it to at most 500/")
    seed_row = page.locator(".tabulator-row", has_text="customer-data-service")
    wait_until(lambda: " s ago" in seed_row.inner_text(), 10, "an online service seen seconds ago")
    studio.shot("services")


def _edit_cell(page: Any, row: int, field: str, text: str) -> None:
    cell = page.locator(f".orra-steps-editor .tabulator-row >> nth={row}").locator(
        f".tabulator-cell[tabulator-field={field}]"
    )
    cell.click()
    editor = cell.locator("input")
    editor.fill(text)
    editor.press("Enter")


def test_compose_preview_edit_validate_fix_and_run(studio: Studio):
    page = studio.open("compose")
    page.get_by_role("button", name="Preview").click()
    nodes = page.locator("g.orra-node")
    nodes.first.wait_for()
    wait_until(lambda: nodes.count() == 4, 10, "the 3+1 plan")
    assert page.locator("line.orra-edge").count() == 3
    fills = {nodes.nth(i).locator("rect").get_attribute("fill") for i in range(4)}
    assert len(fills) == 4  # four components, four colours
    # a reference to data nobody sent: the server's validator names the step and field
    _edit_cell(page, 0, "input", '{"customerId": "{{request.data.nope}}"}')
    page.wait_for_selector("g.orra-node[data-step=step1][data-status=INVALID]")
    problems = page.locator(".orra-problems .tabulator-row")
    problems.first.wait_for()
    assert "step1" in problems.first.inner_text()
    assert page.get_by_role("button", name="Run").is_disabled()
    studio.shot("compose-invalid")
    _edit_cell(page, 0, "input", '{"customerId": "{{request.data.customerId}}"}')
    page.wait_for_selector("text=The server accepts this plan.")
    page.get_by_role("button", name="Run").click()
    page.wait_for_url("**/run?id=*")
    page.wait_for_selector(".orra-run-status [data-status=COMPLETED]")
    wait_until(
        lambda: page.locator("g.orra-node[data-status=COMPLETED]").count() == 4, 10, "4 green"
    )
    studio.shot("compose-ran")


def test_edit_and_re_run_a_past_run(studio: Studio):
    first = studio.run(SEED_REQUEST)
    page = studio.open(f"run?id={first}")
    page.wait_for_selector(".orra-run-status [data-status=COMPLETED]")
    page.get_by_role("link", name="Edit and re-run").click()
    page.wait_for_url(f"**/compose?from={first}")
    nodes = page.locator("g.orra-node")
    nodes.first.wait_for()
    wait_until(lambda: nodes.count() == 4, 10, "the past run's plan")
    page.wait_for_selector("text=The server accepts this plan.")
    page.get_by_role("button", name="Run").click()
    page.wait_for_url("**/run?id=*")
    second = page.url.split("id=")[1]
    assert second != first
    page.wait_for_selector(".orra-run-status [data-status=COMPLETED]")
    # and the one-click re-run with the same input
    page.get_by_role("button", name="Re-run with the same input").click()
    page.wait_for_function(f"() => !location.href.includes('{second}')")
    third = page.url.split("id=")[1]
    page.wait_for_selector(".orra-run-status [data-status=COMPLETED]")
    rerun = studio.api.get(f"/orchestrations/{third}").json()
    assert rerun["status"] == "COMPLETED" and rerun["data"] == SEED_REQUEST["data"]


def test_filter_executions_by_text_and_type_and_bulk_cancel_two(studio: Studio):
    ids = []
    for n in (1, 2):
        body = one_step("slow-worker", "job", f"bulk {n}")
        body["action"] = {"type": "bulk-job", "content": f"Bulk JOB number {n}"}
        ids.append(studio.run(body))
    page = studio.open("executions")
    search = page.get_by_placeholder("action, content or id")
    search.fill("bulk job")
    search.press("Enter")
    rows = page.locator(".tabulator-row")

    def listed() -> list[str]:
        return sorted(re.findall(r"o_[a-z0-9]{20}", " ".join(rows.all_inner_texts())))

    wait_until(lambda: listed() == sorted(ids), 10, "the two bulk jobs by text")
    search.fill(ids[0][2:12].upper())  # part of an id, in any case
    search.press("Enter")
    wait_until(lambda: listed() == [ids[0]], 10, "one run by its id")
    search.fill("BULK-JOB")  # the action type
    search.press("Enter")
    wait_until(lambda: listed() == sorted(ids), 10, "the two bulk jobs by type")
    page.get_by_placeholder("any", exact=True).fill("no-such-type")
    page.get_by_placeholder("any", exact=True).press("Enter")
    wait_until(lambda: rows.count() == 0, 10, "no rows of another type")
    page.get_by_placeholder("any", exact=True).fill("bulk-job")
    page.get_by_placeholder("any", exact=True).press("Enter")
    wait_until(lambda: rows.count() == 2, 10, "the two bulk jobs")
    for i in range(2):
        rows.nth(i).locator("input[type=checkbox]").click()
    page.get_by_role("button", name="Cancel selected").click()
    page.wait_for_selector("text=Cancelled 2 of 2.")
    for execution_id in ids:
        assert studio.api.get(f"/orchestrations/{execution_id}").json()["status"] == "CANCELLED"
    studio.shot("executions-bulk-cancel")


def test_a_header_click_sorts_every_orchestration_on_the_server(studio: Studio):
    for _ in range(26):  # more than one page, so a sort of the page alone would show
        refused = studio.api.post(
            "/orchestrations", {"action": {"type": "zz-none", "content": "x"}}
        )
        assert refused.json()["status"] == "NOT_ACTIONABLE", refused.text
    oldest = studio.api.get("/orchestrations", params={"sort": "createdAt", "limit": 1})
    page = studio.open("executions")
    page.wait_for_selector("text=newest first")
    page.locator(".tabulator-col[tabulator-field=created] .tabulator-col-title").click()
    page.wait_for_selector("text=oldest first")
    first = page.locator(".tabulator-row").first
    expected = oldest.json()["orchestrations"][0]["executionId"]
    wait_until(lambda: first.inner_text().startswith(expected), 10, "the oldest of all")
    page.locator(".tabulator-col[tabulator-field=action] .tabulator-col-title").click()
    page.wait_for_selector("text=by action type (A→Z)")
    page.locator(".tabulator-col[tabulator-field=action] .tabulator-col-title").click()
    page.wait_for_selector("text=by action type (Z→A)")
    wait_until(lambda: "zz-none" in first.inner_text(), 10, "the last type first")
    studio.shot("executions-sorted")


def test_compose_plans_with_the_grounding_picked(studio: Studio):
    spec = {
        "name": "inquiry-playbook",
        "domain": "sales",
        "version": "1.0",
        "useCases": [
            {
                "action": "Tell me about {product}",
                "params": {"product": "the widget"},
                "capabilities": ["Answer a customer"],
                "intent": "A customer asks about a product",
            }
        ],
    }
    applied = studio.api.post("/groundings", spec)
    assert applied.status_code in (200, 201), applied.text
    page = studio.open("compose")
    picker = page.locator(".orra-grounding select")
    picker.select_option(label="no grounding")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_selector("text=No grounding spec used.")
    picker.select_option(label="spec: inquiry-playbook")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_selector("text=Grounded by spec 'inquiry-playbook'")
    studio.shot("compose-grounding")


def test_approve_and_reject_a_waiting_step_in_the_run_view(studio: Studio):
    gated = {**SEED_REQUEST, "options": {"approve": ["step4"]}}
    execution_id = studio.run(gated)
    page = studio.open(f"run?id={execution_id}")
    page.wait_for_selector(".orra-run-status [data-status=AWAITING_APPROVAL]")
    card = page.locator(".orra-approval")
    page.wait_for_selector("text=step4 (ai-assistant-service) waits for your approval")
    # the Summary names the step that waits; the Cancel row is there, the re-run row is not
    page.wait_for_selector(".orra-summary >> text=step4 (ai-assistant-service) waits for a person")
    assert page.locator(".orra-rerun-row").is_hidden()
    studio.shot("run-view-approval")
    card.get_by_role("button", name="Approve").click()
    page.wait_for_selector(".orra-run-status [data-status=COMPLETED]")
    studio.tab("Timeline")  # the wait for a person shows beside the attempts
    page.locator("rect.orra-wait[data-kind=approval][data-step=step4]").wait_for()
    decided = studio.api.get(f"/orchestrations/{execution_id}/logs").json()["logs"]
    assert any(e["event"] == "step_approved" for e in decided)

    options = {"approve": ["step4"], "replan": "off", "approvalTimeoutSeconds": 600}
    rejected = studio.run({**gated, "options": options})
    page = studio.open(f"run?id={rejected}")
    card = page.locator(".orra-approval")
    page.wait_for_selector("text=step4 (ai-assistant-service) waits for your approval")
    (listed,) = [
        a for a in studio.api.get("/approvals").json()["approvals"] if a["executionId"] == rejected
    ]
    card.get_by_text(
        f"rejected without a decision at {listed['expiresAt']}", exact=False
    ).wait_for()
    card.get_by_role("button", name="Reject").click()
    page.wait_for_selector("text=Say why first: the reason is recorded.")
    card.get_by_placeholder("why (to reject)").fill("<b>not</b> now")
    card.get_by_role("button", name="Reject").click()
    page.wait_for_selector(".orra-run-status [data-status=FAILED]")
    page.wait_for_selector("text=/rejected by studio.*: <b>not<\\/b> now/")


def test_compose_marks_a_step_to_wait_for_approval(studio: Studio):
    page = studio.open("compose")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_selector("text=The server accepts this plan.")
    approvals = page.locator(".orra-steps-editor .tabulator-cell[tabulator-field=approval]")
    assert approvals.count() == 4
    assert approvals.locator("svg").count() == 0  # "no approval" is blank, not a red cross
    cell = page.locator(".orra-steps-editor .tabulator-row >> nth=3").locator(
        ".tabulator-cell[tabulator-field=approval]"
    )
    cell.click()  # opens the cell's checkbox, focused: tick it, step4 waits for a person
    cell.locator("input[type=checkbox]").wait_for()
    page.keyboard.press("Space")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=The server accepts this plan.")
    page.get_by_role("button", name="Run").click()
    page.wait_for_url("**/run?id=*")
    run_id = page.url.split("id=")[1]
    plan = studio.api.get(f"/orchestrations/{run_id}/plan").json()["plan"]
    assert plan["steps"][3]["requiresApproval"] is True
    page.wait_for_selector(".orra-run-status [data-status=AWAITING_APPROVAL]")
    page.wait_for_selector("text=step4 (ai-assistant-service) waits for your approval")
    page.locator(".orra-approval").get_by_role("button", name="Approve").click()
    page.wait_for_selector(".orra-run-status [data-status=COMPLETED]")


def test_rerun_from_a_step_links_the_new_run_to_the_old(studio: Studio):
    first = studio.run(SEED_REQUEST)
    page = studio.open(f"run?id={first}")
    page.wait_for_selector(".orra-run-status [data-status=COMPLETED]")
    page.locator(".orra-from-step select").select_option("step4")
    page.get_by_role("button", name="Re-run from this step").click()
    page.wait_for_function(f"() => !location.href.includes('{first}')")
    page.wait_for_selector(".orra-run-status [data-status=COMPLETED]")
    page.wait_for_selector(f".orra-parent >> text={first}")
    second = page.url.split("id=")[1]
    logs = studio.api.get(f"/orchestrations/{second}/logs").json()["logs"]
    assert [e["stepId"] for e in logs if e["event"] == "step_reused"] == [
        "step1",
        "step2",
        "step3",
    ]
    studio.shot("run-view-rerun")


def test_sql_over_the_history_with_a_chart_an_error_and_no_file_access(studio: Studio):
    studio.run(SEED_REQUEST)
    page = studio.open("analytics")
    page.wait_for_selector("text=/\\d+ row\\(s\\); fetched/")
    page.locator(".orra-chart-pane canvas").first.wait_for()  # runs per minute, by status
    page.wait_for_selector("text=/keeps at most 10,000 rows \\(16 MiB\\)/")  # the cap, said
    studio.shot("analytics-runs-per-minute")
    editor = page.locator(".orra-sql textarea")
    editor.fill("SELECT component, count(*) AS steps FROM steps GROUP BY component ORDER BY 1")
    page.get_by_role("button", name="Run query").click()
    page.locator(".orra-results .tabulator-row", has_text="ai-assistant-service").wait_for()
    page.locator(".orra-chart-pane canvas").first.wait_for()
    studio.shot("analytics")
    editor.fill("SELECT nonsense FROM steps")
    page.get_by_role("button", name="Run query").click()
    page.wait_for_selector("text=/Binder Error/")
    # a query typed into a web page reads the history and nothing else on the machine
    editor.fill("SELECT * FROM read_csv('/etc/passwd')")
    page.get_by_role("button", name="Run query").click()
    page.wait_for_selector("text=/Permission Error/")


def peak_rss_mib(pid: int) -> float:
    """The most resident memory the process has had (VmHWM), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


#: the studio's peak resident memory after a query of ~1 GB of results (4 GB before the cap)
RSS_BOUND_MIB = 900


def test_a_huge_result_is_cut_before_it_fills_memory_and_nothing_spills_to_disk(studio: Studio):
    page = studio.open("analytics")
    page.wait_for_selector("text=/\\d+ row\\(s\\); fetched/")
    editor = page.locator(".orra-sql textarea")
    run = page.get_by_role("button", name="Run query")
    editor.fill("SELECT i FROM range(25000) t(i)")
    run.click()
    page.wait_for_selector("text=/Result cut at 10,000 rows: only the first 10,000 row/")
    before = peak_rss_mib(studio.process.proc.pid)
    editor.fill("SELECT i, repeat('x', 100000) AS s FROM range(10000) t(i)")  # 1 GB of text
    run.click()
    page.wait_for_selector("text=/Result cut at 16 MiB: only the first \\d+ row/", timeout=30_000)
    peak = peak_rss_mib(studio.process.proc.pid)
    print(f"\nstudio peak RSS {before:.0f} MiB before, {peak:.0f} MiB after a 1 GB result")
    assert peak < RSS_BOUND_MIB, peak
    # a sort larger than the memory cap fails; it does not spill into the working directory
    editor.fill(
        "SELECT count(*) FROM (SELECT repeat('x', 100) || i AS s FROM range(20000000) t(i) "
        "ORDER BY s DESC)"
    )
    run.click()
    page.wait_for_selector("text=/Out of Memory Error/", timeout=30_000)
    assert page.locator(".orra-cut").is_hidden()
    assert list(Path(studio.process.cwd).iterdir()) == []


@contextlib.contextmanager
def another_page(studio: Studio) -> Iterator[tuple[Any, Watched]]:
    """A second, watched page in the module's browser (one Playwright per thread)."""
    page = studio.page.context.browser.new_page(viewport={"width": 1400, "height": 1000})
    page.set_default_timeout(20_000)
    watched = Watched()
    watched.attach(page)
    try:
        yield page, watched
    finally:
        page.close()


def test_a_refused_key_asks_for_another(studio: Studio, live_server: ServerProcess, tmp_path: Path):
    api, project = new_project(live_server.url)
    wrong = "sk-orra-v1-" + "0" * 64
    other = StudioProcess(live_server.url, wrong, tmp_path / "studio.log").start()
    try:
        with another_page(studio) as (page, watched):
            page.goto(other.login_url)
            page.goto(other.url + "services")
            page.wait_for_selector("text=/Key refused/")
            assert page.locator("text=sk-orra-v1-" + "0" * 20).count() == 0  # masked
            page.get_by_placeholder("sk-orra-v1-…").fill(project["apiKey"])
            page.get_by_role("button", name="Use this key").click()
            page.wait_for_selector("text=Register a service or agent")
            watched.check(page)
    finally:
        other.stop()


def test_a_control_plane_that_goes_away_shows_a_banner_and_comes_back(
    studio: Studio, tmp_path: Path
):
    server = ServerProcess(tmp_path / "orra.duckdb").start()
    api, project = new_project(server.url)
    other = StudioProcess(server.url, project["apiKey"], tmp_path / "studio.log").start()
    try:
        with another_page(studio) as (page, _watched):
            page.goto(other.login_url)
            page.goto(other.url + "executions")
            page.wait_for_selector(".orra-nav")
            server.stop()
            page.wait_for_selector("text=/is not answering; retrying/")
            server.start()  # the same port and file
            page.wait_for_selector("text=/is not answering/", state="hidden")
    finally:
        other.stop()
        server.stop()


def test_the_run_view_shows_compensations_and_settles_one_that_failed(studio: Studio):
    # shipping fails, so the reservation and the charge are undone; the card network refuses
    # to refund "stuck" orders, so that compensation needs a person
    execution_id = studio.run(saga_request("stuck-studio", "fail", maxAttempts=1))
    page = studio.open(f"run?id={execution_id}")
    page.wait_for_selector(".orra-run-status [data-status=FAILED]")
    card = page.locator(".orra-failure")
    card.wait_for(timeout=30_000)  # three refund attempts with backoff first
    card.get_by_text("the card network refuses refunds", exact=False).wait_for()
    rows = page.locator(".orra-compensations .tabulator-row")
    wait_until(lambda: len(rows.all_inner_texts()) == 2, 10, "two compensations")
    card.get_by_placeholder("what was done, for the record").fill("refunded by hand <ticket 7>")
    card.get_by_role("button", name="Resolve").click()
    page.wait_for_selector("text=/step2: resolved \\(refunded by hand <ticket 7>\\)/")
    failures = studio.api.get(
        "/compensation-failures", params={"orchestrationId": execution_id}
    ).json()["compensationFailures"]
    assert [(f["status"], f["resolution"]) for f in failures] == [
        ("resolved", "refunded by hand <ticket 7>")
    ]
    studio.shot("run-view-compensation")


@pytest.mark.parametrize("width", [1280, 1920])
def test_no_page_scrolls_sideways_at_1280_or_1920_pixels(studio: Studio, width: int):
    """The page and its main area fit the window; a wide table may scroll inside itself."""
    execution_id = studio.run(SEED_REQUEST)
    studio.page.set_viewport_size({"width": width, "height": 900})
    overflowing = {}
    try:
        ready = {
            "executions": ".orra-executions .tabulator-row",
            f"run?id={execution_id}": ".orra-run-status [data-status=COMPLETED]",
            "compose": "text=Preview",
            "services": ".orra-services .tabulator-row",
            "analytics": ".orra-sql textarea",
        }
        for route, drawn in ready.items():
            page = studio.open(route)
            page.wait_for_selector(drawn)  # its content is laid out
            if route == "services":  # with a service's schema open beside the form
                page.locator(".orra-services .tabulator-row").first.click()
                page.wait_for_selector("text=Select a service to see its schema.", state="detached")
            studio.shot(f"{route.split('?')[0]}-{width}")
            wide = page.evaluate(
                """() => {
                    const page = document.scrollingElement;
                    const main = document.querySelector('#main');
                    return {page: page.scrollWidth - page.clientWidth,
                            main: main.scrollWidth - main.clientWidth};
                }"""
            )
            if wide["page"] > 1 or wide["main"] > 1:
                overflowing[route] = wide
    finally:
        studio.page.set_viewport_size({"width": 1400, "height": 1000})
    assert overflowing == {}


def test_compose_edits_the_data_as_json_checked_as_it_is_typed(studio: Studio):
    page = studio.open("compose")
    page.locator(".bk-btn", has_text="JSON").click()
    editor = page.locator(".orra-data-json textarea")
    editor.wait_for()
    assert '"customerId": "cust12345"' in editor.input_value()  # the table's fields, carried
    editor.fill('{"customerId": "cust12345", "sellerId": }')
    page.wait_for_selector("text=/Not valid yet: line 1, column \\d+: Expecting value/")
    page.locator(".bk-btn", has_text="fields").click()  # refused: it would lose the JSON
    assert editor.is_visible()
    page.get_by_role("button", name="Preview").click()
    page.wait_for_selector("text=/The data is not valid JSON: line 1/")
    editor.fill('{"customerId": "cust12345", "sellerId": "sell98765", "tags": ["vip", 2]}')
    page.wait_for_selector("text=✓ a JSON object: its fields are the action's data")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_selector("text=The server accepts this plan.")
    page.locator(".bk-btn", has_text="fields").click()  # back to the table, with the list
    page.wait_for_selector('.orra-data >> text=["vip", 2]')
    studio.shot("compose-json")


def test_compose_shows_the_fields_the_plan_reads_and_asks_for_a_missing_one(studio: Studio):
    """The data form follows the previewed plan: each field it reads, with its type and the
    service that wants it; one the data lacks is added, named, and not sent empty."""
    page = studio.open("compose")
    page.get_by_role("button", name="Preview").click()
    page.wait_for_selector("text=The server accepts this plan.")
    page.wait_for_selector(".orra-data >> text=string, for customer-data-service")
    page.wait_for_selector(".orra-data >> text=string, for seller-data-service")
    # the edited plan reads a field the data does not have: the form adds it and says so
    _edit_cell(page, 0, "input", '{"customerId": "{{request.data.accountRef}}"}')
    page.wait_for_selector("text=The plan reads accountRef from the data: fill it in, then run.")
    row = page.locator(".orra-data .tabulator-row", has_text="accountRef")
    assert "string, for customer-data-service" in row.inner_text()
    studio.shot("compose-form")
