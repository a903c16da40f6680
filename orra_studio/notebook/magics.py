"""``%orra`` and ``%%orra``: one magic, a sub-command per task, arguments by IPython's
``magic_arguments`` (so ``%orra?`` lists every sub-command), errors as one-line UsageErrors."""

from __future__ import annotations

import ast
import json
import shlex
from collections.abc import Callable
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, magics_class
from IPython.display import display
from traitlets import Float, Unicode

from ..data_text import NotFieldValue, parse_fields
from ..errors import OrraError
from .magic_commands import CELL_COMMANDS, INTRO, LINE_COMMANDS
from .results import OrchestrationResult
from .session import Session
from .widgets import ApprovalsPanel, PlanPreview, RunProgress, follow, follow_in_background

__all__ = ["OrraMagics", "parse_data"]


def parse_data(pairs: list[str]) -> dict[str, Any]:
    """The words as the action's data (:mod:`orra_studio.data_text`)."""
    try:
        return parse_fields(pairs)
    except NotFieldValue as exc:
        raise UsageError(str(exc)) from None


@magics_class
class OrraMagics(Magics):
    """Settings: ``%config OrraMagics.url = "http://localhost:8005"`` (and ``api_key``,
    ``project``, ``db``, ``timeout``)."""

    url = Unicode(None, allow_none=True, help="control plane URL").tag(config=True)
    api_key = Unicode(None, allow_none=True, help="project API key").tag(config=True)
    project = Unicode(None, allow_none=True, help="project name from the config").tag(config=True)
    db = Unicode(None, allow_none=True, help="DuckDB file of an embedded server").tag(config=True)
    timeout = Float(300.0, help="seconds %orra run waits for a result").tag(config=True)

    def __init__(self, shell: Any = None, **kwargs: Any) -> None:
        super().__init__(shell=shell, **kwargs)
        self.session = Session()

    @line_cell_magic
    def orra(self, line: str, cell: str | None = None) -> Any:
        name, _, rest = line.strip().partition(" ")
        table = CELL_COMMANDS if cell is not None else LINE_COMMANDS
        if name not in table:
            other = LINE_COMMANDS if cell is not None else CELL_COMMANDS
            hint = (
                f"'{name}' is a {'line' if cell is not None else 'cell'} sub-command: use "
                f"{'%orra' if cell is not None else '%%orra'} {name}"
                if name in other
                else f"use one of: {', '.join(sorted(LINE_COMMANDS))} (line), "
                f"{', '.join(sorted(CELL_COMMANDS))} (cell); see %orra?"
            )
            raise UsageError(f"unknown sub-command {name!r}: {hint}" if name else hint)
        parser_of = table[name]
        try:
            words = shell_words(rest)  # as a shell would: key='two words' is one word
        except ValueError as exc:  # unbalanced quotes
            raise UsageError(f"%orra {name}: {exc} (check the quotes)") from None
        args = parser_of.parser.parse_args(words)  # a bad option is a UsageError
        handler: Callable[..., Any] = getattr(self, f"_do_{name}")
        try:
            return handler(args, cell) if cell is not None else handler(args)
        except OrraError as exc:
            raise UsageError(str(exc)) from None

    # -- helpers -----------------------------------------------------------------------------
    def _client(self):
        if not self.session.connected:
            print(self.session.connect(self.url, self.api_key, self.project, db=self.db))
        return self.session.require()

    # -- line sub-commands -------------------------------------------------------------------
    def _do_connect(self, args: Any) -> None:
        print(
            self.session.connect(
                args.url or self.url,
                args.api_key or self.api_key,
                args.project or self.project,
                embedded=args.embedded,
                db=args.db or self.db,
            )
        )
        if args.demo:
            print(self.session.serve_demo())

    def _do_studio(self, args: Any) -> Any:
        try:
            import panel as pn
        except ImportError:
            raise UsageError(
                "%orra studio needs Panel: pip install 'orra-studio[studio]'"
            ) from None
        from ..studio.context import StudioContext
        from ..studio.executions import executions_page
        from ..studio.run_view import run_page

        pn.extension("tabulator")
        client = self._client()
        context = StudioContext(client.url, client.api_key)
        if args.execution_id:
            return run_page(context, client, args.execution_id)
        return executions_page(context, client)

    def _do_disconnect(self, args: Any) -> None:
        self.session.close_client()
        print("Disconnected.")

    def _do_services(self, args: Any):
        import pandas as pd

        rows = self._client().services()
        columns = [
            "name",
            "kind",
            "online",
            "instances",
            "staleInstances",
            "revertible",
            "version",
            "description",
        ]
        return pd.DataFrame([{c: r.get(c) for c in columns} for r in rows], columns=columns)

    def _do_plan(self, args: Any) -> PlanPreview:
        client = self._client()
        data = parse_data(args.data)
        preview = client.plan(args.action, data)
        return PlanPreview(client, args.action, data, preview, timeout=self.timeout)

    def _do_run(self, args: Any) -> OrchestrationResult | None:
        client = self._client()
        options = {"approve": args.approve} if args.approve else None
        accepted = client.submit(args.action, parse_data(args.data), options=options)
        return self._follow(client, accepted, args.quiet, args.timeout)

    def _follow(
        self, client: Any, accepted: dict[str, Any], quiet: bool, timeout: float | None
    ) -> OrchestrationResult | None:
        """Show progress until the end; in a kernel, stop once a step waits for a person
        (returning None) so its buttons work, and keep the widget live from a thread."""
        view = RunProgress(accepted, client=client)
        self.session.last_run = view
        in_kernel = getattr(self.shell, "kernel", None) is not None
        if not quiet:
            if in_kernel:
                display(view)  # a widget needs a frontend to draw it
            else:  # terminal IPython: a line per step as it ends
                view.progress_lines = True
        seconds = timeout or self.timeout
        result = follow(client, accepted, view, seconds, stop_when_waiting=in_kernel)
        if result is None:
            follow_in_background(client, accepted, view, seconds)
            waiting = ", ".join(view.approvals)
            print(
                f"{accepted['executionId']}: {waiting} waits for approval; decide with the "
                "buttons above (or %orra approvals). The result will be in the widget."
            )
        return result

    def _do_approvals(self, args: Any) -> ApprovalsPanel:
        return ApprovalsPanel(self._client())

    def _do_approve(self, args: Any) -> None:
        edited = None
        if args.input is not None:
            try:
                edited = json.loads(args.input)
            except ValueError as exc:
                raise UsageError(f"%orra approve: --input is not JSON: {exc}") from None
        body = self._client().approve(
            args.execution_id, args.step_id, input=edited, comment=args.comment
        )
        print(f"{args.step_id} approved; {body['executionId']} is {body['status']}.")

    def _do_reject(self, args: Any) -> None:
        body = self._client().reject(args.execution_id, args.step_id, args.reason)
        print(f"{args.step_id} rejected; {body['executionId']} is {body['status']}.")

    def _do_rerun(self, args: Any) -> OrchestrationResult | None:
        inputs: dict[str, Any] = {}
        for item in args.inputs:
            step, sep, text = item.partition("=")
            try:
                inputs[step] = json.loads(text) if sep else None
            except ValueError as exc:
                raise UsageError(f"%orra rerun: {item!r} is not STEP=JSON: {exc}") from None
            if not sep or not isinstance(inputs[step], dict):
                raise UsageError(f"%orra rerun: write STEP={{...}} (a JSON object), not {item!r}")
        client = self._client()
        accepted = client.rerun(args.execution_id, from_step=args.from_step, inputs=inputs or None)
        return self._follow(client, accepted, False, args.timeout)

    def _do_ps(self, args: Any):
        import pandas as pd

        rows = self._client().orchestrations(status=args.status, limit=args.limit)
        return pd.DataFrame(
            [
                {
                    "executionId": r["executionId"],
                    "status": r["status"],
                    "action": (r.get("action") or {}).get("type"),
                    "createdAt": pd.Timestamp(r["createdAt"]) if r.get("createdAt") else pd.NaT,
                    "endTime": pd.Timestamp(r["endTime"]) if r.get("endTime") else pd.NaT,
                    "error": r.get("error"),
                }
                for r in rows
            ],
            columns=["executionId", "status", "action", "createdAt", "endTime", "error"],
        )

    def _do_inspect(self, args: Any) -> OrchestrationResult:
        client = self._client()
        body = client.orchestration(args.execution_id)
        return OrchestrationResult(body, client.plan_of(args.execution_id).get("plan"))

    def _do_logs(self, args: Any):
        import pandas as pd

        lines = self._client().logs(args.execution_id)["logs"]
        columns = ["seq", "time", "level", "event", "stepId", "message"]
        return pd.DataFrame([{c: line.get(c) for c in columns} for line in lines], columns=columns)

    # -- cell sub-commands -------------------------------------------------------------------
    def _do_sql(self, args: Any, cell: str):
        import duckdb

        analytics = self.session.analytics_db()
        if not args.no_refresh:
            analytics.refresh(self._client())
        try:
            frame = analytics.query(cell)
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise UsageError(f"SQL error: {first}") from None
        if args.out:
            self.shell.user_ns[args.out] = frame
        return frame

    def _do_service(self, args: Any, cell: str) -> None:
        from orra_sdk import Service

        name = _last_function(cell)
        exec(compile(cell, f"<%%orra service {args.name}>", "exec"), self.shell.user_ns)
        func = self.shell.user_ns[name]
        client = self._client()
        doc = (func.__doc__ or "").strip().splitlines()
        service = Service(
            args.name,
            description=args.description or (doc[0] if doc else f"{name}, defined in a notebook"),
            url=client.url,
            api_key=client.api_key or "",
            revertible=args.revertible,
            concurrency=args.concurrency,
        )
        try:
            service.handler(func)
        except (TypeError, NameError) as exc:
            raise UsageError(
                f"%%orra service {args.name}: {name}() cannot be a handler: {exc}"
            ) from None
        self.session.services.serve(service)
        print(f"Service {args.name} ({service.id}) is serving {name}() from this kernel.")


def _last_function(cell: str) -> str:
    """The name of the last top-level function the cell defines."""
    try:
        tree = ast.parse(cell)
    except SyntaxError as exc:
        raise UsageError(
            f"%%orra service: the cell is not valid Python ({exc.msg}, line {exc.lineno})"
        ) from None
    names = [
        node.name for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
    ]
    if not names:
        raise UsageError(
            "%%orra service: define the handler in the cell, e.g. "
            "'def shout(inp: ShoutIn) -> ShoutOut: …'"
        )
    return names[-1]


OrraMagics.orra.__doc__ = INTRO + "\n".join(
    f.__doc__ or "" for f in [*LINE_COMMANDS.values(), *CELL_COMMANDS.values()]
)


def shell_words(text: str) -> list[str]:
    """``text`` split as a shell splits a command line, a ``# comment`` included: a ``#``
    that starts a word outside quotes ends the line (``color=#fff`` keeps its ``#``), so a
    magic line may carry a comment as a cell's code does."""
    quote: str | None = None
    escaped = False
    for at, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote is not None:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "#" and (at == 0 or text[at - 1] in " \t"):
            return shlex.split(text[:at])
    return shlex.split(text)
