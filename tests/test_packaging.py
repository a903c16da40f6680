"""The wheel the README tells people to build holds the whole product."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from helpers import ROOT, python_prints

PACKAGES = {
    "orra_server": ROOT / "server" / "orra_server",
    "orra_sdk": ROOT / "sdk" / "python" / "orra_sdk",
    "orra_studio": ROOT / "orra_studio",
}


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_the_orra_command(tmp_path: Path):
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        timeout=600,
        cwd=tmp_path,
    )
    (wheel,) = tmp_path.glob("orra_studio-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        assert "orra = orra_studio.cli:main" in archive.read(entry_points).decode()
        archive.extractall(tmp_path / "unpacked")
    for package, source in PACKAGES.items():
        modules = {
            f"{package}/{path.relative_to(source).as_posix()}" for path in source.rglob("*.py")
        }
        assert modules <= names, sorted(modules - names)
    # the unpacked wheel runs on its own (dependencies from this environment)
    env = {"PYTHONPATH": str(tmp_path / "unpacked"), "PATH": "/usr/bin:/bin"}
    unpacked = {"cwd": tmp_path, "env": env, "timeout": 120}
    where = python_prints(
        "import orra_server, orra_sdk, orra_studio; "
        "print(orra_server.__file__, orra_sdk.__file__, orra_studio.__file__)",
        **unpacked,
    )
    assert all(p.startswith(str(tmp_path / "unpacked")) for p in where.split())
    usage = python_prints(
        "import sys; sys.argv[1:] = ['--help']; from orra_studio.cli import main; main()",
        **unpacked,
    )
    assert "serve" in usage


def test_the_notebook_extra_brings_jupyterlab_and_nbconvert():
    for module in ("jupyterlab", "nbconvert"):
        run = subprocess.run(
            [sys.executable, "-m", module, "--version"], capture_output=True, text=True, timeout=60
        )
        assert run.returncode == 0, (module, run.stderr[-500:])
        assert run.stdout.strip()[0].isdigit()
