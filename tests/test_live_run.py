"""One model of a live run (``orra_studio.live``) folding a real stream from a real control
plane, with real services over websockets; a relay in between drops the stream midway."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from relay import Relay

from helpers import SEED_REQUEST, Api, ServerProcess, new_project, seed_services
from orra_studio import Client
from orra_studio.live import LiveRun, follow

pytestmark = pytest.mark.slow

GATED = {**SEED_REQUEST, "options": {"approve": ["step4"]}}


@pytest.fixture(scope="module")
def project(live_server: ServerProcess) -> Iterator[Api]:
    api, _ = new_project(live_server.url)
    Api.opened.remove(api)  # lives for the module
    with seed_services(api):
        yield api
    api.close()


def test_the_model_folds_a_real_stream_and_resumes_a_dropped_one_without_loss_or_repeat(
    project: Api, live_server: ServerProcess
) -> None:
    with Relay(live_server.port) as relay, Client(relay.url, project.key) as client:
        data = {d["field"]: d["value"] for d in GATED["data"]}
        accepted = client.submit(GATED["action"], data, options=GATED["options"])
        execution_id = accepted["executionId"]
        run = LiveRun.of(accepted)
        events = follow(client, run, timeout=30)
        seen = []
        for event in events:
            seen.append(event)
            if run.status == "AWAITING_APPROVAL":
                break
        assert [s.id for s in run.waiting] == ["step4"]
        (listed,) = [a for a in client.approvals() if a["executionId"] == execution_id]
        assert run.steps["step4"].waiting_input == listed["input"] is not None
        # the network drops the stream; meanwhile the run goes on without this client
        assert relay.cut() >= 1
        approved = project.post(f"/orchestrations/{execution_id}/steps/step4/approve")
        assert approved.status_code == 200, approved.text
        seen += list(events)  # resumed after the last event it had folded

        stream = f"GET /orchestrations/{execution_id}/events"
        assert relay.requests().count(stream) == 2, relay.requests()
        every = list(client.events(execution_id))  # the whole stream, read again at once
        assert [e["seq"] for e in seen] == list(range(1, len(every) + 1))
        assert [(e["seq"], e["type"]) for e in seen] == [(e["seq"], e["type"]) for e in every]
        # a stream resumed after an event starts right after it (Last-Event-ID)
        resumed = next(iter(client.events(execution_id, after=len(every) - 2)))
        assert resumed["seq"] == len(every) - 1

        body = client.orchestration(execution_id)
        assert run.status == body["status"] == "COMPLETED" and run.ended
        folded = {s.id: str(s.status) for s in run.steps.values()}
        assert folded == {s["id"]: str(s["status"]) for s in body["stepResults"]}
        assert run.waiting == [] and run.done == len(body["stepResults"])
        assert all(s.attempts == 1 for s in run.steps.values())
        assert run.seq == len(every)
        # an event delivered twice is folded once
        assert run.apply(seen[-1]) is False and run.seq == len(every)
