"""Issue 28's fresh eval is well formed: big enough, every label names something real, and the
frozen held-out split shares no case with the tuning split. The second, held-out-only set
(fresh2_catalogs.toml) is checked the same way: a data check, not a score. No server, so it
stays fast."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from planning.fresh import CATALOGS, CLASSES, FILES, SPLITS, FreshCase, edges_of, judge, load

ALL = [fresh for cases in SPLITS.values() for fresh in cases]
SECOND_CATALOGS, SECOND_SPLITS = load(FILES[2])
SECOND = SECOND_SPLITS.get("held-out", [])

#: inputs a plan may fill from the request's content; every other required input must come from
#: the data or from a service the case expects upstream
FREE_TEXT = frozenset({"message", "query", "description", "brief", "criteria"})
#: the second set's free-text inputs (its header says)
SECOND_FREE_TEXT = FREE_TEXT | {"notes", "reason", "text"}
#: each set's cases, catalogs and free-text inputs, for the checks both sets must pass
SETS = [
    pytest.param(ALL, CATALOGS, FREE_TEXT, id="set-1"),
    pytest.param(SECOND, SECOND_CATALOGS, SECOND_FREE_TEXT, id="set-2"),
]


def test_the_eval_is_big_enough() -> None:
    assert len(CATALOGS) >= 8
    assert all(6 <= len(services) <= 10 for services in CATALOGS.values())
    assert len(SPLITS["held-out"]) >= 120
    assert len(SPLITS["tuning"]) >= 40
    assert {f.case.catalog for f in SPLITS["held-out"]} == set(CATALOGS)
    assert 0 < sum(f.case.refuse for f in SPLITS["held-out"]) < len(SPLITS["held-out"]) // 5


def test_every_class_is_known_and_exercised() -> None:
    assert {f.kind for f in ALL} <= set(CLASSES)
    for cases in SPLITS.values():
        assert {f.kind for f in cases} == set(CLASSES)


@pytest.mark.parametrize("cases, catalogs, free_text", SETS)
def test_every_label_names_services_of_its_catalog(cases, catalogs, free_text) -> None:
    for fresh in cases:
        assert fresh.case.catalog in catalogs, fresh
        names = {service["name"] for service in catalogs[fresh.case.catalog]}
        assert fresh.case.must_use <= names, fresh
        assert fresh.case.refuse or fresh.case.must_use, fresh
        for producer, consumer in fresh.edges:
            assert {producer, consumer} <= fresh.case.must_use, fresh
            assert producer != consumer, fresh


@pytest.mark.parametrize("cases, catalogs, free_text", SETS)
def test_refusals_and_single_steps_have_no_edges_and_chains_do(cases, catalogs, free_text) -> None:
    for fresh in cases:
        if fresh.case.refuse or len(fresh.case.must_use) == 1:
            assert not fresh.edges, fresh
        else:
            assert fresh.edges, fresh
        if fresh.kind == "chain":
            assert fresh.edges, fresh


@pytest.mark.parametrize("cases, catalogs, free_text", SETS)
def test_every_edge_is_a_schema_flow(cases, catalogs, free_text) -> None:
    """A labelled dependency is one a schema shows: the producer outputs a field the consumer
    requires and the data does not carry."""
    for fresh in cases:
        services = {s["name"]: s["schema"] for s in catalogs[fresh.case.catalog]}
        for producer, consumer in fresh.edges:
            made = set(services[producer]["output"]["properties"])
            needed = set(services[consumer]["input"]["required"]) - set(fresh.case.data)
            assert made & needed, fresh


@pytest.mark.parametrize("cases, catalogs, free_text", SETS)
def test_every_expected_plan_can_be_wired(cases, catalogs, free_text) -> None:
    """Every required input of every expected service comes from the data, from the content
    (a free-text field) or from an expected service upstream of it."""
    for fresh in cases:
        services = {s["name"]: s["schema"] for s in catalogs[fresh.case.catalog]}
        for name in fresh.case.must_use:
            made = {
                field
                for producer, consumer in fresh.edges
                if consumer == name
                for field in services[producer]["output"]["properties"]
            }
            given = set(fresh.case.data) | made | free_text
            assert set(services[name]["input"]["required"]) <= given, (name, fresh)


def _key(fresh: FreshCase) -> tuple[str, str]:
    return fresh.case.catalog, " ".join(fresh.case.content.lower().split())


def test_no_case_is_written_twice() -> None:
    held_out = {_key(f) for f in SPLITS["held-out"]}
    tuning = {_key(f) for f in SPLITS["tuning"]}
    assert not held_out & tuning
    assert len(held_out) == len(SPLITS["held-out"])
    assert len(tuning) == len(SPLITS["tuning"])


def test_a_plan_is_exact_only_with_the_expected_wiring() -> None:
    """The judge reads edges from the steps' dependencies: the right services wired wrongly
    (both from the request, no fetch before the summary) are not an exact plan."""
    fresh = next(f for f in SPLITS["tuning"] if f.case.catalog == "web-ops" and f.kind == "chain")
    fetch = {"id": "step1", "component": "page-fetcher", "dependencies": []}
    summary = {"id": "step2", "component": "summarizer", "dependencies": ["step1"]}
    wired = {"plan": {"steps": [fetch, summary]}, "validation": {"valid": True}}
    assert edges_of(wired["plan"]) == {("page-fetcher", "summarizer")}
    assert judge(fresh, wired).exact
    unwired = {
        "plan": {"steps": [fetch, {**summary, "dependencies": []}]},
        "validation": {"valid": True},
    }
    assert not judge(fresh, unwired).exact
    refused = {"plan": None, "status": "NOT_ACTIONABLE", "validation": {"valid": False}}
    assert judge(fresh, refused).refused and not judge(fresh, refused).exact


# The second set: fresh2_catalogs.toml, held out only.

#: the fewest cases of each class the second set has (issue 28's classes and plain requests)
SECOND_MINIMUM = {kind: 20 if kind == "plain" else 15 for kind in CLASSES}
JSON_TYPES: dict[str, Any] = {
    "string": str,
    "number": (int, float),
    "integer": int,
    "boolean": bool,
    "array": list,
    "object": dict,
}


def _schemas(fresh: FreshCase) -> dict[str, dict[str, Any]]:
    return {s["name"]: s["schema"] for s in SECOND_CATALOGS[fresh.case.catalog]}


def test_the_second_set_is_held_out_only_and_big_enough() -> None:
    assert set(SECOND_SPLITS) == {"held-out"}
    assert len(SECOND_CATALOGS) >= 8
    assert all(8 <= len(services) <= 11 for services in SECOND_CATALOGS.values())
    assert len(SECOND) >= 130
    assert {f.case.catalog for f in SECOND} == set(SECOND_CATALOGS)
    assert sum(f.case.refuse for f in SECOND) >= 16
    assert {f.kind for f in SECOND} <= set(CLASSES)
    for kind, least in SECOND_MINIMUM.items():
        assert sum(f.kind == kind for f in SECOND) >= least, kind


def test_the_second_sets_domains_are_new() -> None:
    here = Path(__file__).parent
    used = set(CATALOGS)
    for name in ("catalogs.toml", "schema_flow_catalogs.toml"):
        data = tomllib.loads((here / name).read_text(encoding="utf-8"))
        used |= set(data.get("catalogs", data))
    assert not set(SECOND_CATALOGS) & used


def test_the_second_sets_services_are_described_and_typed() -> None:
    for services in SECOND_CATALOGS.values():
        names = [s["name"] for s in services]
        assert len(names) == len(set(names))
        for service in services:
            assert service["description"].strip(), service["name"]
            for side in ("input", "output"):
                fields = service["schema"][side]["properties"].values()
                assert fields and all(f["type"] in JSON_TYPES for f in fields), service["name"]


def test_the_second_sets_data_has_the_types_its_services_declare() -> None:
    for fresh in SECOND:
        schemas = _schemas(fresh)
        for name in fresh.case.must_use:
            for field, spec in schemas[name]["input"]["properties"].items():
                if field in fresh.case.data:
                    value = fresh.case.data[field]
                    assert isinstance(value, JSON_TYPES[spec["type"]]), (name, field, fresh)
                    assert spec["type"] == "boolean" or not isinstance(value, bool), fresh


def test_no_second_set_case_is_written_twice() -> None:
    keys = [_key(f) for f in SECOND]
    assert len(set(keys)) == len(keys)
    first = {_key(f) for f in ALL}
    assert not set(keys) & first
