"""Issue 28's fresh eval is well formed: big enough, every label names something real, and the
frozen held-out split shares no case with the tuning split. No score floor yet (the planner has
not been fixed for issue 28); no server, so it stays fast."""

from __future__ import annotations

from planning.fresh import CATALOGS, CLASSES, SPLITS, FreshCase, edges_of, judge

ALL = [fresh for cases in SPLITS.values() for fresh in cases]


def _names(catalog: str) -> set[str]:
    return {service["name"] for service in CATALOGS[catalog]}


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


def test_every_expected_service_exists_in_its_catalog() -> None:
    for fresh in ALL:
        assert fresh.case.catalog in CATALOGS, fresh
        assert fresh.case.must_use <= _names(fresh.case.catalog), fresh


def test_every_edge_joins_two_expected_services() -> None:
    for fresh in ALL:
        for producer, consumer in fresh.edges:
            assert {producer, consumer} <= fresh.case.must_use, fresh
            assert producer != consumer, fresh


def test_refusals_and_single_steps_have_no_edges_and_chains_do() -> None:
    for fresh in ALL:
        if fresh.case.refuse or len(fresh.case.must_use) == 1:
            assert not fresh.edges, fresh
        else:
            assert fresh.edges, fresh
        if fresh.kind == "chain":
            assert fresh.edges, fresh


def test_every_edge_is_a_schema_flow() -> None:
    """A labelled dependency is one a schema shows: the producer outputs a field the consumer
    requires and the data does not carry."""
    for fresh in ALL:
        services = {s["name"]: s["schema"] for s in CATALOGS[fresh.case.catalog]}
        for producer, consumer in fresh.edges:
            made = set(services[producer]["output"]["properties"])
            needed = set(services[consumer]["input"]["required"]) - set(fresh.case.data)
            assert made & needed, fresh


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


def test_every_expected_plan_can_be_wired() -> None:
    for fresh in ALL:
        services = {s["name"]: s["schema"] for s in CATALOGS[fresh.case.catalog]}
        for name in fresh.case.must_use:
            made = {
                field
                for producer, consumer in fresh.edges
                if consumer == name
                for field in services[producer]["output"]["properties"]
            }
            given = set(fresh.case.data) | made | FREE_TEXT
            assert set(services[name]["input"]["required"]) <= given, (name, fresh)


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
