"""The import rules of DESIGN.md and the subsystem READMEs, checked on the source.

Each rule says which packages a part must not import (at module level or inside functions);
a new import that breaks one fails here with the file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from helpers import ROOT

SERVER = ROOT / "server" / "orra_server"
SDK = ROOT / "sdk" / "python" / "orra_sdk"
STUDIO = ROOT / "orra_studio"

#: leaf modules every layer of the server may use
LEAVES = {"ids", "statuses", "limits", "settings", "errors", "jsonschemas", "grammar"}


def _imports(path: Path, package: str) -> list[tuple[int, str]]:
    """Absolute names of the modules ``path`` imports (relative imports resolved)."""
    module = ".".join(path.relative_to(path.parents[len(package.split("."))]).with_suffix("").parts)
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: -node.level]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            found.append((node.lineno, name))
            found += [(node.lineno, f"{name}.{alias.name}") for alias in node.names]
    return found


def _violations(folder: Path, package: str, forbidden: list[str], allow: set[str] = frozenset()):
    bad = []
    for path in sorted(folder.rglob("*.py")):
        if path.relative_to(folder).as_posix() in allow:
            continue
        for line, name in _imports(path, package):
            if any(name == f or name.startswith(f + ".") for f in forbidden):
                bad.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return sorted(set(bad))


RULES = [
    # (what, folder, its package, forbidden, files allowed to break it)
    ("the server never imports the studio", SERVER, "orra_server", ["orra_studio"], set()),
    ("the SDK imports neither", SDK, "orra_sdk", ["orra_server", "orra_studio"], set()),
    (
        "the studio reaches the server over HTTP, except where it starts one in-process",
        STUDIO,
        "orra_studio",
        ["orra_server"],
        {"embedded.py", "cli/server.py"},
    ),
    (
        "the store imports nothing else of the server",
        SERVER / "store",
        "orra_server.store",
        [
            f"orra_server.{m}"
            for m in ("api", "engine", "planning", "connections", "registry", "webhooks", "events")
        ],
        set(),
    ),
    (
        "planning knows nothing of the store, the engine, the API or sockets",
        SERVER / "planning",
        "orra_server.planning",
        [f"orra_server.{m}" for m in ("api", "engine", "store", "connections", "registry")],
        set(),
    ),
    (
        "the engine does not know the API",
        SERVER / "engine",
        "orra_server.engine",
        ["orra_server.api", "fastapi", "starlette"],
        set(),
    ),
    (
        "leaf modules import no other layer",
        SERVER,
        "orra_server",
        [
            f"orra_server.{m}"
            for m in ("api", "engine", "planning", "store", "connections", "registry", "webhooks")
        ],
        {
            p.relative_to(SERVER).as_posix()
            for p in SERVER.rglob("*.py")
            if p.stem not in LEAVES or p.parent != SERVER
        },
    ),
]


@pytest.mark.parametrize(("rule", "folder", "package", "forbidden", "allow"), RULES)
def test_import_rule(rule, folder, package, forbidden, allow):
    assert _violations(folder, package, forbidden, allow) == [], rule
