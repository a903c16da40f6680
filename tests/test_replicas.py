"""Several replicas on one PostgreSQL database, as real processes (docs/scale-out.md).

The services connect to one replica and the orchestrations are posted to another, so every
task crosses replicas: out through the relay, back through the owner's inbox.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import httpx

from helpers import SERVICES, Api, ServerProcess, ServiceProcess, new_project, orra_cli, wait_until
from replica_scenario import (
    each_step_completed_once,
    rows,
    shout_and_count,
    start_replicas,
)

REQUEST = shout_and_count("across the replicas")


def _read_changes(url: str, key: str, into: list[str]) -> None:
    """``GET /activity/events`` on ``url``: "(open)" once it watches (its first event says
    "everything"), then every id named; "(dropped)" when the replica stops (a stop closes
    the streams still open, and clients resume)."""
    headers = {"Authorization": f"Bearer {key}"}
    timeout = httpx.Timeout(10.0, read=60.0)
    try:
        with httpx.stream("GET", url + "/activity/events", headers=headers, timeout=timeout) as sse:
            for line in sse.iter_lines():
                if line.startswith("data:"):
                    body = json.loads(line[5:])
                    into.extend(["(open)"] if body["everything"] else body["executionIds"])
    except httpx.TransportError:
        into.append("(dropped)")


def test_a_run_owned_by_one_replica_uses_services_held_by_another(database: str, tmp_path: Path):
    owner, holder = start_replicas(tmp_path, database, "ab")
    api, project = new_project(owner.url)
    at_holder = Api(holder.url, project["apiKey"])
    services = ServiceProcess(
        [str(SERVICES / "sdk_services.py"), holder.url, project["apiKey"], "text"],
        env={"COUNT_DELAY": "0.3"},
    ).start()
    try:
        names = {"text-shouter", "word-counter"}
        wait_until(lambda: at_holder.services_online(names), 20, "services at the holder")
        wait_until(lambda: api.services_online(names), 10, "the owner to see them")
        changed: list[str] = []  # the project's change stream, opened on the other replica
        watcher = threading.Thread(
            target=_read_changes, args=(holder.url, project["apiKey"], changed), daemon=True
        )
        watcher.start()
        wait_until(lambda: changed == ["(open)"], 10, "the change stream to open")
        execution_id = api.accepted(REQUEST)["executionId"]

        streamed: list[dict] = []
        reader = threading.Thread(
            target=lambda: streamed.extend(at_holder.read_events(execution_id)), daemon=True
        )
        reader.start()
        body = api.wait_finished(execution_id, timeout=30)
        assert body["status"] == "COMPLETED", body
        assert body["result"]["words"] == 3
        assert body["stepResults"][0]["output"] == {"shouted": "ACROSS THE REPLICAS"}
        # the run is the owner's, on disk too
        assert rows(database, "SELECT owner IS NOT NULL FROM orchestrations") == [(True,)]
        # a stream on the other replica saw every event of the run, in order, without a gap
        reader.join(30)
        assert not reader.is_alive()
        numbers = [int(frame["sse_id"]) for frame in streamed]
        assert numbers == list(range(1, len(numbers) + 1))
        kinds = [frame["type"] for frame in streamed]
        on_disk = rows(
            database,
            "SELECT type FROM events WHERE orchestration_id = %s ORDER BY seq",
            execution_id,
        )
        assert kinds == [kind for (kind,) in on_disk]
        assert kinds.count("orchestration_completed") == 1, kinds
        # the change stream on the replica that does not own the run named it
        wait_until(lambda: execution_id in changed, 10, "the change stream to name the run")

        # an approval decided on the other replica releases the owner's run
        gated = api.accepted({**REQUEST, "options": {"approve": ["step2"]}})["executionId"]

        def waiting() -> bool:
            body = at_holder.get(f"/orchestrations/{gated}").json()
            return body["status"] == "AWAITING_APPROVAL"

        wait_until(waiting, 20, "the gated step to wait")
        approved = at_holder.post(f"/orchestrations/{gated}/steps/step2/approve", {})
        assert approved.status_code == 200, approved.text
        assert approved.json()["status"] != "AWAITING_APPROVAL"
        # a long poll on the replica that does not own the run waits for its end there too
        polled = at_holder.get(f"/orchestrations/{gated}", params={"wait": 25}).json()
        assert polled["status"] == "COMPLETED", polled

        # a key revoked on one replica is refused by the other within a second, and the
        # service sockets it opened there are closed
        spare = api.post("/apikeys", {"name": "spare"}).json()["apiKey"]
        with_spare = Api(holder.url, spare)
        revoked = Api(owner.url, spare).http.delete("/apikeys/default")
        assert revoked.status_code == 200, revoked.text
        moment = time.monotonic()
        old_key = {"Authorization": f"Bearer {project['apiKey']}"}
        wait_until(
            lambda: (
                httpx.get(holder.url + "/services", headers=old_key, timeout=5).status_code == 401
            ),
            5,
            "the other replica to refuse the revoked key",
        )
        assert time.monotonic() - moment < 1.0
        wait_until(lambda: not with_spare.services_online(names), 10, "the sockets to close")
    finally:
        services.stop()
        owner.stop()
        holder.stop()
    each_step_completed_once(database)


def test_one_name_registered_on_two_replicas_at_once_is_one_service(database: str, tmp_path: Path):
    first, second = start_replicas(tmp_path, database, "ab")
    try:
        api, project = new_project(first.url)
        apis = [api, Api(second.url, project["apiKey"])]
        body = {"description": "Greets people by name", "schema": {"input": {}, "output": {}}}
        for round_ in range(5):
            name = f"greeter-{round_}"
            answers: list[httpx.Response] = []
            threads = [
                threading.Thread(
                    target=lambda a=a, name=name, answers=answers: answers.append(
                        a.post("/register/service", {**body, "name": name})
                    )
                )
                for a in apis
            ]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
            assert [answer.status_code for answer in answers] == [200, 200], answers
            assert len({answer.json()["id"] for answer in answers}) == 1
        stored = rows(database, "SELECT count(*), count(DISTINCT name) FROM services")
        assert stored == [(5, 5)]
    finally:
        first.stop()
        second.stop()


def test_orra_replicas_and_the_studio_list_every_replica_and_see_one_die(
    database: str, tmp_path: Path
):
    from browser import StudioProcess, browser_page

    first, second = start_replicas(tmp_path, database, "ab")
    _api, project = new_project(first.url)
    env = {
        **os.environ,
        "ORRA_URL": first.url,
        "ORRA_API_KEY": project["apiKey"],
        "ORRA_CONFIG": str(tmp_path / "config.toml"),
    }
    studio = StudioProcess(first.url, project["apiKey"], tmp_path / "studio.log").start()
    try:
        listed = json.loads(orra_cli("replicas", "--json", env=env).stdout)
        assert sorted(r["status"] for r in listed) == ["alive", "alive"]
        assert [r["this"] for r in listed].count(True) == 1
        shown = orra_cli("replicas", env={**env, "COLUMNS": "200"}).stdout
        second_id = next(r["id"] for r in listed if not r["this"])
        assert second_id in shown and "this one" in shown

        with browser_page(tmp_path) as (page, watched):
            page.goto(studio.login_url)
            page.goto(studio.url + "replicas")
            page.get_by_text(second_id).wait_for()
            second.stop(signal.SIGKILL)
            row = page.locator(".orra-replicas .tabulator-row", has_text=second_id)
            row.get_by_text("dead", exact=True).wait_for(timeout=30_000)
            assert watched.console_errors == [] and watched.remote_requests == []
    finally:
        studio.stop()
        first.stop()
        second.stop()


def test_orra_replicas_on_duckdb_says_there_is_one_process(live_server: ServerProcess, tmp_path):
    _api, project = new_project(live_server.url)
    env = {
        **os.environ,
        "ORRA_URL": live_server.url,
        "ORRA_API_KEY": project["apiKey"],
        "ORRA_CONFIG": str(tmp_path / "config.toml"),
    }
    assert json.loads(orra_cli("replicas", "--json", env=env).stdout) == []
    assert "one control plane on DuckDB" in orra_cli("replicas", env=env).stdout


def test_the_tasks_a_replica_relays_are_remembered_within_a_bound(monkeypatch):
    """A relayed task nobody answers must not be remembered for ever: the oldest go first."""
    from orra_server.cluster import inbox

    monkeypatch.setattr(inbox, "MAX_RELAYED", 3)
    remembered = inbox.Inbox.__new__(inbox.Inbox)
    remembered.relayed = {}
    for n in range(5):
        remembered.relayed_task("s_echo", f"key{n}", f"o_{n}")
    assert remembered.relayed == {("s_echo", f"key{n}"): f"o_{n}" for n in (2, 3, 4)}
