"""A service busy for 90 s in one handler stays connected and online, and its step is neither
timed out nor re-sent: busy is not dead (protocol.md).

The scenario (busy_scenario.py) starts with the session and is watched from a thread while
other tests run; this test runs last and checks every look."""

from __future__ import annotations

import pytest

from busy_scenario import BUSY_SECONDS, BusyScenario


@pytest.mark.slow
@pytest.mark.soak("busy_services")
def test_services_busy_for_90_seconds_are_not_disconnected_or_marked_offline(
    busy_services: BusyScenario,
):
    busy_services.watched(timeout=BUSY_SECONDS + 60)
    api = busy_services.api
    assert api is not None
    expected = {
        name: [{**c, "tasksInFlight": 1} for c in conns]
        for name, conns in busy_services.before.items()
    }
    assert len(busy_services.looks) > 30
    for look in busy_services.looks:
        # the same socket, still online, still holding its one task, the step still running
        assert look.connections == expected, look
        assert look.statuses == ["RUNNING", "RUNNING"], look
    for execution_id in busy_services.execution_ids:
        body = api.wait_finished(execution_id, timeout=60)
        assert body["status"] == "COMPLETED", body
        assert body["stepResults"][0]["attempts"] == 1
        logs = api.get(f"/orchestrations/{execution_id}/logs").json()["logs"]
        assert not [e for e in logs if e["event"] == "step_retrying"]
    assert busy_services.connections() == busy_services.before  # never reconnected
    legacy_output = busy_services.services[0].output()
    assert "Traceback" not in legacy_output, legacy_output[-3000:]
