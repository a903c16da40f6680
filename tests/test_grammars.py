"""Identifiers and numbers that arrive as text are matched against ASCII grammars at the edge,
and every door that takes a plan or an input applies the same limits, off the event loop.

``'²'.isdigit()`` is true and ``int('²')`` raises: one such step id used to be accepted with a
202 and then stop every later start of ``orra serve`` in recovery.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx
import pytest

from helpers import Api, new_project, plan_step, register, wait_until
from orra_server.core.grammar import bearer_credential, is_step_id, parse_decimal

#: text that Python calls digits (or word characters) and that ASCII grammars refuse
UNICODE_DIGITS = ["²", "٣", "①", "𝟘", "\u0663"]

ITEMS_SCHEMA = {
    "input": {
        "type": "object",
        "properties": {
            "items": {
                "type": "array",
                "items": {"type": "object", "properties": {"a": {"type": "string"}}},
            }
        },
        "required": ["items"],
    },
    "output": {"type": "object", "properties": {"done": {"type": "boolean"}}},
}


@pytest.fixture
def api(live_server) -> Api:
    api, _ = new_project(live_server.url)
    register(
        api,
        [{"name": "list-svc", "description": "takes a list of items", "schema": ITEMS_SCHEMA}],
    )
    return api


def request_with(plan: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "action": {"type": "list", "content": "handle the items"},
        "data": [{"field": "items", "value": [{"a": "x"}]}],
        "plan": plan,
        **extra,
    }


def one_step_plan(step_id: str = "step1", **step: Any) -> dict[str, Any]:
    return {
        "steps": [{**plan_step(step_id, "list-svc", {"items": "{{request.data.items}}"}), **step}]
    }


def assert_bad(response: httpx.Response, code: str, *fields: str) -> dict[str, Any]:
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert "Traceback" not in response.text
    text = response.text
    for field in fields:
        assert field in text, (field, text)
    return error


def test_the_grammars_themselves() -> None:
    assert is_step_id("step1") and is_step_id("fetch_customer") and is_step_id("a-b")
    for digit in UNICODE_DIGITS:
        assert not is_step_id(f"step{digit}")
        with pytest.raises(Exception, match="ASCII digits"):
            parse_decimal(digit, field="X-Header")
    for bad in ["", "1step", "step 1", "step.1", "a" * 65, "étape", "step\u200b1"]:
        assert not is_step_id(bad), bad
    assert parse_decimal(" 42 ", field="n") == 42
    for bad in ["-1", "1e3", "0x10", "1_000", "+1", str(2**63)]:
        with pytest.raises(Exception, match="whole number"):
            parse_decimal(bad, field="n")


def test_one_rule_reads_a_bearer_credential() -> None:
    """The API key, the admin token and a socket's key: the scheme in any case, spaces cut."""
    for header in ["Bearer sk-1", "bearer sk-1", "BEARER  sk-1 "]:
        assert bearer_credential(header) == "sk-1", header
    for header in [None, "", "Bearer", "Bearer   ", "Basic sk-1", "sk-1", "Bearersk-1"]:
        assert bearer_credential(header) == "", header


@pytest.mark.parametrize("digit", UNICODE_DIGITS[:3])
@pytest.mark.parametrize("where", ["id", "dependency", "group", "approve"])
@pytest.mark.parametrize("dry_run", [False, True])
def test_a_unicode_digit_in_a_step_id_is_refused_naming_the_field(
    api: Api, digit: str, where: str, dry_run: bool
) -> None:
    bad = f"step{digit}"
    plan = one_step_plan()
    options: dict[str, Any] = {}
    if where == "id":
        plan["steps"][0]["id"] = bad
    elif where == "dependency":
        plan["steps"][0]["dependencies"] = [bad]
    elif where == "group":
        plan["parallelExecutionGroups"] = [[bad]]
    else:
        options = {"approve": [bad]}
    body = request_with(plan, dryRun=dry_run, **({"options": options} if options else {}))
    error = assert_bad(api.post("/orchestrations", body), "invalid_request", "not a step id")
    fields = " ".join(d["field"] for d in error["details"])
    expected = {
        "id": "plan.steps.0.id",
        "dependency": "plan.steps.0.dependencies.0",
        "group": "plan.parallelExecutionGroups.0.0",
        "approve": "options.approve",
    }[where]
    assert expected in fields, fields


def test_a_unicode_digit_as_a_list_index_is_refused_and_an_ascii_one_runs(api: Api) -> None:
    bad = one_step_plan()
    bad["steps"][0]["input"] = {"items": ["{{request.data.items.²}}"]}
    error = assert_bad(api.post("/orchestrations", request_with(bad)), "invalid_plan")
    assert any(d["rule"] == "unresolvable_reference" for d in error["details"]), error
    assert "ASCII digits" in error["message"]
    beyond = one_step_plan()
    beyond["steps"][0]["input"] = {"items": ["{{request.data.items.7}}"]}
    assert_bad(api.post("/orchestrations", request_with(beyond)), "invalid_plan")
    good = one_step_plan()
    good["steps"][0]["input"] = {"items": ["{{request.data.items.0}}"]}
    assert api.post("/orchestrations", request_with(good)).status_code == 202


def cancelled_run(api: Api) -> str:
    """A finished run with a plan, without any service process: accepted, then cancelled
    (its service is registered but never connects, so the step waits)."""
    answer = api.post("/orchestrations", request_with(one_step_plan()))
    assert answer.status_code == 202, answer.text
    execution_id = answer.json()["executionId"]
    cancel = api.post(f"/orchestrations/{execution_id}/cancel", {"compensate": False})
    assert cancel.status_code == 200, cancel.text
    wait_until(
        lambda: api.get(f"/orchestrations/{execution_id}").json()["status"] == "CANCELLED",
        20,
        "the run to be cancelled",
    )
    return execution_id


def test_a_rerun_takes_step_ids_by_the_same_grammar(api: Api) -> None:
    source = cancelled_run(api)
    for body, field in [
        ({"fromStep": "step²"}, "fromStep"),
        ({"input": {"step²": {"items": []}}}, "input"),
        ({"plan": one_step_plan("step①")}, "plan.steps.0.id"),
    ]:
        error = assert_bad(
            api.post(f"/orchestrations/{source}/rerun", body), "invalid_request", "not a step id"
        )
        assert any(d["field"].startswith(field) for d in error["details"]), error


def test_a_rerun_applies_the_plan_limits_to_its_edited_inputs(api: Api) -> None:
    source = cancelled_run(api)
    references = [{"a": "{{request.data.items}}"}] * 6_000
    answer = api.post(
        f"/orchestrations/{source}/rerun", {"input": {"step1": {"items": references}}}
    )
    error = assert_bad(answer, "too_many_references")
    assert error["details"] == {"limit": 5000, "found": 6000}
    deep: Any = {"a": "x"}
    for _ in range(80):
        deep = {"a": deep}
    answer = api.post(f"/orchestrations/{source}/rerun", {"input": {"step1": {"items": [deep]}}})
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "json_too_deep"


def _slowest_health_answer(api: Api, work: threading.Thread) -> float:
    """The longest ``/health`` took while ``work`` ran (polled from this thread)."""
    slowest = 0.0
    with httpx.Client(base_url=api.url, timeout=30) as http:
        work.start()
        while work.is_alive():
            began = time.perf_counter()
            assert http.get("/health").status_code == 200
            slowest = max(slowest, time.perf_counter() - began)
    work.join()
    return slowest


def test_a_large_edited_input_is_checked_off_the_event_loop(api: Api) -> None:
    """200,000 items that break the schema: seconds of jsonschema, none of them on the loop."""
    source = cancelled_run(api)
    items = [{"a": 1}] * 200_000  # "a" must be a string: every item is an error
    answers: list[httpx.Response] = []
    body = {"input": {"step1": {"items": items}}}
    work = threading.Thread(
        target=lambda: answers.append(api.post(f"/orchestrations/{source}/rerun", body))
    )
    slowest = _slowest_health_answer(api, work)
    assert_bad(answers[0], "invalid_step_input", "step1")
    assert slowest < 1.0, f"/health took {slowest:.2f} s while the input was checked"


def test_a_catalog_that_chains_every_way_is_planned_off_the_loop_within_a_budget(
    live_server,
) -> None:
    """60 services of 40 string fields that all feed each other: the offline planner's search
    used to hold the event loop for 5.7 s (75 s at 200 services). It now runs on a worker
    thread and gives up past its budget, with a reason that says what to do instead."""
    api, _ = new_project(live_server.url)
    fields = {f"f{j}": {"type": "string"} for j in range(40)}
    schema = {
        "input": {"type": "object", "properties": fields, "required": list(fields)},
        "output": {"type": "object", "properties": fields},
    }
    register(
        api,
        [
            {"name": f"svc-{i}", "description": f"transforms fields step {i}", "schema": schema}
            for i in range(60)
        ],
    )
    answers: list[httpx.Response] = []
    body = {"action": {"type": "transform", "content": "transform fields"}, "dryRun": True}
    body["data"] = [{"field": "x", "value": 1}]
    work = threading.Thread(target=lambda: answers.append(api.post("/orchestrations", body)))
    slowest = _slowest_health_answer(api, work)
    assert answers[0].status_code == 200, answers[0].text
    preview = answers[0].json()
    assert preview["status"] == "NOT_ACTIONABLE"
    assert "stopped searching" in preview["message"] and "post a plan" in preview["message"]
    assert slowest < 1.0, f"/health took {slowest:.2f} s while the action was planned"


@pytest.mark.parametrize("text", ["nan", "inf", "-1", "١٠", "1e3", "0.05", "99999", "3 s"])
def test_the_replica_timings_are_seconds_in_ascii_within_bounds(text: str) -> None:
    """``float()`` would take ``nan``, ``inf`` and other scripts' digits: a replica declared
    dead after ``nan`` seconds would never be, after ``-1`` at once."""
    from orra_server.settings import SettingError, seconds

    with pytest.raises(SettingError, match="ORRA_REPLICA_DEAD_AFTER"):
        seconds(text, "ORRA_REPLICA_DEAD_AFTER", 0.1, 3600)
    assert seconds(" 2.5 ", "ORRA_REPLICA_DEAD_AFTER", 0.1, 3600) == 2.5


@pytest.mark.parametrize(
    ("line", "words"),
    [
        ("connect --demo   # the seed services too", ["connect", "--demo"]),
        ('run "tell me more" customerId=c1 # a comment', ["run", "tell me more", "customerId=c1"]),
        ("run shout color=#fff", ["run", "shout", "color=#fff"]),  # '#' inside a word stays
        ("run shout 'note=#1 # quoted'", ["run", "shout", "note=#1 # quoted"]),
        (r"run shout tag=\#x # gone", ["run", "shout", "tag=#x"]),
        ("# all comment", []),
    ],
)
def test_a_magic_line_splits_as_a_shell_line_with_its_comment_dropped(line, words) -> None:
    from orra_studio.notebook.magics import shell_words

    assert shell_words(line) == words
