"""The planning eval: realistic service catalogs and the actions people send them.

The catalogs and cases are data, in ``catalogs.toml`` beside this module (each service and each
case written once); this module reads them and judges a preview against a case. A case names the
components a correct plan uses. The first catalogs' cases pass when the plan is valid, uses every
one of them and none of the ``avoid`` list; the later ones (``judged = "exactly"``) are judged on
the exact component set, or expect no plan at all. Run it with ``python bench/planning_eval.py``
(prints every case) or through ``tests/planning/test_eval.py`` (fails below the floor).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planning.eval_model import Case, service, services_from

__all__ = [
    "CASES",
    "CATALOGS",
    "HELD_OUT",
    "Case",
    "judge",
    "report",
    "run_eval",
    "score",
    "service",
]

_DATA = tomllib.loads((Path(__file__).parent / "catalogs.toml").read_text(encoding="utf-8"))

CATALOGS: dict[str, list[dict[str, Any]]] = {
    name: services_from(rows) for name, rows in _DATA["catalogs"].items()
}


def _case(catalog: str, judged: str, row: list[Any]) -> Case:
    """One row of a ``[[cases]]`` table: [type, content, data, components or "refuse", avoid]."""
    type_, content, data, components, *avoid = row
    refuse = components == "refuse"
    return Case(
        catalog,
        type_,
        content,
        data,
        frozenset(() if refuse else components),
        frozenset(*avoid),
        exact=judged == "exactly",
        refuse=refuse,
    )


CASES: list[Case] = [
    _case(group["catalog"], group["judged"], row)
    for group in _DATA["cases"]
    for row in group["rows"]
]

#: the catalogs the planner is never tuned on (only their aggregate score is read)
HELD_OUT = frozenset(_DATA["held_out"])


@dataclass
class Outcome:
    case: Case
    components: list[str]
    passed: bool
    note: str


def judge(case: Case, preview: dict[str, Any]) -> Outcome:
    plan = preview.get("plan")
    valid = plan is not None and preview.get("validation", {}).get("valid")
    if case.refuse:
        if not valid:
            return Outcome(case, [], True, "")
        return Outcome(case, [s["component"] for s in plan["steps"]], False, "should refuse")
    if not valid:
        return Outcome(case, [], False, preview.get("message") or "no valid plan")
    used = [s["component"] for s in plan["steps"]]
    extra = set(used) - case.must_use if case.exact else case.avoid & set(used)
    missing = case.must_use - set(used)
    if missing or extra:
        note = "; ".join(
            part
            for part in (
                f"missing {', '.join(sorted(missing))}" if missing else "",
                f"should not use {', '.join(sorted(extra))}" if extra else "",
            )
            if part
        )
        return Outcome(case, used, False, note)
    return Outcome(case, used, True, "")


def run_eval(url: str) -> list[Outcome]:
    """Register each catalog in its own project on the server at ``url``; preview every case."""
    import httpx

    outcomes = []
    with httpx.Client(base_url=url, timeout=60) as client:
        keys = {}
        for catalog, services in CATALOGS.items():
            project = client.post("/register/project", json={"name": f"eval-{catalog}"}).json()
            keys[catalog] = project["apiKey"]
            for body in services:
                answer = client.post(
                    "/register/service",
                    json=body,
                    headers={"Authorization": f"Bearer {keys[catalog]}"},
                )
                answer.raise_for_status()
        for case in CASES:
            preview = client.post(
                "/orchestrations",
                json={**case.request(), "dryRun": True},
                headers={"Authorization": f"Bearer {keys[case.catalog]}"},
            )
            preview.raise_for_status()
            outcomes.append(judge(case, preview.json()))
    return outcomes


def report(outcomes: list[Outcome], *, show_held_out: bool = False) -> str:
    """Each training case's plan and the scores; the held-out cases only as a score unless
    ``show_held_out`` (whoever tunes the planner must not see them case by case)."""
    lines = []
    for o in outcomes:
        if o.case.catalog in HELD_OUT and not show_held_out:
            continue
        mark = "pass" if o.passed else "FAIL"
        lines.append(
            f"{mark}  {o.case.catalog:<22} {o.case.type:<18} {' → '.join(o.components) or '-'}"
            + (f"   ({o.note})" if o.note else "")
        )
    for label, part in (
        ("training catalogs", [o for o in outcomes if o.case.catalog not in HELD_OUT]),
        ("held-out catalogs", [o for o in outcomes if o.case.catalog in HELD_OUT]),
        ("all", outcomes),
    ):
        passed = sum(o.passed for o in part)
        lines.append(f"score, {label}: {passed}/{len(part)} = {passed / len(part):.3f}")
    return "\n".join(lines)


def score(outcomes: list[Outcome], *, held_out: bool | None = None) -> float:
    part = [o for o in outcomes if held_out is None or (o.case.catalog in HELD_OUT) == held_out]
    return sum(o.passed for o in part) / len(part)
