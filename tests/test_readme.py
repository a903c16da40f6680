"""The README as a newcomer runs it: every fenced block, as written, in a fresh home folder.

What differs from a person's terminal is only what must: a free port instead of 8005 and 8006
(tests run side by side), the placeholders a person fills in (``KEY``, ``ID``,
``sk-orra-v1-...``), the Ollama endpoint (the scripted OpenAI-compatible server stands in for
it) and a second terminal (a background process). The install and test commands of the
quickstart are what ``.ci/run`` runs, so this module checks they are the same lines instead of
running them again. A block added to the README fails the first test until it is run here.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import httpx
import pytest
from typescript import built_sdk

from fake_llm import ScriptedLLM
from helpers import (
    ROOT,
    SEED_PLAN,
    SEED_REGISTRATIONS,
    SEED_REQUEST,
    Api,
    free_port,
    new_project,
    register,
    wait_until,
)

README = ROOT / "README.md"
#: the README's LLM endpoint (Ollama's); the scripted OpenAI-compatible server stands in for it
OLLAMA = "http://localhost:11434/v1"
SEED_SERVICES = {
    "customer-data-service",
    "product-catalog-service",
    "seller-data-service",
    "ai-assistant-service",
}


def readme_blocks() -> list[tuple[str, str]]:
    """The README's fenced blocks: (language, text)."""
    return re.findall(r"```(\w*)\n(.*?)```", README.read_text(), re.S)


def block(first_line_starts: str) -> str:
    (text,) = [t for _, t in readme_blocks() if t.startswith(first_line_starts)]
    return text


def commands(text: str) -> list[str]:
    """A bash block's command lines, comments kept (bash ignores them)."""
    return [line for line in text.splitlines() if line.strip()]


@dataclass
class Newcomer:
    """A fresh home folder and a shell whose ``orra`` and ``python`` are the installed ones."""

    home: Path
    env: dict[str, str]

    def run(self, line: str, *, cwd: Path = ROOT, timeout: float = 120) -> str:
        done = subprocess.run(
            ["bash", "-c", line],
            cwd=cwd,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.returncode == 0, f"{line}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done.stdout + done.stderr

    def start(self, line: str, name: str, *, cwd: Path = ROOT) -> Background:
        log = self.home / f"{name}.log"
        with log.open("w") as output:  # the child holds its own copy of the file
            process = subprocess.Popen(
                ["bash", "-c", line],
                cwd=cwd,
                env=self.env,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return Background(process, log)


@dataclass
class Background:
    """A command left running, as in a second terminal; stopped with Ctrl-C."""

    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def stop(self) -> str:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        return self.output()


@pytest.fixture
def newcomer(tmp_path: Path) -> Newcomer:
    home = tmp_path / "home"
    home.mkdir()
    installed = str(Path(sys.executable).parent)  # where pip put `orra` beside `python`
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ORRA_", "COLUMNS"))}
    env |= {"HOME": str(home), "PATH": f"{installed}:{env.get('PATH', '')}", "COLUMNS": "200"}
    return Newcomer(home, env)


def on_port(text: str, port: int) -> str:
    """The README's ``localhost:8005`` is this test's free port."""
    return text.replace("localhost:8005", f"localhost:{port}")


def serving_readme_control_plane(newcomer: Newcomer) -> tuple[Background, int]:
    """The README's ``orra serve`` line, on a free port; once it answers."""
    port = free_port()
    serve, _ = commands(block("orra serve --port 8005"))
    server = newcomer.start(serve.replace("8005", str(port)), "server")
    health = f"http://localhost:{port}/health"
    wait_until(lambda: _answers(health) or server.process.poll() is not None, 30, "orra serve")
    assert server.process.poll() is None, server.output()
    return server, port


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def services_online(url: str, key: str, names: set[str]) -> bool:
    api = Api(url, key)
    try:
        return api.services_online(names)
    finally:
        api.close()


@pytest.fixture
def readme_server(newcomer: Newcomer) -> Iterator[tuple[int, str]]:
    """The control plane the README starts, and the key its ``curl`` line registers."""
    if shutil.which("curl") is None:
        if os.environ.get("CI"):
            pytest.fail("curl is needed for the README's curl line (.ci/run installs it)")
        pytest.skip("curl is not installed: apt-get install -y curl")
    server, port = serving_readme_control_plane(newcomer)
    try:
        _, register = commands(block("orra serve --port 8005"))
        answer = newcomer.run(on_port(register, port))
        yield port, json.loads(answer)["apiKey"]
    finally:
        output = server.stop()
        assert "Traceback" not in output, output[-3000:]


# -- the README holds the blocks this module runs ------------------------------------------------
def test_this_module_runs_every_block_of_the_readme() -> None:
    firsts = [(language, text.splitlines()[0].split("  ")[0]) for language, text in readme_blocks()]
    assert firsts == [
        ("bash", "python -m pip install -e '.[dev]' -e ./extensions/jupyterlab"),
        ("bash", "orra serve --port 8005 --db ~/.orra/orra.duckdb"),
        (
            "bash",
            "orra serve --llm-base-url http://localhost:11434/v1 --llm-model qwen2.5:7b-instruct",
        ),
        ("bash", "orra studio"),
        ("python", "%load_ext orra_studio"),
        ("bash", "orra login --url http://localhost:8005"),
        ("python", "from pydantic import BaseModel"),
        ("bash", "cd sdk/typescript && npm ci && npm run build"),
        ("ts", 'import { Service, z } from "@orra-studio/sdk";'),
    ], "a README block changed: run it in this module"


def test_the_quickstart_installs_and_tests_as_ci_does_and_orra_demo_completes(
    newcomer: Newcomer,
) -> None:
    install, demo, tests = (
        line.split("  #")[0].strip() for line in commands(block("python -m pip"))
    )
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert install in ci and tests in ci  # .ci/run runs these two on a clean clone
    shown = newcomer.run(demo)
    assert "COMPLETED" in shown and "Traceback" not in shown, shown[-3000:]


# -- the control plane, the CLI and a service of one's own --------------------------------------
def test_the_cli_block_runs_as_written_against_the_readmes_control_plane(
    newcomer: Newcomer, readme_server: tuple[int, str]
) -> None:
    port, _ = readme_server
    lines = [on_port(line, port) for line in commands(block("orra login"))]
    execution_id = None
    services = None
    try:
        for line in lines:
            if "in a second terminal" in line:
                services = newcomer.start(line, "demo-services")
                config = (newcomer.home / ".orra" / "config.toml").read_text()
                key = re.search(r'api_key = "(sk-orra-v1-[0-9a-f]+)"', config).group(1)
                online = partial(services_online, f"http://localhost:{port}", key, SEED_SERVICES)
                wait_until(online, 30, "the services")
                continue
            if execution_id is not None:
                line = re.sub(r"\bID\b", execution_id, line)
            shown = newcomer.run(line)
            if line.startswith("orra webhooks add"):  # a receiver on this machine: allowed here
                assert "localhost:3000/webhooks/orra" in shown
            if line.startswith("orra run"):
                assert "COMPLETED" in shown, shown
                execution_id = re.search(r"o_[a-z0-9]{20}", shown).group(0)
            if line.startswith("orra ps"):  # ps, inspect and logs of the run
                assert shown.count(execution_id) >= 2 and "COMPLETED" in shown, shown
    finally:
        if services is not None:
            assert "Traceback" not in services.stop()


def test_the_python_service_runs_as_written_and_stops_quietly_on_ctrl_c(
    newcomer: Newcomer, readme_server: tuple[int, str]
) -> None:
    port, key = readme_server
    code = on_port(block("from pydantic import BaseModel"), port).replace("sk-orra-v1-...", key)
    (newcomer.home / "service.py").write_text(code)
    service = newcomer.start("python service.py", "service", cwd=newcomer.home)
    url = f"http://localhost:{port}"
    wait_until(lambda: services_online(url, key, {"customer-data-service"}), 30, "the service")
    output = service.stop()
    assert service.process.returncode == 0, output
    assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
    # with no logging set up, the SDK still says what it does
    assert "registered as s_" in output and "connected to" in output, output

    # started before its control plane (a port nobody listens on): it says so, and keeps trying
    nowhere = code.replace(f"localhost:{port}", f"localhost:{free_port()}")
    (newcomer.home / "early.py").write_text(nowhere)
    early = newcomer.start("python early.py", "early", cwd=newcomer.home)
    said = lambda: "cannot reach the control plane" in early.output()  # noqa: E731
    try:
        wait_until(said, 30, "the service to say it cannot connect")
        assert early.process.poll() is None  # still trying
    finally:
        early.stop()


def test_the_typescript_blocks_run_as_written(
    newcomer: Newcomer, readme_server: tuple[int, str]
) -> None:
    port, key = readme_server
    build, seed = commands(on_port(block("cd sdk/typescript"), port))
    sdk = built_sdk()  # `npm ci && npm run build`, as the build line does, shared by the workers
    assert build == f"cd {sdk.relative_to(ROOT)} && npm ci && npm run build"
    url = f"http://localhost:{port}"
    seeded = newcomer.start(seed.replace("sk-orra-v1-...", key), "ts-seed", cwd=sdk)
    try:
        wait_until(lambda: services_online(url, key, SEED_SERVICES), 30, "the TypeScript services")
    finally:
        assert "Error" not in seeded.stop()

    # the snippet, beside a link to the package so its import resolves as an install's would
    folder = newcomer.home / "ts-app"
    (folder / "node_modules" / "@orra-studio").mkdir(parents=True)
    (folder / "node_modules" / "@orra-studio" / "sdk").symlink_to(sdk)
    (folder / "service.mjs").write_text(block('import { Service, z } from "@orra-studio/sdk";'))
    newcomer.env |= {"ORRA_URL": url, "ORRA_API_KEY": key}
    snippet = newcomer.start("node service.mjs", "ts-snippet", cwd=folder)
    try:
        wait_until(lambda: services_online(url, key, {"customer-data-service"}), 30, "the snippet")
    finally:
        assert "Error" not in snippet.stop()


# -- the LLM planner, the studio, the notebook ----------------------------------------------------
def test_the_llm_serve_line_plans_through_an_openai_compatible_endpoint(
    newcomer: Newcomer,
) -> None:
    (line,) = commands(block("orra serve --llm-base-url"))
    port = free_port()
    with ScriptedLLM() as llm:
        llm.answer(SEED_PLAN)
        command = line.split("  #")[0].replace(OLLAMA, llm.url)
        server = newcomer.start(f"{command} --port {port}", "llm-server")
        try:
            health = f"http://localhost:{port}/health"
            wait_until(lambda: _answers(health), 30, "orra serve with an LLM")
            assert "planner: LLM qwen2.5:7b-instruct" in server.output()
            api, _ = new_project(f"http://localhost:{port}")
            register(api, SEED_REGISTRATIONS)
            preview = api.post("/orchestrations", {**SEED_REQUEST, "dryRun": True})
            assert preview.status_code == 200, preview.text
            assert len(preview.json()["plan"]["steps"]) == len(SEED_PLAN["steps"])
            assert llm.requests and llm.requests[0]["model"] == "qwen2.5:7b-instruct"
        finally:
            output = server.stop()
    assert "Traceback" not in output, output


def test_the_studio_lines_open_a_page_as_written(
    newcomer: Newcomer, readme_server: tuple[int, str]
) -> None:
    port, key = readme_server
    embedded, connected = commands(block("orra studio"))
    for line in (embedded, on_port(connected, port).replace("sk-orra-v1-…", key)):
        studio_port = free_port()
        studio = newcomer.start(f"{line.split('  #')[0]} --port {studio_port}", "studio")
        try:
            address = wait_until(partial(_address, studio, studio_port), 60, "its address")
            page = httpx.get(address, timeout=30, follow_redirects=True)
            assert page.status_code == 200, page.text[:500]
        finally:
            studio.stop()


def _address(studio: Background, port: int) -> str | None:
    """The address with its login token that ``orra studio`` prints, once it has."""
    found = re.search(rf"http://127\.0\.0\.1:{port}/\?token=\S+", studio.output())
    return found.group(0) if found else None


def test_the_notebook_block_runs_as_written_in_ipython(newcomer: Newcomer) -> None:
    code = block("%load_ext orra_studio")
    checks = 'print("STATUS", result.status)\nprint("ROWS", len(result.to_pandas()))\n'
    (newcomer.home / "readme.ipy").write_text(code + checks)
    shown = newcomer.run(
        f"{sys.executable} -m IPython --colors=NoColor readme.ipy", cwd=newcomer.home
    )
    assert "STATUS COMPLETED" in shown and "ROWS 4" in shown, shown[-3000:]
    assert "Error" not in shown, shown[-3000:]
