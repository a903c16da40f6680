"""Planning eval: how often the planner picks the right services, over four catalogs.

    python bench/planning_eval.py          # the offline schema-flow planner
    python bench/planning_eval.py --llm    # the LLM configured by ORRA_LLM_* (see docs/planner.md)

Starts an embedded control plane on a temporary DuckDB file, registers each catalog of
``tests/planning/catalogs.py`` in its own project, previews (``dryRun``) every case and prints
each training case's plan, and the scores (the held-out split only as a score, unless
``--show-held-out``). The floor the test suite holds the schema-flow planner to is recorded
in bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from planning.catalogs import report, run_eval  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--llm", action="store_true", help="plan with the configured LLM")
    parser.add_argument(
        "--show-held-out",
        action="store_true",
        help="print the held-out cases one by one too (not while tuning the planner)",
    )
    args = parser.parse_args()
    from orra_studio.embedded import EmbeddedServer

    with (
        tempfile.TemporaryDirectory() as tmp,
        EmbeddedServer(str(Path(tmp) / "eval.duckdb"), offline_planner=not args.llm) as server,
    ):
        started = time.perf_counter()
        outcomes = run_eval(server.url)
        took = time.perf_counter() - started
    print(report(outcomes, show_held_out=args.show_held_out))
    print(f"{len(outcomes)} previews in {took:.2f} s")


if __name__ == "__main__":
    main()
