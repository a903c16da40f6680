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
ROOMS = ("api", "control", "engine", "planning", "store", "services", "delivery", "cluster")
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


def _within(name: str, modules: list[str] | tuple[str, ...]) -> bool:
    return any(name == m or name.startswith(m + ".") for m in modules)


def _violations(
    folder: Path,
    package: str,
    forbidden: list[str],
    allow: set[str] = frozenset(),
    permitted: tuple[str, ...] = (),
):
    """Imports of ``forbidden`` modules, but for those within ``permitted``."""
    bad = []
    for path in sorted(folder.rglob("*.py")):
        if path.relative_to(folder).as_posix() in allow:
            continue
        for line, name in _imports(path, package):
            if _within(name, forbidden) and not _within(name, permitted):
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
            for m in ("api", "control", "engine", "planning", "services", "delivery", "cluster")
        ],
        set(),
    ),
    (
        "the cluster knows neither the API nor the application layer above it",
        SERVER / "cluster",
        "orra_server.cluster",
        ["orra_server.api", "orra_server.control", "fastapi", "starlette"],
        set(),
    ),
    (
        "planning knows nothing of the store, the engine, the API or sockets",
        SERVER / "planning",
        "orra_server.planning",
        [f"orra_server.{m}" for m in ("api", "control", "engine", "store", "services")],
        set(),
    ),
    (
        "the engine knows neither the API nor the application layer above it",
        SERVER / "engine",
        "orra_server.engine",
        ["orra_server.api", "orra_server.control", "fastapi", "starlette"],
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
        [f"orra_server.{m}" for m in ("api", "control", "engine")],
        set(),
    ),
    (
        "delivery knows neither the API nor the application layer",
        SERVER / "delivery",
        "orra_server.delivery",
        [f"orra_server.{m}" for m in ("api", "control")],
        set(),
    ),
    (
        "the application layer knows no transport: no HTTP framework, no API module",
        SERVER / "control",
        "orra_server.control",
        ["orra_server.api", "fastapi", "starlette", "uvicorn"],
        set(),
    ),
]

#: the API translates HTTP to the application layer's commands and back: it may import
#: ``control/``, the shared core, settings and the plan's model types (its request bodies
#: embed a plan), never what lies below the application layer
API_RULE = (
    "the API reaches the engine, store, planning, services and delivery only through control/",
    SERVER / "api",
    "orra_server.api",
    [f"orra_server.{m}" for m in ("engine", "store", "planning", "services", "delivery")],
    set(),
    ("orra_server.planning.plan",),
)


@pytest.mark.parametrize(
    ("rule", "folder", "package", "forbidden", "allow", "permitted"),
    [(*rule, ()) for rule in RULES] + [API_RULE],
)
def test_import_rule(rule, folder, package, forbidden, allow, permitted):
    assert _violations(folder, package, forbidden, allow, permitted) == [], rule


def test_the_rules_catch_what_they_forbid():
    """A rule that matched nothing would pass forever: the API rule, without its one
    permission, finds the plan model import; the control rule finds control's engine use
    when the engine is forbidden."""
    *_, permitted = API_RULE
    assert _violations(*API_RULE[1:5]) != []
    assert permitted and _violations(*API_RULE[1:5], permitted) == []
    control = SERVER / "control"
    assert _violations(control, "orra_server.control", ["orra_server.engine"]) != []


def test_at_most_six_modules_sit_loose_at_the_package_root():
    loose = sorted(p.name for p in SERVER.glob("*.py"))
    assert len(loose) <= MAX_LOOSE, loose
    rooms = sorted(p.name for p in SERVER.iterdir() if (p / "__init__.py").exists())
    assert set(rooms) >= {"core", *ROOMS}, rooms


def test_the_in_process_starters_reach_only_the_servers_face():
    """``embedded.py`` and ``orra serve`` start a whole control plane (whose requests go through
    control/); they import its face, its settings and its serving module, nothing below."""
    face = {"orra_server", "orra_server.Settings"}
    modules = ["orra_server.serving", "orra_server.settings"]
    for starter in ("embedded.py", "cli/server.py"):
        names = [
            n for _, n in _imports(STUDIO / starter, "orra_studio") if _within(n, ["orra_server"])
        ]
        assert names, starter
        assert [n for n in names if n not in face and not _within(n, modules)] == [], starter


def test_every_product_module_is_short_enough_to_read():
    """One concept per module: none over 400 lines, the engine's driver at most 300."""
    limits = {SERVER / "engine" / "engine.py": 300}
    too_long = [
        f"{path.relative_to(ROOT)}: {n} lines"
        for folder in (SERVER, SDK, STUDIO)
        for path in sorted(folder.rglob("*.py"))
        if (n := len(path.read_text().splitlines())) > limits.get(path, 400)
    ]
    assert too_long == []
