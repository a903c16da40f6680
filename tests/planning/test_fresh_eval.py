"""Issue 28's fresh eval is well formed: big enough, every label names something real, and the
frozen held-out split shares no case with the tuning split. The later, held-out-only sets
(fresh2_catalogs.toml to fresh12_catalogs.toml) are checked the same way,
by tests parametrized over them: a data check, not a score. No server, so it stays fast."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
from planning.fresh import (
    CATALOGS,
    CLASSES,
    FILES,
    SPLITS,
    Catalogs,
    FreshCase,
    edges_of,
    judge,
    load,
)

ALL = [fresh for cases in SPLITS.values() for fresh in cases]


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


def _key(fresh: FreshCase) -> tuple[str, str]:
    return fresh.case.catalog, " ".join(fresh.case.content.lower().split())


def test_no_case_is_written_twice() -> None:
    held_out = {_key(f) for f in SPLITS["held-out"]}
    tuning = {_key(f) for f in SPLITS["tuning"]}
    assert not held_out & tuning
    assert len(held_out) == len(SPLITS["held-out"])
    assert len(tuning) == len(SPLITS["tuning"])


#: inputs a plan may fill from the request's content; every other required input must come from
#: the data or from a service the case expects upstream
FREE_TEXT = frozenset({"message", "query", "description", "brief", "criteria"})


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


# The later sets: fresh2_catalogs.toml to fresh12_catalogs.toml, held out only, each checked by
# the same tests (parametrized over SETS; the checks of labels and wiring over EVERY_SET, the
# first set too).

#: the fewest cases of each class a later set has (issue 28's classes and plain requests)
LATER_MINIMUM = {kind: 20 if kind == "plain" else 15 for kind in CLASSES}
JSON_TYPES: dict[str, Any] = {
    "string": str,
    "number": (int, float),
    "integer": int,
    "boolean": bool,
    "array": list,
    "object": dict,
}

#: the inputs each later set lets a plan fill from the content (each file's header says); the
#: fourth and later sets all name the same six
LATER_FREE_TEXT = {
    2: FREE_TEXT | {"notes", "reason", "text"},
    3: frozenset({"message", "query", "description", "reason", "text"}),
    **{
        n: frozenset({"message", "query", "text", "description", "notes", "reason"})
        for n in range(4, max(FILES) + 1)
    },
}
#: each later set's split tables by file, to tell a set from the others
LATER_SPLITS = {}
LATER_CATALOGS = {}
for _n in LATER_FREE_TEXT:
    LATER_CATALOGS[_n], LATER_SPLITS[_n] = load(FILES[_n])

#: each later set: its held-out cases, its catalogs and the inputs it may fill from the content
SETS = [
    pytest.param(LATER_SPLITS[n].get("held-out", []), LATER_CATALOGS[n], free_text, id=f"fresh{n}")
    for n, free_text in LATER_FREE_TEXT.items()
]
#: every set, the first's two splits together, for the checks of labels and wiring they share
EVERY_SET = [pytest.param(ALL, CATALOGS, FREE_TEXT, id="fresh1"), *SETS]


def _schemas(fresh: FreshCase, catalogs: Catalogs) -> dict[str, dict[str, Any]]:
    return {s["name"]: s["schema"] for s in catalogs[fresh.case.catalog]}


def _other_sets(cases: list[FreshCase]) -> list[FreshCase]:
    """Every case of every set (the first's splits included) but the given set's."""
    return ALL + [
        fresh
        for splits in LATER_SPLITS.values()
        if splits.get("held-out") is not cases
        for fresh in splits.get("held-out", [])
    ]


@pytest.mark.parametrize(("cases", "catalogs", "free_text"), SETS)
def test_a_later_set_is_held_out_only_and_big_enough(
    cases: list[FreshCase], catalogs: Catalogs, free_text: frozenset[str]
) -> None:
    splits = next(s for s in LATER_SPLITS.values() if s.get("held-out") is cases)
    assert set(splits) == {"held-out"}
    assert len(catalogs) >= 8
    assert all(8 <= len(services) <= 11 for services in catalogs.values())
    assert len(cases) >= 130
    assert {f.case.catalog for f in cases} == set(catalogs)
    assert sum(f.case.refuse for f in cases) >= 16
    assert {f.kind for f in cases} <= set(CLASSES)
    for kind, least in LATER_MINIMUM.items():
        assert sum(f.kind == kind for f in cases) >= least, kind


@pytest.mark.parametrize(("cases", "catalogs", "free_text"), SETS)
def test_a_later_sets_domains_are_new(
    cases: list[FreshCase], catalogs: Catalogs, free_text: frozenset[str]
) -> None:
    """No catalog of the set is named in any other data file: catalogs.toml,
    schema_flow_catalogs.toml or another fresh set."""
    here = Path(__file__).parent
    used: set[str] = set()
    for name in ("catalogs.toml", "schema_flow_catalogs.toml"):
        data = tomllib.loads((here / name).read_text(encoding="utf-8"))
        used |= set(data.get("catalogs", data))
    for path in FILES.values():
        others = set(load(path)[0])
        if others != set(catalogs):
            used |= others
    assert not set(catalogs) & used


@pytest.mark.parametrize(("cases", "catalogs", "free_text"), SETS)
def test_a_later_sets_services_are_described_and_typed(
    cases: list[FreshCase], catalogs: Catalogs, free_text: frozenset[str]
) -> None:
    for services in catalogs.values():
        names = [s["name"] for s in services]
        assert len(names) == len(set(names))
        for service in services:
            assert service["description"].strip(), service["name"]
            for side in ("input", "output"):  # a service may take nothing (the site's weather)
                fields = service["schema"][side]["properties"].values()
                assert fields or side == "input", service["name"]
                assert all(f["type"] in JSON_TYPES for f in fields), service["name"]


@pytest.mark.parametrize(("cases", "catalogs", "free_text"), EVERY_SET)
def test_every_label_names_a_service_of_its_catalog(
    cases: list[FreshCase], catalogs: Catalogs, free_text: frozenset[str]
) -> None:
    for fresh in cases:
        assert fresh.case.catalog in catalogs, fresh
        names = {s["name"] for s in catalogs[fresh.case.catalog]}
        assert fresh.case.must_use <= names, fresh
        assert fresh.case.refuse or fresh.case.must_use, fresh
        for producer, consumer in fresh.edges:
            assert {producer, consumer} <= fresh.case.must_use, fresh
            assert producer != consumer, fresh
        if fresh.case.refuse or len(fresh.case.must_use) == 1:
            assert not fresh.edges, fresh
        if fresh.kind == "chain" and not fresh.case.refuse:  # (two services may also run side
            # by side, both from data; a chain nothing can finish is refused)
            assert fresh.edges, fresh


@pytest.mark.parametrize(("cases", "catalogs", "free_text"), EVERY_SET)
def test_every_edge_is_a_schema_flow(
    cases: list[FreshCase], catalogs: Catalogs, free_text: frozenset[str]
) -> None:
    """A labelled dependency is one a schema shows: the producer outputs a field the consumer
    requires and the data does not carry."""
    for fresh in cases:
        schemas = _schemas(fresh, catalogs)
        for producer, consumer in fresh.edges:
            made = set(schemas[producer]["output"]["properties"])
            needed = set(schemas[consumer]["input"]["required"]) - set(fresh.case.data)
            assert made & needed, fresh


@pytest.mark.parametrize(("cases", "catalogs", "free_text"), EVERY_SET)
def test_every_expected_plan_can_be_wired(
    cases: list[FreshCase], catalogs: Catalogs, free_text: frozenset[str]
) -> None:
    """Every required input of every expected service comes from the data, from the content
    (one of the set's free-text fields) or from an expected service upstream of it; the data's
    values have the types the services declare."""
    for fresh in cases:
        schemas = _schemas(fresh, catalogs)
        for name in fresh.case.must_use:
            made = {
                field
                for producer, consumer in fresh.edges
                if consumer == name
                for field in schemas[producer]["output"]["properties"]
            }
            given = set(fresh.case.data) | made | free_text
            assert set(schemas[name]["input"]["required"]) <= given, (name, fresh)
            for field, spec in schemas[name]["input"]["properties"].items():
                if field in fresh.case.data:
                    value = fresh.case.data[field]
                    assert isinstance(value, JSON_TYPES[spec["type"]]), (name, field, fresh)
                    assert spec["type"] == "boolean" or not isinstance(value, bool), fresh


@pytest.mark.parametrize(("cases", "catalogs", "free_text"), SETS)
def test_no_later_set_case_is_written_twice(
    cases: list[FreshCase], catalogs: Catalogs, free_text: frozenset[str]
) -> None:
    """Within the set, and across every other set (the first's splits included)."""
    keys = [_key(f) for f in cases]
    assert len(set(keys)) == len(keys)
    assert not set(keys) & {_key(f) for f in _other_sets(cases)}
