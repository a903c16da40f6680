"""``deploy/haproxy.cfg`` as docs/scale-out.md runs it: three replicas behind HAProxy, services
and callers through it, websockets and event streams included; the replica holding the
service sockets is killed and the work goes on through the balancer."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from pathlib import Path

import httpx
import psycopg
import pytest

from helpers import (
    ROOT,
    SERVICES,
    Api,
    ServiceProcess,
    free_port,
    new_project,
    terminate,
    wait_until,
)
from replica_scenario import shout_and_count, start_replicas

REQUEST = shout_and_count("through the balancer")


@pytest.fixture
def haproxy() -> str:
    found = shutil.which("haproxy", path=f"{os.environ.get('PATH', '')}:/usr/sbin")
    if found is None:
        message = "the deploy test needs HAProxy: apt-get install -y haproxy"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return found


def test_three_replicas_behind_haproxy_serve_sockets_streams_and_survive_a_kill(
    haproxy: str, database: str, tmp_path: Path
):
    replicas = start_replicas(tmp_path, database, "abc")
    port = free_port()
    env = {**os.environ, "ORRA_LISTEN": f"127.0.0.1:{port}"}
    env |= {f"ORRA_R{n}": f"127.0.0.1:{r.port}" for n, r in enumerate(replicas, 1)}
    balancer = subprocess.Popen(
        [haproxy, "-db", "-f", str(ROOT / "deploy" / "haproxy.cfg")],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    services = None
    try:

        def ready() -> bool:
            try:
                return httpx.get(url + "/ready", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, 20, "HAProxy to answer")
        api, project = new_project(url)
        services = ServiceProcess(
            [str(SERVICES / "sdk_services.py"), url, project["apiKey"], "text"],
            env={"COUNT_DELAY": "1.0", "COUNT_CONCURRENCY": "64"},
        ).start()
        names = {"text-shouter", "word-counter"}
        wait_until(lambda: api.services_online(names), 30, "services through the balancer")
        first = api.accepted(REQUEST)["executionId"]
        streamed = api.read_events(first)  # an event stream through the balancer
        assert streamed[-1]["type"] == "orchestration_completed"

        ids = [api.accepted(REQUEST)["executionId"] for _ in range(10)]
        with psycopg.connect(database) as connection:
            holder = connection.execute(  # the counter's: the slower step, mid-task now
                "SELECT replica_id FROM service_sockets s JOIN services v ON v.id = s.service_id "
                "WHERE v.name = 'word-counter'"
            ).fetchone()[0]
        for replica in replicas:
            if Api(replica.url, api.key).get("/health").json()["replica"] == holder:
                replica.stop(signal.SIGKILL)  # its SDK reconnects through the balancer
        for execution_id in ids:
            body = api.wait_finished(execution_id, timeout=60)
            assert body["status"] == "COMPLETED", body
            assert body["result"]["words"] == 3
        listed = api.get("/replicas").json()["replicas"]
        assert sorted(r["status"] for r in listed) == ["alive", "alive", "dead"]
    finally:
        if services is not None:
            services.stop()
        terminate(balancer, signal.SIGTERM, 10)
        for replica in replicas:
            replica.stop()
