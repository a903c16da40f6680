"""The engine: runs plans as DAGs over connected services (see README.md beside this file)."""

from .engine import Engine, run_from_rows
from .run import TERMINAL, Run, StepState

__all__ = ["TERMINAL", "Engine", "Run", "StepState", "run_from_rows"]
