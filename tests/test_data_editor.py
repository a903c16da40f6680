"""Compose's data form as pure functions: the fields a plan reads, the table that shows them,
and the data sent (issue 27: an input form from the action's data)."""

from __future__ import annotations

from orra_studio.studio.data_editor import data_needs, parse_data, problem_of, rows_of_data

SERVICES = [
    {
        "name": "order-lookup",
        "schema": {"input": {"type": "object", "properties": {"orderId": {"type": "string"}}}},
    },
    {
        "name": "refund",
        "schema": {
            "input": {
                "type": "object",
                "properties": {"orderId": {"type": "string"}, "amount": {"type": "number"}},
            }
        },
    },
]
PLAN = {
    "steps": [
        {"id": "step1", "component": "order-lookup", "input": {"orderId": "{{request.data.id}}"}},
        {
            "id": "step2",
            "component": "refund",
            "input": {"orderId": "{{request.data.id}}", "amount": "{{ request.data.amount }}"},
        },
    ]
}


def test_the_form_lists_each_field_the_plan_reads_with_its_type_and_services() -> None:
    needs = data_needs(PLAN, SERVICES)
    assert needs == {"id": "string, for order-lookup, refund", "amount": "number, for refund"}
    assert data_needs(None, SERVICES) == {}


def test_a_field_the_data_lacks_is_added_empty_and_not_sent_until_filled_in() -> None:
    needs = data_needs(PLAN, SERVICES)
    rows = rows_of_data({"id": "o-7", "note": {"vip": True}}, needs)
    assert rows.to_dict("records") == [
        {"field": "id", "value": "o-7", "for": "string, for order-lookup, refund"},
        {"field": "note", "value": '{"vip": true}', "for": ""},
        {"field": "amount", "value": "", "for": "number, for refund"},
    ]
    assert parse_data(rows) == {"id": "o-7", "note": {"vip": True}}  # "amount" not filled in
    rows.loc[2, "value"] = "12.5"
    assert parse_data(rows) == {"id": "o-7", "note": {"vip": True}, "amount": 12.5}


def test_the_json_view_names_its_problem_by_line_and_column() -> None:
    assert problem_of('{"a": 1}') is None
    assert problem_of('{\n  "a": }').startswith("line 2, column 8")
    assert "not a list" in problem_of("[1, 2]")
