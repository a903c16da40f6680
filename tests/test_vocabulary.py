"""One vocabulary: product code names every status, event kind and frame type through
``orra_sdk.vocabulary``, and the TypeScript SDK's copy is the one generated from it."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path

from helpers import ROOT
from orra_sdk import vocabulary
from orra_sdk.vocabulary import (
    ApprovalStatus,
    CompensationFailureStatus,
    CompensationStatus,
    ControlFrame,
    DeliveryStatus,
    DrawnState,
    EventKind,
    OrchestrationStatus,
    ServiceFrame,
    StepStatus,
    SubmissionStatus,
)

PRODUCT = (
    ROOT / "server" / "orra_server",
    ROOT / "sdk" / "python" / "orra_sdk",
    ROOT / "orra_studio",
)
VOCABULARY = ROOT / "sdk" / "python" / "orra_sdk" / "vocabulary.py"
TYPESCRIPT = ROOT / "sdk" / "typescript" / "src" / "vocabulary.ts"

#: words only the vocabulary spells: anywhere else they are a bare status, event or frame type
SPELLED_ONLY_THERE: dict[str, str] = {}
for _enum in (
    OrchestrationStatus,
    StepStatus,
    SubmissionStatus,
    DrawnState,
    EventKind,
    ControlFrame,
    ServiceFrame,
):
    for _member in _enum:
        SPELLED_ONLY_THERE.setdefault(_member.value, f"{_enum.__name__}.{_member.name}")
#: lowercase statuses are common words, so they count only where compared with a status
LOWERCASE = {
    member.value
    for enum in (ApprovalStatus, CompensationStatus, CompensationFailureStatus, DeliveryStatus)
    for member in enum
}
STATUS_NAMES = {"status", "approval", "outcome"}


def _product_files() -> Iterator[Path]:
    for folder in PRODUCT:
        yield from (p for p in sorted(folder.rglob("*.py")) if p != VOCABULARY)


def _names_a_status(node: ast.expr) -> bool:
    """``x.status``, ``row["status"]``, ``row.get("status")``."""
    if isinstance(node, ast.Attribute):
        return node.attr in STATUS_NAMES
    if isinstance(node, ast.Subscript):
        key = node.slice
        return isinstance(key, ast.Constant) and key.value in STATUS_NAMES
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        first = node.args[0] if node.args else None
        return (
            node.func.attr == "get"
            and isinstance(first, ast.Constant)
            and (first.value in STATUS_NAMES)
        )
    return False


def _builds_an_event_kind(node: ast.JoinedStr) -> bool:
    """``f"orchestration_{status.lower()}"``: an event kind made by string surgery."""
    head = node.values[0] if node.values else None
    if not (isinstance(head, ast.Constant) and str(head.value).endswith("_")):
        return False
    return any(kind.startswith(head.value) for kind in EventKind)


def _bare_words(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text())
    # docstrings, and the names in ``__all__`` (functions may be named after a frame)
    skipped = {
        id(node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            skipped |= {id(n) for n in ast.walk(node.value)}
    where = path.relative_to(ROOT)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in skipped and node.value in SPELLED_ONLY_THERE:
                name = SPELLED_ONLY_THERE[node.value]
                yield f"{where}:{node.lineno} {node.value!r} (use {name})"
        elif isinstance(node, ast.JoinedStr) and _builds_an_event_kind(node):
            yield f"{where}:{node.lineno} an event kind built from parts (use a map of EventKind)"
        elif isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            words = [s for s in sides if isinstance(s, ast.Constant) and s.value in LOWERCASE]
            words += [
                e
                for s in sides
                if isinstance(s, ast.Tuple | ast.Set | ast.List)
                for e in s.elts
                if isinstance(e, ast.Constant) and e.value in LOWERCASE
            ]
            if words and any(_names_a_status(s) for s in sides):
                yield f"{where}:{node.lineno} {words[0].value!r} compared with a status"


def test_product_code_spells_no_status_event_kind_or_frame_type():
    bare = [line for path in _product_files() for line in _bare_words(path)]
    assert bare == [], "name these through orra_sdk.vocabulary:\n" + "\n".join(bare)


def test_the_typescript_copy_is_the_generated_one():
    generated = subprocess.run(
        [sys.executable, "-m", "orra_sdk.vocabulary", "--typescript"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert generated == vocabulary.typescript()
    assert TYPESCRIPT.read_text() == generated, (
        "sdk/typescript/src/vocabulary.ts is stale: run "
        "`python -m orra_sdk.vocabulary --typescript > sdk/typescript/src/vocabulary.ts`"
    )


def test_every_enum_reaches_the_typescript_copy():
    enums = {
        value.__name__
        for value in vars(vocabulary).values()
        if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum
    }
    text = TYPESCRIPT.read_text()
    assert {name for name in enums if f"export const {name} = {{" not in text} == set()


def test_the_event_maps_agree():
    assert {vocabulary.ORCHESTRATION_EVENT[s] for s in vocabulary.TERMINAL} == (
        vocabulary.ENDING_EVENTS
    )
    for event, status in vocabulary.ORCHESTRATION_STATUS_OF.items():
        assert event == f"orchestration_{status.lower()}"
    assert set(vocabulary.STEP_STATUS_OF) >= vocabulary.ATTEMPT_ENDINGS


def test_importing_the_vocabulary_loads_only_the_standard_library():
    code = (
        "import sys, orra_sdk.vocabulary\n"
        "print([m for m in ('websockets', 'httpx', 'pydantic', 'orra_sdk.service') "
        "if m in sys.modules])\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
