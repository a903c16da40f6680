"""The TypeScript SDK for the tests: installed with ``npm ci`` from its committed lockfile and
compiled with ``tsc``, both only when something changed (cached between runs). Its services
then run as real Node processes: ``serving(api, script, python="node", …)``."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from filelock import FileLock

from helpers import ROOT

__all__ = ["SDK", "built_sdk"]

SDK = ROOT / "sdk" / "typescript"
SOURCES = ("src", "tsconfig.base.json", "tsconfig.esm.json", "tsconfig.cjs.json", "package.json")


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, cwd=SDK, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.fail(f"{what} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")


def built_sdk() -> Path:
    """``sdk/typescript`` with its dependencies installed and ``dist/`` compiled."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        if os.environ.get("CI"):
            pytest.fail("node and npm are needed for the TypeScript SDK tests")
        pytest.skip("node and npm are not installed")
    with FileLock(SDK / ".orra-build.lock"):  # test workers share one install and build
        _install_and_build()
    return SDK


def _install_and_build() -> None:
    lock = hashlib.sha256(
        (SDK / "package-lock.json").read_bytes() + (SDK / "package.json").read_bytes()
    ).hexdigest()
    installed = SDK / "node_modules" / ".orra-lock-sha256"
    if not installed.exists() or installed.read_text() != lock:
        _run(["npm", "ci", "--no-audit", "--no-fund"], "npm ci")
        installed.write_text(lock)
    newest = max(
        path.stat().st_mtime
        for name in SOURCES
        for path in ([SDK / name] if (SDK / name).is_file() else (SDK / name).rglob("*.ts"))
    )
    built = SDK / "dist" / ".built"
    if not built.exists() or built.stat().st_mtime < newest:
        _run(["npm", "run", "build"], "tsc")
        built.touch()
