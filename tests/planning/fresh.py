"""Issue 28's fresh evaluation: catalogs and phrasings the planner was never tuned on.

The data is ``fresh_catalogs.toml`` beside this module: ten catalogs, a frozen held-out split and
a tuning split (the module-level ``CATALOGS`` and ``SPLITS``). ``fresh2_catalogs.toml``,
``fresh3_catalogs.toml`` … ``fresh12_catalogs.toml`` are a second to a twelfth held-out-only set
over nine or ten more catalogs each; ``load(FILES[2])`` to ``load(FILES[9])`` read them. Each
case names the exact set of services a correct plan uses and the exact dependencies between
them, and the failure class of issue 28 it exercises, so that a change to the planner can be
scored per class. A plan is exact when both sets match; a refusal case is exact when the
orchestration is NOT_ACTIONABLE. ``bench/planner_fresh_eval.py`` runs it; ``test_fresh_eval.py``
checks the data is well formed (not a score).
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planning.eval_model import Case, services_from

__all__ = [
    "CATALOGS",
    "CLASSES",
    "Catalogs",
    "FILES",
    "SPLITS",
    "FreshCase",
    "Verdict",
    "edges_of",
    "judge",
    "load",
    "names_the_closest",
    "run_fresh",
    "show",
    "summary",
]

#: the eval's data files by set: 1 has a held-out and a tuning split, 2 to 12 a held-out split
#: only
FILES = {
    1: Path(__file__).parent / "fresh_catalogs.toml",
    **{n: Path(__file__).parent / f"fresh{n}_catalogs.toml" for n in range(2, 13)},
}

#: the failure classes of issue 28, and ``plain`` for requests that exercise none of them
CLASSES = (
    "context-clause",
    "cliff",
    "exact-data-fit",
    "over-planning",
    "chain",
    "word-sense",
    "plain",
)

Edge = tuple[str, str]


@dataclass(frozen=True)
class FreshCase:
    """An eval case (the request and the exact components, as the old eval's ``Case``) plus
    the dependencies a correct plan has between them and the class it exercises."""

    case: Case
    edges: frozenset[Edge]
    kind: str
    split: str


def _fresh_case(split: str, catalog: str, row: list[Any]) -> FreshCase:
    """One row of a split's table: [class, type, content, {data}, components or "refuse", edges]."""
    kind, type_, content, data, components, edges = row
    refuse = components == "refuse"
    case = Case(
        catalog,
        type_,
        content,
        data,
        frozenset(() if refuse else components),
        exact=True,
        refuse=refuse,
    )
    return FreshCase(case, frozenset((p, c) for p, c in edges), kind, split)


Catalogs = dict[str, list[dict[str, Any]]]
Splits = dict[str, list[FreshCase]]


def load(path: Path) -> tuple[Catalogs, Splits]:
    """A data file's catalogs (their registrations by name) and the cases of each split it has
    (``held-out`` from its ``[[held_out]]`` tables, ``tuning`` from its ``[[tuning]]`` ones), in
    the order they are previewed."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    catalogs = {name: services_from(rows) for name, rows in data["catalogs"].items()}
    splits = {
        split: [
            _fresh_case(split, group["catalog"], row)
            for group in data[key]
            for row in group["rows"]
        ]
        for split, key in (("held-out", "held_out"), ("tuning", "tuning"))
        if key in data
    }
    return catalogs, splits


#: the first set's catalogs and splits
CATALOGS, SPLITS = load(FILES[1])


@dataclass(frozen=True)
class Verdict:
    fresh: FreshCase
    components: frozenset[str]
    edges: frozenset[Edge]
    refused: bool
    exact: bool
    message: str


def edges_of(plan: dict[str, Any]) -> frozenset[Edge]:
    """A plan's dependencies as (producer, consumer) service pairs, from each step's
    ``dependencies`` (the step ids it waits for)."""
    component = {step["id"]: step["component"] for step in plan["steps"]}
    return frozenset(
        (component[dep], step["component"])
        for step in plan["steps"]
        for dep in step.get("dependencies") or ()
        if dep in component
    )


def judge(fresh: FreshCase, preview: dict[str, Any]) -> Verdict:
    """Exact when a refusal case is NOT_ACTIONABLE, or a plan case's valid plan uses exactly
    the expected services with exactly the expected dependencies between them."""
    refused = preview.get("status") == "NOT_ACTIONABLE"
    plan = preview.get("plan")
    valid = bool(plan) and bool(preview.get("validation", {}).get("valid"))
    components = frozenset(s["component"] for s in plan["steps"]) if plan else frozenset()
    edges = edges_of(plan) if plan else frozenset()
    if fresh.case.refuse:
        exact = refused
    else:
        exact = valid and components == fresh.case.must_use and edges == fresh.edges
    return Verdict(fresh, components, edges, refused, exact, preview.get("message") or "")


def run_fresh(
    url: str, split: str, catalogs: Catalogs | None = None, splits: Splits | None = None
) -> list[Verdict]:
    """Register each catalog in its own project on the server at ``url``; preview every case
    of ``split`` (dryRun: nothing runs). The first set's unless ``catalogs`` and ``splits``
    (from ``load``) are given."""
    import httpx

    catalogs = CATALOGS if catalogs is None else catalogs
    cases = (SPLITS if splits is None else splits)[split]
    verdicts = []
    with httpx.Client(base_url=url, timeout=60) as client:
        keys = {}
        for catalog in sorted({c.case.catalog for c in cases}):
            project = client.post("/register/project", json={"name": f"fresh-{catalog}"}).json()
            keys[catalog] = project["apiKey"]
            for body in catalogs[catalog]:
                client.post(
                    "/register/service",
                    json=body,
                    headers={"Authorization": f"Bearer {keys[catalog]}"},
                ).raise_for_status()
        for fresh in cases:
            preview = client.post(
                "/orchestrations",
                json={**fresh.case.request(), "dryRun": True},
                headers={"Authorization": f"Bearer {keys[fresh.case.catalog]}"},
            )
            preview.raise_for_status()
            verdicts.append(judge(fresh, preview.json()))
    return verdicts


def _rate(part: int, whole: int) -> str:
    return f"{part}/{whole} = {part / whole:.3f}" if whole else "-"


def summary(verdicts: Iterable[Verdict], catalogs: Catalogs | None = None) -> str:
    """Aggregates only (safe to print for the held-out split): exact plans and refusals,
    overall and per class. ``refused`` counts every NOT_ACTIONABLE answer; ``wrongly refused``
    those of cases that expected a plan. ``catalogs``: the set's (the first set's if not
    given)."""
    verdicts = list(verdicts)
    rows = [("all", verdicts)] + [
        (kind, [v for v in verdicts if v.fresh.kind == kind]) for kind in CLASSES
    ]
    lines = [f"{'class':<16} {'cases':>5}  {'exact':>15}  {'refused':>15}  {'wrongly refused':>15}"]
    for label, part in rows:
        if not part:
            continue
        expect_plan = [v for v in part if not v.fresh.case.refuse]
        lines.append(
            f"{label:<16} {len(part):>5}  {_rate(sum(v.exact for v in part), len(part)):>15}"
            f"  {_rate(sum(v.refused for v in part), len(part)):>15}"
            f"  {_rate(sum(v.refused for v in expect_plan), len(expect_plan)):>15}"
        )
    refusals = [v for v in verdicts if v.fresh.case.refuse]
    lines.append(f"refusal cases refused: {_rate(sum(v.refused for v in refusals), len(refusals))}")
    refused = [v for v in verdicts if v.refused]
    named = sum(names_the_closest(v, catalogs) for v in refused)
    lines.append(f"refusals that name the closest service: {_rate(named, len(refused))}")
    return "\n".join(lines)


def names_the_closest(verdict: Verdict, catalogs: Catalogs | None = None) -> bool:
    """Its refusal names one of the catalog's services as the closest (issue 28)."""
    catalogs = CATALOGS if catalogs is None else catalogs
    names = {service["name"] for service in catalogs[verdict.fresh.case.catalog]}
    return any(f"closest: {name}" in verdict.message for name in names)


def show(verdicts: Iterable[Verdict]) -> str:
    """Each case's plan against the expected one (for the tuning split only)."""
    lines = []
    for v in verdicts:
        assert v.fresh.split != "held-out", "the held-out split is never shown case by case"
        c = v.fresh.case
        expected = "refuse" if c.refuse else _plan_text(c.must_use, v.fresh.edges)
        got = "refused" if v.refused else _plan_text(v.components, v.edges)
        lines.append(
            f"{'pass' if v.exact else 'FAIL'}  {v.fresh.kind:<14} {c.catalog:<19} {c.content!r}"
        )
        if not v.exact:
            lines.append(f"      expected {expected}")
            lines.append(f"      got      {got}" + (f"  ({v.message})" if v.refused else ""))
    return "\n".join(lines)


def _plan_text(components: frozenset[str], edges: frozenset[Edge]) -> str:
    chained = ", ".join(f"{p} → {c}" for p, c in sorted(edges))
    return "{" + ", ".join(sorted(components)) + "}" + (f" edges {chained}" if chained else "")
