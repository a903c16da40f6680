"""The LLM planner's side of the conversation: one chat-completions call, made robustly.

Any OpenAI-compatible endpoint works (OpenAI, Azure OpenAI, Ollama, vLLM, llama.cpp server,
Groq) through the ``openai`` client. We ask for structured output (``response_format`` with a
JSON schema); an endpoint that refuses it is asked again without, and remembered. Timeouts,
connection errors, 429s and 5xx are retried with exponential backoff and jitter. Every attempt
becomes an ``LLMCall`` (model, tokens, latency, outcome) that the caller records as an event.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import openai

from ..settings import LLMSettings
from .extract import split_reasoning
from .prompt import PLAN_RESPONSE_SCHEMA

__all__ = ["LLMCall", "LLMClient", "LLMReply", "LLMUnavailable"]

_RETRYABLE = (
    openai.APITimeoutError,
    openai.APIConnectionError,
    openai.RateLimitError,
    openai.InternalServerError,
)
#: what endpoints without structured output answer when sent ``response_format``
_REFUSES_FORMAT = (openai.BadRequestError, openai.UnprocessableEntityError)


class LLMUnavailable(Exception):
    """The endpoint gave no answer after every attempt (the message says why)."""

    def __init__(self, message: str, calls: list[LLMCall]) -> None:
        super().__init__(message)
        self.message = message
        self.calls = calls


@dataclass(slots=True)
class LLMCall:
    model: str
    round: int
    attempt: int
    structured: bool
    latency_ms: float
    ok: bool
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        body = asdict(self)
        body["latency_ms"] = round(self.latency_ms, 1)
        return body


@dataclass(slots=True)
class LLMReply:
    text: str  # the answer with any <think> blocks taken out
    reasoning: str  # <think> text or the endpoint's reasoning_content
    calls: list[LLMCall] = field(default_factory=list)


class LLMClient:
    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.model = settings.resolved_model()
        self._client = openai.AsyncOpenAI(
            api_key=settings.api_key or "not-needed",  # local servers take any key
            base_url=settings.base_url or None,
            timeout=settings.timeout,
            max_retries=0,  # we retry ourselves, so that each attempt is recorded
        )
        #: None until the endpoint has answered (or refused) a structured-output request
        self.structured: bool | None = {"on": True, "off": False}.get(settings.structured_output)

    async def close(self) -> None:
        await self._client.close()

    async def complete(self, messages: list[dict[str, str]], *, round_: int = 0) -> LLMReply:
        calls: list[LLMCall] = []
        attempt = 0
        while True:
            attempt += 1
            structured = self.structured is not False
            started = time.perf_counter()
            try:
                response = await self._client.chat.completions.create(
                    model=self.model,
                    messages=messages,  # type: ignore[arg-type]
                    temperature=self.settings.temperature,
                    **(
                        {
                            "response_format": {
                                "type": "json_schema",
                                "json_schema": PLAN_RESPONSE_SCHEMA,
                            }
                        }
                        if structured
                        else {}
                    ),
                )
            except _REFUSES_FORMAT as exc:
                calls.append(self._failed(round_, attempt, structured, started, exc))
                if structured and self.settings.structured_output == "auto":
                    self.structured = False  # this endpoint has no structured output: ask plainly
                    attempt -= 1  # not the endpoint's fault: the retry budget stays whole
                    continue
                raise LLMUnavailable(_describe(exc), calls) from exc
            except _RETRYABLE as exc:
                calls.append(self._failed(round_, attempt, structured, started, exc))
                if attempt > self.settings.retries:
                    raise LLMUnavailable(
                        f"{_describe(exc)} (after {attempt} attempts)", calls
                    ) from exc
                await asyncio.sleep(min(8.0, 0.25 * 2 ** (attempt - 1)) * random.uniform(0.5, 1))
                continue
            except openai.APIError as exc:  # 401, 404 …: retrying cannot help
                calls.append(self._failed(round_, attempt, structured, started, exc))
                raise LLMUnavailable(_describe(exc), calls) from exc
            latency = (time.perf_counter() - started) * 1000
            if structured and self.structured is None:
                self.structured = True
            usage = response.usage
            calls.append(
                LLMCall(
                    model=response.model or self.model,
                    round=round_,
                    attempt=attempt,
                    structured=structured,
                    latency_ms=latency,
                    ok=True,
                    prompt_tokens=usage.prompt_tokens if usage else None,
                    completion_tokens=usage.completion_tokens if usage else None,
                )
            )
            message = response.choices[0].message if response.choices else None
            content = (message.content if message else None) or ""
            answer, thought = split_reasoning(content)
            extra = (message.model_extra or {}) if message else {}
            native = extra.get("reasoning_content") or extra.get("reasoning") or ""
            reasoning = "\n\n".join(t for t in (str(native).strip(), thought) if t)
            return LLMReply(text=answer, reasoning=reasoning, calls=calls)

    def _failed(
        self, round_: int, attempt: int, structured: bool, started: float, exc: Exception
    ) -> LLMCall:
        return LLMCall(
            model=self.model,
            round=round_,
            attempt=attempt,
            structured=structured,
            latency_ms=(time.perf_counter() - started) * 1000,
            ok=False,
            error=_describe(exc),
        )


def _describe(exc: Exception) -> str:
    if isinstance(exc, openai.APITimeoutError):
        return "the LLM endpoint timed out"
    if isinstance(exc, openai.APIConnectionError):
        return f"could not reach the LLM endpoint ({exc.__cause__ or exc})"
    if isinstance(exc, openai.APIStatusError):
        detail = str(exc.message)[:300]
        return f"the LLM endpoint answered HTTP {exc.status_code}: {detail}"
    return str(exc)[:300]
