"""Step ids are parsed with ASCII grammars: ``str.isdigit`` and ``\\d`` accept ``²``, on which
``int`` raises (a plan step called ``step²`` once stopped every start of the control plane)."""

from __future__ import annotations

from orra_server.planning.remainder import next_step_number
from orra_server.planning.schema_flow import _number
from orra_server.store.reads import _step_order


def test_a_step_order_never_raises_whatever_the_id():
    ids = ["step10", "step²", "step2", "s٣", "plain", "step" + "9" * 5000]
    ordered = sorted(ids, key=_step_order)
    assert ordered.index("step2") < ordered.index("step10")
    assert _step_order("step²")[0] == _step_order("plain")[0]  # no ASCII digit: last


def test_the_next_step_number_counts_only_ascii_numbered_ids():
    assert next_step_number(["step1", "step²", "step3", "step٤"]) == 4
    assert next_step_number(["step²"]) == 1
    assert next_step_number(["step" + "9" * 5000]) == 1  # not a number a plan could use


def test_the_schema_flow_planner_reads_only_its_own_step_numbers():
    assert _number("step12") == 12
    assert _number("step²") == 0
