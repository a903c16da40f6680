"""Clear a project's cached plans, in memory and on disk: the next action of each shape is
planned afresh."""

from __future__ import annotations

from .runtime import Runtime

__all__ = ["clear_plan_cache"]


async def clear_plan_cache(runtime: Runtime, project_id: str) -> int:
    """How many plans were forgotten."""
    in_memory = runtime.planning.cache.forget_project(project_id)
    stored = await runtime.store.clear_plan_cache(project_id)
    return max(in_memory, stored)
