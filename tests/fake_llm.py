"""A real local HTTP server that speaks the OpenAI chat-completions API with scripted answers.

The control plane calls it through the real ``openai`` client. Each request pops the next
scripted answer; every request body is kept, so tests can read what the planner sent.
"""

from __future__ import annotations

import collections
import json
import threading
import time
from dataclasses import dataclass
from typing import Any

from local_http import LocalHttpServer, QuietHandler


@dataclass
class Answer:
    content: str
    reasoning_content: str | None = None
    delay: float = 0.0  # seconds before answering (to make the client time out)
    status: int = 200


class ScriptedLLM(LocalHttpServer):
    def __init__(self, *, refuse_structured_output: bool = False) -> None:
        self.requests: list[dict[str, Any]] = []
        self.answers: collections.deque[Answer] = collections.deque()
        self.refuse_structured_output = refuse_structured_output
        self._stopping = threading.Event()
        llm = self

        class Handler(QuietHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                if not self.path.endswith("/chat/completions"):
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                llm.requests.append(body)
                if llm.refuse_structured_output and "response_format" in body:
                    return self._send(
                        400,
                        {
                            "error": {
                                "message": "response_format is not supported by this server",
                                "type": "invalid_request_error",
                            }
                        },
                    )
                if not llm.answers:
                    return self._send(500, {"error": {"message": "no scripted answer left"}})
                answer = llm.answers.popleft()
                if answer.delay and llm._stopping.wait(answer.delay):
                    return None
                if answer.status != 200:
                    return self._send(answer.status, {"error": {"message": answer.content}})
                message: dict[str, Any] = {"role": "assistant", "content": answer.content}
                if answer.reasoning_content is not None:
                    message["reasoning_content"] = answer.reasoning_content
                self._send(
                    200,
                    {
                        "id": f"chatcmpl-{len(llm.requests)}",
                        "object": "chat.completion",
                        "created": int(time.time()),
                        "model": body.get("model", "scripted"),
                        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                        "usage": {
                            "prompt_tokens": sum(len(m["content"]) for m in body["messages"]) // 4,
                            "completion_tokens": len(answer.content) // 4,
                            "total_tokens": 0,
                        },
                    },
                )

            def _send(self, status: int, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                try:
                    self.answer(status, data, "application/json")
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test)

        super().__init__(Handler, "/v1")

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        super().__exit__(*exc)

    def answer(self, content: str | dict[str, Any], **kwargs: Any) -> None:
        text = content if isinstance(content, str) else json.dumps(content)
        self.answers.append(Answer(text, **kwargs))

    def env(self, **extra: str) -> dict[str, str]:
        """Environment for a control plane that plans with this server."""
        return {
            "ORRA_LLM_BASE_URL": self.url,
            "ORRA_LLM_MODEL": "scripted-model",
            "ORRA_LLM_API_KEY": "sk-test",
            "ORRA_LLM_TIMEOUT": "1",
            "ORRA_LLM_RETRIES": "1",
            **extra,
        }
