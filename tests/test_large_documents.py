"""Large and hostile grounding documents never stall the server (issue 24, item 7).

A real control plane; while documents are posted, another thread asks ``/health`` every few
milliseconds and records how long each answer took.
"""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from helpers import Api, new_project, server_fixture

LIMIT = 1024 * 1024


server = server_fixture("documents")


def _spec(name: str, params_per_use_case: int, use_cases: int = 20) -> str:
    """A valid spec whose ``params`` hold many small values: the parser's worst case."""
    lines = [f"name: {name}", "domain: load-tests", 'version: "1"', "use-cases:"]
    for u in range(use_cases):
        lines += [f'  - action: "Do thing {u} for {{orderId}}"', "    params:"]
        lines += [f'      orderId: "o-{u}"']
        lines += [f"      p{i}: v{i}" for i in range(params_per_use_case)]
        lines += ["    capabilities: [do the thing]", f'    intent: "thing {u}"']
    return "\n".join(lines) + "\n"


class _Pulse:
    """Asks /health again and again on its own connection; the slowest answer wins."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.slowest = 0.0
        self.count = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=60) as http:
            while not self._stop.is_set():
                started = time.monotonic()
                assert http.get("/health").status_code == 200
                self.slowest = max(self.slowest, time.monotonic() - started)
                self.count += 1
                self._stop.wait(0.005)

    def __enter__(self) -> _Pulse:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)


def _post(api: Api, text: str | bytes) -> httpx.Response:
    return api.http.post(
        "/groundings", content=text, headers={"content-type": "application/yaml"}, timeout=60
    )


def test_health_answers_within_a_second_while_large_groundings_are_parsed(server):
    api, _ = new_project(server.url)
    documents = [_spec(f"large-{i}", 2_400) for i in range(3)]
    assert all(LIMIT * 0.8 < len(d) < LIMIT for d in documents), [len(d) for d in documents]
    answers: list[httpx.Response] = []
    with _Pulse(server.url) as pulse:
        posters = [
            threading.Thread(target=lambda d=d: answers.append(_post(api, d))) for d in documents
        ]
        started = time.monotonic()
        for poster in posters:
            poster.start()
        for poster in posters:
            poster.join(120)
        took = time.monotonic() - started
    assert [a.status_code for a in answers] == [201] * 3, [a.text[:300] for a in answers]
    print(f"3 × {len(documents[0])} B YAML in {took:.2f} s; /health slowest {pulse.slowest:.3f} s")
    assert pulse.count > 10
    assert pulse.slowest < 1.0, f"/health took {pulse.slowest:.2f} s"


def test_a_grounding_over_1_mib_is_a_413_and_is_not_parsed(server):
    api, _ = new_project(server.url)
    for size in (LIMIT + 1, int(9.5 * LIMIT)):
        document = _spec("too-large", size // 200_000 * 200_000 // 1_000)
        document += "#" * (size - len(document))
        started = time.monotonic()
        answer = _post(api, document)
        took = time.monotonic() - started
        assert answer.status_code == 413, answer.text[:300]
        error = answer.json()["error"]
        assert error["code"] == "grounding_too_large"
        assert "1 MiB" in error["message"]
        assert took < 2.0, f"{size} B refused after {took:.2f} s"
    assert api.get("/groundings").json()["groundings"] == []


BILLION_LAUGHS = "\n".join(
    ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]" for i in range(8)]
)


@pytest.mark.parametrize(
    ("document", "status", "code", "needle"),
    [
        (BILLION_LAUGHS, 400, "invalid_grounding", "aliases"),
        ("[" * 100_000 + "]" * 100_000, 400, "json_too_deep", "64"),  # past libyaml's limit
        ("[" * 100 + "]" * 100, 400, "json_too_deep", "64"),  # as JSON
        ("a: " + "{b: " * 5_000 + "1" + "}" * 5_000, 400, "json_too_deep", "64"),
        ("- 1\n" * 150_000, 413, "grounding_too_large", "values"),
        ("a: !!float not-a-number\n", 400, "invalid_grounding", "YAML"),
    ],
)
def test_hostile_yaml_is_refused_quickly(server, document, status, code, needle):
    api, _ = new_project(server.url)
    started = time.monotonic()
    answer = _post(api, document)
    took = time.monotonic() - started
    assert answer.status_code == status, answer.text[:300]
    assert answer.json()["error"]["code"] == code
    assert needle in answer.json()["error"]["message"]
    assert took < 1.0, f"refused after {took:.2f} s"
    assert httpx.get(server.url + "/health").status_code == 200
