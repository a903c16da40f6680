"""From an action to a validated plan, or to the reasons there is none.

    grounding check → plan cache → LLM (with repair rounds) → schema-flow → NOT_ACTIONABLE

Each stage is recorded in the plan's provenance: who made it (``llm``, ``schema-flow``, ``cache``,
``caller``), the model, each round's validator errors and the model's reasoning, the LLM calls,
and whether the cache hit. The API stores the provenance with the orchestration's events.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ..settings import LLMSettings
from .base import PlanningRequest, PlanOutcome
from .cache import CacheBacking, CachedPlan, PlanCache, embeds_content_values
from .extract import NoJSONFound, extract_json
from .grounding_spec import best_service_for
from .plan import Plan, execution_levels
from .prompt import plan_messages, repair_message
from .schema_flow import SchemaFlowPlanner
from .validator import PlanError, validate_plan

if TYPE_CHECKING:  # the openai client costs half a second to import: only with an LLM
    from .llm import LLMClient

__all__ = ["PlanMaker", "PlanResult"]


@dataclass(slots=True)
class PlanResult:
    plan: Plan | None
    #: why there is no plan (the orchestration ends NOT_ACTIONABLE with it)
    reason: str | None
    provenance: dict[str, Any]
    #: the validator's errors for the plan finally offered (empty when it is valid)
    errors: list[PlanError] = field(default_factory=list)
    #: every chat-completions attempt, for ``llm_call`` events
    llm_calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def cache(self) -> str:
        return self.provenance.get("cache", "skip")


class PlanMaker:
    def __init__(
        self,
        llm: LLMSettings | None = None,
        cache_size: int = 4096,
        cache_backing: CacheBacking | None = None,
    ) -> None:
        self.llm_settings = llm
        self.llm: LLMClient | None = None
        if llm is not None and llm.enabled:
            from .llm import LLMClient

            self.llm = LLMClient(llm)
        self.schema_flow = SchemaFlowPlanner()
        self.cache = PlanCache(cache_size, cache_backing)

    async def close(self) -> None:
        if self.llm is not None:
            await self.llm.close()

    @property
    def planner_name(self) -> str:
        return f"llm:{self.llm.model}" if self.llm else "schema-flow"

    # -- checking ----------------------------------------------------------------------------
    @staticmethod
    def check(plan: Plan, request: PlanningRequest) -> list[PlanError]:
        capabilities = request.grounding.use_case.capabilities if request.grounding else ()
        return validate_plan(
            plan,
            {s.name: s for s in request.services},
            action=request.action,
            data=request.data,
            capabilities=capabilities,
        )

    # -- making ------------------------------------------------------------------------------
    async def make(
        self,
        request: PlanningRequest,
        *,
        project_id: str,
        fingerprint: str,
        use_cache: bool = True,
    ) -> PlanResult:
        """A plan for ``request``; ``use_cache=False`` plans afresh (and refreshes the cache)."""
        provenance: dict[str, Any] = {"planner": self.planner_name}
        if request.grounding is not None:
            provenance["grounding"] = request.grounding.as_dict()
            missing = [
                c
                for c in request.grounding.use_case.capabilities
                if best_service_for(c, request.services)[0] is None
            ]
            if missing:
                names = "', '".join(missing)
                return PlanResult(
                    None,
                    f"no registered service provides the capability '{names}' that the grounding "
                    f"use case '{request.grounding.use_case.action}' needs",
                    {**provenance, "source": None, "cache": "skip"},
                )

        key = PlanCache.key(
            project_id,
            request.action,
            list(request.data),
            fingerprint,
            request.grounding.key() if request.grounding else None,
        )
        cached = self.cache.get(key) if use_cache else None
        if cached is not None:
            errors = self.check(cached.plan, request)
            if not errors:
                made_by = cached.provenance
                return PlanResult(
                    cached.plan,
                    None,
                    {
                        **provenance,
                        "source": "cache",
                        "cache": "hit",
                        "madeBy": {k: made_by.get(k) for k in ("source", "model", "repairRounds")},
                    },
                )
            self.cache.drop(key)
            provenance["cacheDropped"] = [e.as_dict() for e in errors]

        result = await self._plan(request, provenance)
        result.provenance["cache"] = "miss" if use_cache else "bypass"
        if result.plan is not None:
            if embeds_content_values(result.plan, str(request.action.get("content", ""))):
                result.provenance["cache"] = "skip"
                result.provenance["cacheSkipped"] = (
                    "the plan copies values from the action's content, so it fits only this action"
                )
            else:
                self.cache.put(key, CachedPlan(result.plan, result.provenance))
        return result

    async def _plan(self, request: PlanningRequest, provenance: dict[str, Any]) -> PlanResult:
        reasons: list[str] = []
        calls: list[dict[str, Any]] = []
        if self.llm is not None:
            outcome = await self._plan_with_llm(request, provenance, calls)
            if outcome is not None:
                return outcome
            reasons.append(provenance["llm"]["outcome"])

        # on a worker thread: its search grows with the catalog (bounded by SEARCH_BUDGET, still
        # up to a second of CPU), and the loop must keep answering meanwhile
        schema_flow, errors = await asyncio.to_thread(self._plan_offline, request)
        provenance["schemaFlow"] = {"reason": schema_flow.reason, **schema_flow.provenance}
        if schema_flow.plan is not None:
            provenance["schemaFlow"]["errors"] = [e.as_dict() for e in errors]
            if not errors:
                provenance["source"] = "schema-flow"
                provenance["fallback"] = self.llm is not None
                return PlanResult(schema_flow.plan, None, provenance, llm_calls=calls)
            reasons.append(
                "the schema-flow plan is invalid: " + "; ".join(e.message for e in errors)
            )
        else:
            reasons.append(schema_flow.reason or "the schema-flow planner found no plan")
        provenance["source"] = None
        return PlanResult(None, "; ".join(reasons), provenance, llm_calls=calls)

    def _plan_offline(self, request: PlanningRequest) -> tuple[PlanOutcome, list[PlanError]]:
        """The schema-flow planner's outcome and its plan's errors."""
        outcome = self.schema_flow.plan_sync(request)
        errors = self.check(outcome.plan, request) if outcome.plan is not None else []
        return outcome, errors

    async def _plan_with_llm(
        self,
        request: PlanningRequest,
        provenance: dict[str, Any],
        calls: list[dict[str, Any]],
    ) -> PlanResult | None:
        """The LLM's valid plan, its NOT_ACTIONABLE answer, or None (fall back; see provenance)."""
        assert self.llm is not None
        from .llm import LLMUnavailable  # imported with the client

        rounds: list[dict[str, Any]] = []
        trace: dict[str, Any] = {"model": self.llm.model, "rounds": rounds}
        provenance["llm"] = trace
        messages = plan_messages(request)
        repair_rounds = max(0, self.llm.settings.repair_rounds)
        for round_ in range(repair_rounds + 1):
            try:
                reply = await self.llm.complete(messages, round_=round_)
            except LLMUnavailable as exc:
                calls += [c.as_dict() for c in exc.calls]
                trace["outcome"] = f"LLM planning failed: {exc.message}"
                return None
            calls += [c.as_dict() for c in reply.calls]
            record: dict[str, Any] = {"round": round_, "reasoning": reply.reasoning}
            rounds.append(record)
            plan, errors, refusal = _read_plan(reply.text)
            if refusal is not None:
                record["notActionable"] = refusal
                provenance.update(source="llm", model=self.llm.model, repairRounds=round_)
                return PlanResult(
                    None,
                    f"the planner ({self.llm.model}) says the action cannot be done: {refusal}",
                    provenance,
                    llm_calls=calls,
                )
            if plan is not None:
                plan.parallelExecutionGroups = execution_levels(plan.steps)
                errors = self.check(plan, request)
            record["errors"] = [e.as_dict() for e in errors]
            if not errors:
                assert plan is not None
                provenance.update(source="llm", model=self.llm.model, repairRounds=round_)
                trace["outcome"] = "valid plan"
                return PlanResult(plan, None, provenance, llm_calls=calls)
            messages = [
                *messages,
                {"role": "assistant", "content": reply.text},
                repair_message(errors),
            ]
        last = rounds[-1]["errors"]
        trace["outcome"] = (
            f"the LLM's plan was still invalid after {repair_rounds} repair round"
            f"{'s' if repair_rounds != 1 else ''}: " + "; ".join(e["message"] for e in last)
        )
        return None


def _read_plan(text: str) -> tuple[Plan | None, list[PlanError], str | None]:
    """``(plan, errors, refusal)`` from the model's answer."""
    try:
        body = extract_json(text)
    except NoJSONFound as exc:
        return None, [PlanError(None, None, "malformed_plan", str(exc))], None
    refused = body.get("notActionable") or (
        "error" in body and not body.get("steps") and isinstance(body["error"], str)
    )
    if refused:
        reason = body.get("reason") or body.get("error") or "no reason given"
        return None, [], str(reason)
    try:
        return Plan.model_validate(body), [], None
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'plan'}: {e['msg']}" for e in exc.errors()
        )
        return None, [PlanError(None, None, "malformed_plan", problems)], None
