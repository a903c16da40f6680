"""Secrets never reach the log in any encoding (issue 24, item 3).

A real control plane at ``--log-level info`` (an operator's log), its output captured in a file;
keys arrive percent-encoded in part, in whole or twice, and a webhook URL carries a secret in its
query. The log is searched for each secret raw, percent-encoded and decoded.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any
from urllib.parse import quote

import httpx
import pytest
import websockets
from local_http import LocalHttpServer, QuietHandler

from helpers import REFUND_SCHEMA, new_project, server_fixture, wait_until
from orra_server.core.redaction import KeyRedactor, add_secret, redact

ADMIN = "admin-token-for-redaction-tests-42"


server = server_fixture(
    "redaction",
    env={"ORRA_ADMIN_TOKEN": ADMIN, "ORRA_WEBHOOK_ATTEMPTS": "1"},
    args=["--log-level", "info"],
)


def _forms(secret: str) -> set[str]:
    """The ways a secret could show: raw, percent-encoded (either case), form-encoded."""
    encoded = "".join(f"%{b:02X}" for b in secret.encode())
    return {
        secret,
        quote(secret, safe=""),
        encoded,
        encoded.lower(),
        quote(quote(secret, safe=""), safe=""),
        secret.replace(" ", "+"),
    }


def _leaks(log: str, secrets: list[str]) -> list[str]:
    return [form for secret in secrets for form in _forms(secret) if form in log]


def _encode_all(text: str) -> str:
    return "".join(f"%{b:02x}" for b in text.encode())


class _Refusing(QuietHandler):
    def do_POST(self) -> None:  # noqa: N802
        self.rfile.read(int(self.headers.get("content-length", 0)))
        self.answer(500, b"{}")


def test_keys_in_any_encoding_and_webhook_url_secrets_never_reach_the_log(server):
    api, project = new_project(server.url, admin_token=ADMIN)
    key = project["apiKey"]
    body = key.removeprefix("sk-orra-v1-")
    service = api.post(
        "/register/service", {"name": "redacted-svc", "description": "x", "schema": REFUND_SCHEMA}
    ).json()
    base = server.url.replace("http", "ws") + f"/ws?serviceId={service['id']}"
    # each is a real handshake: the query string reaches uvicorn's log line for it
    queries = [
        f"&%61piKey=%73k-orra-v1-{body}",  # the example: name and value encoded
        f"&apiKey=sk-orra-v1-{body[:10]}%{ord(body[10]):02x}{body[11:]}",  # partly encoded
        f"&apiKey={_encode_all(key)}",  # every byte encoded
        f"&apiKey={quote(quote(key, safe=''), safe='')}",  # twice: refused, still a secret
        f"&api%5Fkey={_encode_all(key)}",
        f"&token={quote('Bearer ' + key).replace('%20', '+')}",  # '+' form
    ]

    async def handshakes() -> None:
        for query in queries:
            try:
                async with websockets.connect(base + query, open_timeout=5):
                    pass
            except websockets.InvalidStatus:
                pass  # a refused handshake is logged as well

    asyncio.run(handshakes())
    # encoded keys in the path and query of plain requests, and in headers
    httpx.get(server.url + f"/orchestrations/%73k-orra-v1-{body}?%61piKey={_encode_all(key)}")
    httpx.get(server.url + "/services", headers={"Authorization": f"Bearer {key}x"})
    httpx.post(server.url + "/register/project", headers={"Authorization": f"Bearer {ADMIN}"})

    webhook_secret = "hook-query-secret-5dd1a0"
    signature = "sig-value-0b9c6e42"
    with LocalHttpServer(_Refusing, "/hook") as receiver:
        hook = f"{receiver.url}?token={webhook_secret}&sig={quote(signature)}&plain=kept"
        added = api.post("/webhooks", {"url": hook})
        assert added.status_code == 201, added.text
        run = api.post("/orchestrations", {"action": {"type": "x", "content": "nothing here"}})
        assert run.status_code == 202, run.text
        wait_until(lambda: "not delivered" in server.log(), 30, "the failed delivery's log line")
    wait_until(lambda: server.log().count("WebSocket /ws") >= len(queries), 10, "handshakes")

    log = server.log()
    secrets = [key, body, webhook_secret, signature, ADMIN, project["webhookSecret"]]
    assert not _leaks(log, secrets), _leaks(log, secrets)
    assert not re.search(r"[0-9a-f]{40}", log.replace(service["id"], ""))
    # still useful: which socket, which webhook, which parameter was cut
    assert f"/ws?serviceId={service['id']}" in log
    assert "apiKey=[redacted]" in log
    # a webhook by its id and host: its path may be its secret (test_probe_regressions.py)
    assert f"webhook {added.json()['id']} (to {receiver.url.split('/')[2]})" in log


def _record(message: str, *args: Any) -> str:
    record = logging.LogRecord("orra.test", logging.WARNING, __file__, 1, message, args, None)
    KeyRedactor().filter(record)
    return record.getMessage()


def test_the_filter_redacts_the_final_message_of_a_record_with_args():
    key = "sk-orra-v1-" + "ab12" * 16
    refused = _record("socket %s refused", f"/ws?apiKey={key}")
    assert refused == "socket /ws?apiKey=[redacted] refused"
    assert "ab12" not in _record("%s", {"apiKey": key})
    url = "https://h/x?access_token=t0ps3cr3t"
    failed = _record("webhook %s failed after %d attempts", url, 3)
    assert failed == "webhook https://h/x?access_token=[redacted] failed after 3 attempts"


@pytest.mark.parametrize(
    "text",
    [
        "Authorization: Bearer abc.def.ghi",
        "authorization=Basic%20dXNlcjpwYXNz",
        '{"webhookSecret": "whsec_c2VjcmV0"}',
        "/x?%2573%256b-orra-v1-00ff",  # twice encoded, a fragment of a key
        "GET /x?password=hunter2hunter2 HTTP/1.1",
        "url=https%3A%2F%2Fh%2Fp%3Fsignature%3Ds3cr3tsig%26a%3D1",
    ],
)
def test_redact_removes_each_kind_of_secret(text):
    cleaned = redact(text)
    assert "[redacted]" in cleaned
    for secret in ("abc.def.ghi", "dXNlcjpwYXNz", "c2VjcmV0", "00ff", "hunter2", "s3cr3tsig"):
        assert secret not in cleaned


def test_a_configured_secret_is_redacted_in_its_encodings_and_decoded_text_stays_one_line():
    add_secret("operator-token-7f3e")
    assert redact("x operator%2Dtoken%2D7f3e y") == "x [redacted] y"
    assert "\n" not in redact("/p?token=a%0Aforged%20line")
    assert redact("GET /health?page=2&q=a%20b") == "GET /health?page=2&q=a%20b"
