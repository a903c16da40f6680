"""The schema-flow planner's score on the planning eval may not drop below its recorded floor."""

from __future__ import annotations

import re
from pathlib import Path

from planning.catalogs import CASES, CATALOGS, HELD_OUT, report, run_eval, score

from helpers import ServerProcess

RESULTS = Path(__file__).resolve().parents[2] / "bench" / "RESULTS.md"


def _floor(split: str) -> float:
    """The last of the floors RESULTS.md records for ``split`` (held-out or training)."""
    found = re.findall(rf"schema-flow eval floor \({split}\): ([0-9.]+)", RESULTS.read_text())
    assert found, f"bench/RESULTS.md must record 'schema-flow eval floor ({split}): <score>'"
    return float(found[-1])


def test_eval_is_big_enough() -> None:
    assert len(CASES) >= 100
    assert len(CATALOGS) >= 8 and len(HELD_OUT) >= 3
    assert all(8 <= len(services) <= 20 for services in CATALOGS.values())
    assert {c.catalog for c in CASES} == set(CATALOGS)


def test_schema_flow_score_holds_the_floor(live_server: ServerProcess) -> None:
    outcomes = run_eval(live_server.url)
    shown = report(outcomes)  # held-out cases only as their score
    assert score(outcomes, held_out=True) >= _floor("held-out"), shown
    assert score(outcomes, held_out=False) >= _floor("training"), shown
