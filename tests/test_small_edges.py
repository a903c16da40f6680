"""Small edges of issue 24 (item 11): an invalid UTF-8 frame, Allow on a 405, OPTIONS, and
deleting a webhook by its URL. A real control plane at ``--log-level info``."""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import pytest
import websockets

from helpers import REFUND_SCHEMA, close_code, new_project, server_fixture, wait_until, ws_url

server = server_fixture("edges", args=["--log-level", "info"])


def test_an_invalid_utf8_text_frame_closes_with_1007_and_logs_one_line(server):
    api, _ = new_project(server.url)
    service = api.post(
        "/register/service", {"name": "utf8", "description": "x", "schema": REFUND_SCHEMA}
    ).json()

    async def scenario() -> int | None:
        async with websockets.connect(ws_url(server.url, service["id"], api.key or "")) as ws:
            ws.protocol.send_text(b"\xff\xfe{}")  # a text frame whose bytes are not UTF-8
            ws.send_data()
            return await close_code(ws)

    assert asyncio.run(scenario()) == 1007
    line = "closed a websocket with 1007: the client sent a text frame that is not UTF-8"
    log = wait_until(lambda: line in server.log() and server.log(), 10, "the log line")
    assert "Traceback" not in log and "UnicodeDecodeError" not in log


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/orchestrations", "GET, POST, OPTIONS"),
        ("/webhooks", "GET, POST, OPTIONS"),
        ("/health", "GET, OPTIONS"),
        ("/apikeys/k_0123", "DELETE, OPTIONS"),
    ],
)
def test_a_405_and_options_list_every_method_the_path_takes(server, path, allowed):
    api, _ = new_project(server.url)
    refused = api.http.request("PUT", path)
    assert refused.status_code == 405
    assert refused.headers["allow"] == allowed
    assert refused.json()["error"]["code"] == "method_not_allowed"
    assert allowed in refused.json()["error"]["message"]
    options = api.http.request("OPTIONS", path)
    assert options.status_code == 204 and options.headers["allow"] == allowed
    assert api.http.request("OPTIONS", "/no-such-path").status_code == 404


@pytest.mark.parametrize("kind", ["webhooks", "compensation-failure-webhooks"])
def test_a_webhook_is_deleted_by_its_url_encoded_or_not(server, kind):
    api, _ = new_project(server.url)
    urls = [f"http://127.0.0.1:9/{kind}/a?x=1&y=2", f"http://127.0.0.1:9/{kind}/b"]
    for url in urls:
        assert api.post(f"/{kind}", {"url": url}).status_code == 201
    encoded = api.http.delete(f"/{kind}/{quote(urls[0], safe='')}")
    assert encoded.status_code == 200, encoded.text
    assert encoded.json()["url"] == urls[0]
    plain = api.http.delete(f"/{kind}/{urls[1]}")
    assert plain.status_code == 200, plain.text
    assert api.get(f"/{kind}").json()["webhooks"] == []
    gone = api.http.delete(f"/{kind}/{quote(urls[1], safe='')}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "webhook_not_found"
