"""The studio's run view follows its run's event stream instead of polling: a real ``orra
studio`` process in headless Chromium, talking to a real control plane through a relay that
notes every request, so the test sees what the studio asks and which streams it holds open."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import panel as pn
import pytest
from browser import StudioProcess, browser_page
from relay import Relay

from helpers import SEED_REQUEST, Api, ServerProcess, new_project, seed_services, wait_until
from orra_studio.studio.context import StudioContext
from orra_studio.studio.executions import executions_page
from orra_studio.studio.live_feed import ListFeed

pytestmark = pytest.mark.slow

GATED = {**SEED_REQUEST, "options": {"approve": ["step4"]}}


@dataclass
class Watching:
    api: Api
    relay: Relay
    studio: StudioProcess
    page: Any

    def run_waiting(self) -> str:
        answer = self.api.post("/orchestrations", GATED)
        assert answer.status_code == 202, answer.text
        return answer.json()["executionId"]

    def open_run(self, execution_id: str) -> None:
        self.page.goto(f"{self.studio.url}run?id={execution_id}")
        self.page.wait_for_selector("text=step4 (ai-assistant-service) waits for your approval")

    def reads_of(self, execution_id: str) -> int:
        """How often the studio asked for the run itself (not its stream, log or plan)."""
        path = f"GET /orchestrations/{execution_id}"
        return sum(r == path or r.startswith(path + "?") for r in self.relay.requests())

    def streams_of(self, execution_id: str) -> int:
        return self.relay.open_requests(f"/orchestrations/{execution_id}/events")

    def health_checks(self) -> int:
        return self.relay.requests().count("GET /health")


@pytest.fixture(scope="module")
def watching(
    live_server: ServerProcess, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Watching]:
    api, _ = new_project(live_server.url)
    Api.opened.remove(api)  # lives for the module
    shots = tmp_path_factory.mktemp("studio-live")
    with (
        seed_services(api),
        Relay(live_server.port) as relay,
        browser_page(shots) as (page, watched),
    ):
        studio = StudioProcess(relay.url, api.key or "", shots / "studio.log").start()
        try:
            page.goto(studio.login_url)
            yield Watching(api, relay, studio, page)
            watched.check(page)
        finally:
            studio.stop()
    api.close()


def test_a_waiting_run_is_not_polled_and_its_approval_shows_up_from_the_stream(
    watching: Watching,
) -> None:
    execution_id = watching.run_waiting()
    watching.open_run(execution_id)
    wait_until(lambda: watching.streams_of(execution_id) == 1, 15, "the page to follow the run")
    # nothing happens to the run while the page's health check comes round twice (every 3 s):
    # a page that polled (twice a second) would have asked for the run meanwhile
    asked, checks = watching.reads_of(execution_id), watching.health_checks()
    wait_until(lambda: watching.health_checks() >= checks + 2, 15, "two health checks")
    assert watching.reads_of(execution_id) == asked

    approved = watching.api.post(f"/orchestrations/{execution_id}/steps/step4/approve")
    assert approved.status_code == 200, approved.text
    watching.page.wait_for_selector(".orra-run-status [data-status=COMPLETED]", timeout=15_000)
    # settled: the server ends the stream and the page lets go of it
    wait_until(lambda: watching.streams_of(execution_id) == 0, 15, "the stream to be closed")


def test_closing_the_page_ends_its_stream_whatever_the_number_of_sessions(
    watching: Watching,
) -> None:
    execution_id = watching.run_waiting()
    for _ in range(3):  # three sessions one after the other (a reload opens a new one)
        watching.open_run(execution_id)
    wait_until(lambda: watching.streams_of(execution_id) >= 1, 15, "the page to follow the run")
    # leave for a page that follows no stream (Executions follows the project's: a session
    # left lives on for seconds and would be counted by the next test)
    watching.page.goto(f"{watching.studio.url}services")
    wait_until(lambda: watching.streams_of(execution_id) == 0, 20, "every stream to be closed")
    assert watching.api.post(f"/orchestrations/{execution_id}/cancel").status_code in (200, 202)


def test_a_dropped_stream_is_resumed_and_the_page_still_goes_live(watching: Watching) -> None:
    execution_id = watching.run_waiting()
    watching.open_run(execution_id)
    wait_until(lambda: watching.streams_of(execution_id) == 1, 15, "the page to follow the run")
    watching.relay.cut()  # the network drops every connection the studio holds
    wait_until(lambda: watching.streams_of(execution_id) == 1, 15, "the stream to be resumed")
    approved = watching.api.post(f"/orchestrations/{execution_id}/steps/step4/approve")
    assert approved.status_code == 200, approved.text
    watching.page.wait_for_selector(".orra-run-status [data-status=COMPLETED]", timeout=15_000)


def test_the_executions_list_goes_live_from_the_projects_stream_without_polling(
    watching: Watching,
) -> None:
    """Issue 27: a new run appears on Executions, and its status changes there, with no
    reload and no polling; leaving the page closes the stream."""

    def listings() -> int:
        return sum(r.startswith("GET /orchestrations?") for r in watching.relay.requests())

    # a page left a moment ago keeps its stream until its session ends (seconds later), and
    # its reads would be counted as this page's: start when none is left (the login's)
    wait_until(lambda: watching.relay.open_requests("/activity/events") == 0, 20, "old pages")
    before = listings()
    watching.page.goto(f"{watching.studio.url}executions")
    wait_until(lambda: watching.relay.open_requests("/activity/events") == 1, 15, "the stream")
    # the first render's read, and one when the stream says it watches (nothing is missed)
    wait_until(lambda: listings() >= before + 2, 15, "the read once the stream watches")
    # quiet: two health checks come round and the list is not read again
    asked, checks = listings(), watching.health_checks()
    wait_until(lambda: watching.health_checks() >= checks + 2, 15, "two health checks")
    assert listings() == asked

    execution_id = watching.run_waiting()  # submitted elsewhere: the page is told
    row = watching.page.locator(".tabulator-row", has_text=execution_id)
    row.wait_for(timeout=15_000)  # it appears without a reload
    approved = watching.api.post(f"/orchestrations/{execution_id}/steps/step4/approve")
    assert approved.status_code == 200, approved.text
    row.locator("[data-status=COMPLETED]").wait_for(timeout=15_000)
    assert listings() > asked  # read again because something changed, not on a timer

    watching.page.goto(f"{watching.studio.url}services")
    wait_until(lambda: watching.relay.open_requests("/activity/events") == 0, 20, "the close")


# what Panel 1.9 says of itself and of pandas 3 in a plain process (the studio's log shows the
# same): it renames in 2.0 (pyproject caps panel < 2), its Tabulator uses a deprecated pandas call
@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning", "ignore::DeprecationWarning")
def test_a_read_for_old_filters_that_answers_late_is_not_drawn(live_server: ServerProcess) -> None:
    """CI saw it: the live list's read, made before a search was typed, answered after the
    search's own read and drew every run again. The page's own ``fetch`` and ``draw`` against
    a real control plane, in the order that race gave them."""
    api, project = new_project(live_server.url)
    ids = {}
    for kind in ("needle", "other"):
        answer = api.post("/orchestrations", {"action": {"type": kind, "content": f"{kind} run"}})
        ids[kind] = answer.json()["executionId"]
    reads: list[Any] = []

    class Kept(ListFeed):  # the real feed, which also hands the page's fetch and draw here
        def __init__(self, context: StudioContext, page: Any, wants: Any) -> None:
            super().__init__(context, page, wants)
            reads.append(page)

    context = StudioContext(live_server.url, project["apiKey"])
    with context.client() as client:
        page = executions_page(context, client, follow=Kept)
        (fetch, draw, _doc), table = reads[0], _the(page, pn.widgets.Tabulator)
        search = next(
            w for w in _all(page) if getattr(w, "placeholder", "") == "action, content or id"
        )
        assert set(table.value["id"]) == set(ids.values())
        late, _ = fetch()  # the live list's read, made before the search
        search.value = "needle"  # the search reads and draws at once
        assert list(table.value["id"]) == [ids["needle"]]
        draw(late)  # then the late read answers
        assert list(table.value["id"]) == [ids["needle"]], "a read for old filters was drawn"
        search.value = ""
        older, _ = fetch()  # two reads for the same filters, a run landing between them
        third = api.post("/orchestrations", {"action": {"type": "third", "content": "x"}})
        newer, _ = fetch()
        draw(newer)
        assert len(table.value) == 3
        draw(older)  # answering last does not make it the page
        assert third.json()["executionId"] in set(table.value["id"])
    api.close()


def _all(viewable: Any) -> Iterator[Any]:
    yield viewable
    for child in getattr(viewable, "objects", None) or ():
        yield from _all(child)


def _the(viewable: Any, kind: type) -> Any:
    (found,) = [v for v in _all(viewable) if isinstance(v, kind)]
    return found
