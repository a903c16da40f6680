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

#: the rooms of the server package; ``core`` is what every other room may use
ROOMS = ("api", "engine", "planning", "store", "services", "delivery")
#: the most modules that may sit loose at the package root (its face, entry points, settings)
MAX_LOOSE = 6


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
        [f"orra_server.{m}" for m in ("api", "engine", "planning", "services", "delivery")],
        set(),
    ),
    (
        "planning knows nothing of the store, the engine, the API or sockets",
        SERVER / "planning",
        "orra_server.planning",
        [f"orra_server.{m}" for m in ("api", "engine", "store", "services")],
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
        "the shared core imports no room",
        SERVER / "core",
        "orra_server.core",
        [f"orra_server.{m}" for m in (*ROOMS, "settings", "serving")],
        set(),
    ),
    (
        "the service side knows neither the engine nor the API",
        SERVER / "services",
        "orra_server.services",
        [f"orra_server.{m}" for m in ("api", "engine")],
        set(),
    ),
]


@pytest.mark.parametrize(("rule", "folder", "package", "forbidden", "allow"), RULES)
def test_import_rule(rule, folder, package, forbidden, allow):
    assert _violations(folder, package, forbidden, allow) == [], rule


def test_at_most_six_modules_sit_loose_at_the_package_root():
    loose = sorted(p.name for p in SERVER.glob("*.py"))
    assert len(loose) <= MAX_LOOSE, loose
    rooms = sorted(p.name for p in SERVER.iterdir() if (p / "__init__.py").exists())
    assert set(rooms) >= {"core", *ROOMS}, rooms
