"""The schema-flow planner's score on the planning eval may not drop below its recorded floor."""

from __future__ import annotations

import re
from pathlib import Path

from catalogs import CASES, CATALOGS, HELD_OUT, report, run_eval, score

from helpers import ServerProcess

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "RESULTS.md"


def _floor() -> float:
    found = re.search(r"schema-flow eval floor: ([0-9.]+)", RESULTS.read_text())
    assert found, "bench/RESULTS.md must record 'schema-flow eval floor: <score>'"
    return float(found.group(1))


def test_eval_is_big_enough() -> None:
    assert len(CASES) >= 30
    assert len(CATALOGS) - len(HELD_OUT) >= 3
    assert {c.catalog for c in CASES} == set(CATALOGS)


def test_schema_flow_score_holds_the_floor(live_server: ServerProcess) -> None:
    outcomes = run_eval(live_server.url)
    print("\n" + report(outcomes))
    assert score(outcomes) >= _floor(), report(outcomes)
