"""A real IPython kernel (ipykernel over ZeroMQ, via jupyter_client) for notebook tests."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from jupyter_client.manager import KernelManager, start_new_kernel

__all__ = ["Kernel", "Outcome"]


@dataclass
class Outcome:
    """What one cell produced, as a frontend would receive it."""

    status: str
    stdout: str = ""
    stderr: str = ""
    results: list[dict[str, Any]] = field(default_factory=list)  # execute_result, display_data
    error: dict[str, Any] | None = None
    payload: list[dict[str, Any]] = field(default_factory=list)  # e.g. %orra? pages

    @property
    def shown(self) -> str:
        """Everything a person would see, as text."""
        texts = [r.get("text/plain", "") for r in self.results]
        error = "\n".join(self.error.get("traceback", [])) if self.error else ""
        return "\n".join([self.stdout, self.stderr, *texts, error])


class Kernel:
    def __init__(self, env: dict[str, str], cwd: str) -> None:
        self.manager: KernelManager
        self.manager, self.client = start_new_kernel(
            kernel_name="python3", startup_timeout=60, env=env, cwd=cwd
        )

    def run(self, code: str, timeout: float = 120.0) -> Outcome:
        messages: list[dict[str, Any]] = []
        reply = self.client.execute_interactive(
            code, timeout=timeout, output_hook=messages.append, allow_stdin=False
        )
        content = reply["content"]
        outcome = Outcome(status=content["status"], payload=content.get("payload", []))
        for message in messages:
            kind, body = message["msg_type"], message["content"]
            if kind == "stream":
                if body["name"] == "stdout":
                    outcome.stdout += body["text"]
                else:
                    outcome.stderr += body["text"]
            elif kind in ("execute_result", "display_data"):
                outcome.results.append(body["data"])
            elif kind == "error":
                outcome.error = body
        return outcome

    def ok(self, code: str, timeout: float = 120.0) -> Outcome:
        """Run ``code`` and fail the test with what the kernel said if the cell failed."""
        outcome = self.run(code, timeout)
        if outcome.status != "ok":
            raise AssertionError(f"cell failed:\n{code}\n---\n{outcome.shown}")
        return outcome

    def value(self, expression: str) -> Any:
        """``expression`` evaluated in the kernel, brought back as JSON."""
        out = self.ok(f"import json as _json\nprint(_json.dumps({expression}, default=str))")
        return json.loads(out.stdout.strip().splitlines()[-1])

    def close(self) -> None:
        try:
            self.client.stop_channels()
        finally:
            self.manager.shutdown_kernel(now=True)
