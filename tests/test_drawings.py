"""The studio's drawings as pure functions: layers, escaping, one bar per attempt."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from orra_studio.studio.drawings import (
    Attempt,
    attempts_from_logs,
    axis_marks,
    mark_text,
    plan_svg,
    timeline_svg,
)

T0 = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def _at(ms: int) -> str:
    return (T0 + timedelta(milliseconds=ms)).isoformat()


def test_layers_come_from_dependencies_when_the_plan_has_no_groups():
    plan = {
        "steps": [
            {"id": "a", "component": "x", "dependencies": []},
            {"id": "b", "component": "y", "dependencies": ["a"]},
            {"id": "c", "component": "x", "dependencies": ["a", "b"]},
        ]
    }
    svg = plan_svg(plan, {"a": "COMPLETED"}, by_component=True)
    assert svg.count('class="orra-node"') == 3 and svg.count("<line") == 3
    assert 'data-step="a" data-status="COMPLETED"' in svg
    assert 'data-step="c" data-status="PENDING"' in svg
    fills = {part.split('"')[0] for part in svg.split(' fill="')[1:] if part.startswith("#")}
    assert len(fills & {"#ddf4ff", "#fbefff"}) == 2  # two components, two fills


def test_text_from_data_is_escaped():
    plan = {"steps": [{"id": "<s1>", "component": '<img src=x onerror="y">', "input": {}}]}
    svg = plan_svg(plan)
    assert "<img" not in svg and "&lt;img src=x onerror=&quot;y&quot;&gt;" in svg
    assert "&lt;s1&gt;" in svg


def test_every_attempt_is_a_bar_with_how_it_ended():
    lines = [
        {"stepId": "step1", "event": "step_dispatched", "time": _at(0), "payload": {"attempt": 1}},
        {
            "stepId": "step1",
            "event": "step_retrying",
            "time": _at(30),
            "payload": {"kind": "timeout"},
        },
        {"stepId": "step1", "event": "step_dispatched", "time": _at(40), "payload": {"attempt": 2}},
        {"stepId": "step1", "event": "step_retrying", "time": _at(50), "payload": {"kind": "x"}},
        {"stepId": "step1", "event": "step_dispatched", "time": _at(60), "payload": {"attempt": 3}},
        {"stepId": "step1", "event": "step_completed", "time": _at(90), "payload": {}},
        {"stepId": "step2", "event": "step_dispatched", "time": _at(95), "payload": {"attempt": 1}},
        {"stepId": None, "event": "orchestration_accepted", "time": _at(0), "payload": None},
    ]
    attempts = attempts_from_logs(lines)
    assert [(a.step_id, a.number, a.outcome) for a in attempts] == [
        ("step1", 1, "TIMEOUT"),
        ("step1", 2, "RETRYING"),
        ("step1", 3, "COMPLETED"),
        ("step2", 1, "RUNNING"),
    ]
    svg = timeline_svg(attempts, now=T0 + timedelta(milliseconds=120))
    assert svg.count('class="orra-attempt"') == 4
    assert 'data-step="step2" data-attempt="1" data-outcome="RUNNING"' in svg


def test_runs_per_minute_stack_by_status_in_each_statuses_colour():
    import pandas as pd

    from orra_studio.palette import colour_of
    from orra_studio.studio.analytics import chart

    minutes = pd.to_datetime(["2026-12-07 04:00", "2026-12-07 04:00", "2026-12-07 04:01"])
    frame = pd.DataFrame(
        {"minute": minutes, "status": ["COMPLETED", "FAILED", "COMPLETED"], "runs": [3, 1, 2]}
    )
    bars = chart(frame, "minute", "runs", "bar", "status")
    glyphs = [renderer.glyph for renderer in bars.renderers]
    assert [g.fill_color for g in glyphs] == [colour_of("COMPLETED"), colour_of("FAILED")]
    assert glyphs[0].width == 60_000 * 0.8  # most of a minute: bars, not dots
    lines = chart(frame, "minute", "runs", "line", "status")
    assert [r.glyph.line_color for r in lines.renderers] == [
        colour_of("COMPLETED"),
        colour_of("FAILED"),
    ]
    one = chart(frame, "minute", "runs", "bar")  # no series: one colour, as before
    assert len({r.glyph.__class__.__name__ for r in one.renderers}) == 1


def test_waits_show_on_the_timeline_a_step_for_a_person_and_the_run_for_a_service():
    from orra_studio.studio.drawings import waits_from_logs

    paused = "paused: waiting for an instance of 'ship-order': none is connected <now>"
    lines = [
        {"stepId": "step1", "event": "step_dispatched", "time": _at(0), "payload": {"attempt": 1}},
        {"stepId": "step1", "event": "step_completed", "time": _at(10), "payload": {}},
        {"stepId": None, "event": "orchestration_paused", "time": _at(12), "message": paused},
        {"stepId": None, "event": "orchestration_running", "time": _at(40), "message": ""},
        {"stepId": "step2", "event": "approval_requested", "time": _at(41), "payload": {}},
        {"stepId": "step2", "event": "step_approved", "time": _at(70), "payload": {}},
        {"stepId": "step2", "event": "step_dispatched", "time": _at(71), "payload": {}},
        {"stepId": "step3", "event": "approval_requested", "time": _at(72), "payload": {}},
    ]
    waits = waits_from_logs(lines)
    assert [(w.kind, w.step_id, w.end is None) for w in waits] == [
        ("paused", None, False),
        ("approval", "step2", False),
        ("approval", "step3", True),  # still waiting
    ]
    svg = timeline_svg(attempts_from_logs(lines), now=T0 + timedelta(milliseconds=80), waits=waits)
    assert svg.count('class="orra-wait"') == 3
    assert 'data-kind="paused" data-step=""' in svg
    assert "none is connected &lt;now&gt;" in svg  # the reason, escaped
    assert 'data-kind="approval" data-step="step3"' in svg


def test_the_timeline_has_a_time_axis_with_round_marks() -> None:
    assert axis_marks(0.7) == pytest.approx([i / 10 for i in range(8)])  # 0, 100 … 700 ms
    assert [mark_text(at, 47) for at in axis_marks(47)] == ["0 s", "10 s", "20 s", "30 s", "40 s"]
    assert [mark_text(at, 3600) for at in axis_marks(3600)][-1] == "60 min"
    assert len(axis_marks(86400)) <= 8 and axis_marks(0) == [0.0]
    attempts = [Attempt("step1", 1, T0, T0 + timedelta(milliseconds=350), "COMPLETED")]
    svg = timeline_svg(attempts)
    labels = re.findall(r'<line class="orra-tick"[^>]*/><text[^>]*>([^<]+)</text>', svg)
    assert labels == ["0 ms", "50 ms", "100 ms", "150 ms", "200 ms", "250 ms", "300 ms", "350 ms"]


def test_every_outcome_of_a_run_has_a_colour_of_its_own() -> None:
    """A pill tells the status apart at a glance: no two ways a run ends share a colour."""
    from orra_sdk.vocabulary import TERMINAL, OrchestrationStatus
    from orra_studio.palette import colour_of

    ends = sorted(TERMINAL) + [OrchestrationStatus.RUNNING, OrchestrationStatus.PAUSED]
    colours = [colour_of(status) for status in ends]
    assert len(set(colours)) == len(colours), dict(zip(ends, colours, strict=True))
