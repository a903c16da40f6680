"""The schema-flow planner and the plan validator (pure functions: no server needed)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from orra_server.planning import (
    RULES,
    Plan,
    PlanningRequest,
    PlanStep,
    SchemaFlowPlanner,
    ServiceSpec,
    execution_levels,
    validate_plan,
)
from orra_server.planning.cache import PlanCache, services_fingerprint
from orra_server.planning.prompt import plan_messages
from orra_server.store import StoredService


def service(name, description, inputs, outputs, required=None):
    return ServiceSpec(
        name=name,
        description=description,
        input_schema={
            "type": "object",
            "properties": {k: {"type": t} for k, t in inputs.items()},
            "required": list(inputs) if required is None else required,
        },
        output_schema={
            "type": "object",
            "properties": {k: {"type": t} for k, t in outputs.items()},
        },
    )


SEED = [
    service(
        "customer-data-service",
        "Retrieves a customer's profile by customer id.",
        {"customerId": "string"},
        {"customerProfile": "object"},
    ),
    service(
        "product-catalog-service",
        "Finds products relevant to a customer inquiry.",
        {"inquiry": "string"},
        {"relevantProducts": "array"},
    ),
    service(
        "seller-data-service",
        "Retrieves a seller's profile by seller id.",
        {"sellerId": "string"},
        {"sellerProfile": "object"},
    ),
    service(
        "ai-assistant-service",
        "Composes a reply to a customer inquiry from the customer's profile, relevant "
        "products and the seller's profile.",
        {
            "customerProfile": "object",
            "relevantProducts": "array",
            "sellerProfile": "object",
            "inquiry": "string",
        },
        {"content": "string"},
    ),
]
ACTION = {"type": "customer-inquiry", "content": "Tell me about your product's features"}
DATA = {"customerId": "c1", "sellerId": "s1"}


def plan_for(services, action=ACTION, data=DATA):
    return SchemaFlowPlanner().plan_sync(PlanningRequest(action, data, services))


def test_seed_plan_is_deterministic_and_valid():
    first, second = plan_for(SEED), plan_for(list(reversed(SEED)))
    assert first.plan is not None
    assert first.plan.model_dump() == second.plan.model_dump()
    assert first.plan.parallelExecutionGroups == [["step1", "step2", "step3"], ["step4"]]
    by_name = {s.name: s for s in SEED}
    assert validate_plan(first.plan, by_name, action=ACTION, data=DATA) == []


def test_data_field_names_match_across_case_and_separators():
    services = [
        service(
            "profile-service",
            "Retrieves a customer profile",
            {"customer_id": "string"},
            {"profile": "object"},
        )
    ]
    outcome = plan_for(services, {"type": "customer-profile", "content": ""}, {"customerId": "c1"})
    assert outcome.plan.steps[0].input == {"customer_id": "{{request.data.customerId}}"}


def test_unrelated_action_is_not_actionable_with_reason():
    outcome = plan_for(SEED, {"type": "book-flight", "content": "to Lisbon on Friday"})
    assert outcome.plan is None
    assert "book-flight" in outcome.reason


def test_no_services_is_not_actionable():
    assert "no services" in plan_for([]).reason


def test_execution_levels():
    steps = [
        PlanStep(id="a", component="x"),
        PlanStep(id="b", component="x", dependencies=["a"]),
        PlanStep(id="c", component="x"),
        PlanStep(id="d", component="x", dependencies=["b", "c"]),
    ]
    assert execution_levels(steps) == [["a", "c"], ["b"], ["d"]]


def _valid_plan() -> Plan:
    return plan_for(SEED).plan


RULE_CASES = [
    (lambda p: setattr(p.steps[0], "component", "nope-service"), "unknown_component"),
    (lambda p: p.steps[0].input.pop("customerId"), "missing_required_input"),
    (
        lambda p: p.steps[0].input.update(customerId="{{request.data.missing}}"),
        "unresolvable_reference",
    ),
    (lambda p: p.steps[3].input.update(inquiry="{{step9.output.x}}"), "unresolvable_reference"),
    (
        lambda p: p.steps[3].input.update(inquiry="{{step1.output.nothing}}"),
        "unknown_output_field",
    ),
    (lambda p: p.steps[3].dependencies.remove("step1"), "reference_not_dependency"),
    (lambda p: p.steps[0].dependencies.append("step4"), "cycle"),
    (lambda p: setattr(p.steps[1], "id", "step1"), "duplicate_step_id"),
    (lambda p: p.steps[0].dependencies.append("step77"), "unknown_dependency"),
    (lambda p: p.steps.clear(), "empty_plan"),
    (lambda p: p.steps[0].input.update(customerId=42), "invalid_literal_input"),
    (
        lambda p: p.steps.append(
            PlanStep(id="step5", component="seller-data-service", input={"sellerId": "s9"})
        ),
        "dangling_step",
    ),
]


@pytest.mark.parametrize(("mutate", "rule"), RULE_CASES)
def test_each_validator_rule_fails(mutate, rule):
    plan = _valid_plan()
    assert validate_plan(plan, {s.name: s for s in SEED}, action=ACTION, data=DATA) == []
    mutate(plan)
    errors = validate_plan(plan, {s.name: s for s in SEED}, action=ACTION, data=DATA)
    assert rule in {e.rule for e in errors}, errors
    assert all(e.message for e in errors)


def test_unknown_input_field_when_the_schema_is_closed():
    closed = list(SEED)
    closed[0] = replace(
        SEED[0], input_schema={**SEED[0].input_schema, "additionalProperties": False}
    )
    plan = _valid_plan()
    plan.steps[0].input["region"] = "eu"
    errors = validate_plan(plan, {s.name: s for s in closed}, action=ACTION, data=DATA)
    assert [(e.rule, e.field) for e in errors] == [("unknown_input_field", "region")]
    # an open schema takes extra fields
    assert validate_plan(plan, {s.name: s for s in SEED}, action=ACTION, data=DATA) == []


def test_missing_capability_of_the_grounding_use_case():
    plan = _valid_plan()
    by_name = {s.name: s for s in SEED}
    covered = ["Retrieve the seller profile", "Compose a reply"]
    assert validate_plan(plan, by_name, action=ACTION, data=DATA, capabilities=covered) == []
    errors = validate_plan(
        plan, by_name, action=ACTION, data=DATA, capabilities=[*covered, "Issue a refund"]
    )
    assert [e.rule for e in errors] == ["missing_capability"]
    assert "'Issue a refund'" in errors[0].message


def test_every_rule_has_a_failing_test():
    tested = {rule for _, rule in RULE_CASES} | {"unknown_input_field", "missing_capability"}
    assert set(RULES) == tested


def test_literal_inputs_that_fit_pass():
    plan = _valid_plan()
    plan.steps[0].input["customerId"] = "cust-literal"
    assert validate_plan(plan, {s.name: s for s in SEED}, action=ACTION, data=DATA) == []


def test_content_shape_and_values_copied_into_a_plan():
    from orra_server.planning.cache import content_shape, embeds_content_values

    assert content_shape("Where is order ORD-123?") == content_shape("where is  order 98765?")
    assert content_shape("Where is order 1?") != content_shape("Cancel order 1")
    plan = _valid_plan()
    assert not embeds_content_values(plan, "Tell me about order 4411")
    plan.steps[0].input["customerId"] = "4411"  # a value copied out of the content
    assert embeds_content_values(plan, "Tell me about order 4411")


def test_the_plan_cache_key_and_the_prompt_stay_as_they_were():
    """Pinned: a changed services fingerprint or cache key orphans every cached plan (the
    store keeps them across restarts), and a changed prompt changes what the LLM plans. The
    store's service rows are planned on as they are, with the same key as hand-built ones."""
    fingerprint = services_fingerprint(SEED)
    assert fingerprint == "eb97ed26fe65cfa8"
    key = PlanCache.key("p_1", ACTION, list(DATA), fingerprint, None)
    assert PlanCache.digest(key) == (
        "6b4d2fdecce682b8524a5d67346b252c07c1def2076da796c6e47bfc398a5f40"
    )
    messages = plan_messages(PlanningRequest(ACTION, DATA, SEED))
    assert hashlib.sha256(json.dumps(messages).encode()).hexdigest() == (
        "efb4e9f433fc055faea4a1347b72597ed46c36e5d2709906d3829fd9c0500ba2"
    )
    at = datetime(2026, 12, 7, tzinfo=UTC)
    stored = [
        StoredService(
            f"s_{i}",
            "p_1",
            s.name,
            "service",
            s.description,
            s.input_schema,
            s.output_schema,
            False,
            1,
            at,
            at,
        )
        for i, s in enumerate(SEED)
    ]
    assert services_fingerprint(stored) == fingerprint
    assert plan_messages(PlanningRequest(ACTION, DATA, stored)) == messages
    assert plan_for(stored).plan.model_dump() == plan_for(SEED).plan.model_dump()
