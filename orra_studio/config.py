"""Where the CLI and the notebook find the control plane and a project's key.

Settings resolve flag > ``ORRA_*`` environment > config file. The file is TOML at
``$ORRA_CONFIG`` or ``~/.orra/config.toml``, written by ``orra login`` and ``orra projects add``
and removed by ``orra logout``; it holds API keys, so it is created readable by its owner only::

    url = "http://localhost:8005"
    current_project = "new-orra-project"

    [projects.new-orra-project]
    id = "p_…"
    api_key = "sk-orra-v1-…"          # the CLI's own key for the project
    url = "http://localhost:8005"
    [projects.new-orra-project.api_keys]
    "My API Key" = "sk-orra-v1-…"     # keys made with `orra api-keys add`
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from .errors import ConfigError

__all__ = ["DEFAULT_URL", "Config", "Target", "config_path"]

DEFAULT_URL = "http://localhost:8005"


def config_path() -> Path:
    return Path(os.environ.get("ORRA_CONFIG") or Path.home() / ".orra" / "config.toml")


@dataclass
class Target:
    """The server and project one command talks to."""

    url: str
    api_key: str | None
    project: str | None


@dataclass
class Config:
    url: str | None = None
    current_project: str | None = None
    projects: dict[str, dict[str, Any]] = field(default_factory=dict)
    path: Path = field(default_factory=config_path)

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        path = path or config_path()
        if not path.exists():
            return cls(path=path)
        try:
            raw = tomllib.loads(path.read_text())
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(
                f"the config file {path} is not valid TOML ({exc}); fix it or remove it with "
                "'orra logout'"
            ) from exc
        return cls(
            url=raw.get("url"),
            current_project=raw.get("current_project"),
            projects=dict(raw.get("projects") or {}),
            path=path,
        )

    def save(self) -> None:
        raw: dict[str, Any] = {"projects": self.projects}
        if self.url:
            raw["url"] = self.url
        if self.current_project:
            raw["current_project"] = self.current_project
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            tomli_w.dump(raw, out)

    def remove(self) -> bool:
        """Forget everything (``orra logout``); whether there was anything to forget."""
        if self.path.exists():
            self.path.unlink()
            return True
        return False

    def add_project(self, name: str, project_id: str, api_key: str, url: str) -> None:
        self.projects[name] = {"id": project_id, "api_key": api_key, "url": url, "api_keys": {}}
        self.current_project = name

    def project(self, name: str) -> dict[str, Any]:
        if name not in self.projects:
            known = ", ".join(sorted(self.projects)) or "none yet"
            raise ConfigError(
                f"no project '{name}' in {self.path} (known: {known}); add it with "
                "'orra projects add NAME' or 'orra login --api-key KEY'"
            )
        return self.projects[name]

    def target(
        self, *, url: str | None = None, api_key: str | None = None, project: str | None = None
    ) -> Target:
        """flag > ``ORRA_URL`` / ``ORRA_API_KEY`` / ``ORRA_PROJECT`` > this file."""
        project = project or os.environ.get("ORRA_PROJECT") or self.current_project
        api_key = api_key or os.environ.get("ORRA_API_KEY")
        entry: dict[str, Any] = {}
        if project and not api_key:
            entry = self.project(project)
            api_key = entry.get("api_key")
        url = url or os.environ.get("ORRA_URL") or entry.get("url") or self.url or DEFAULT_URL
        return Target(url=url.rstrip("/"), api_key=api_key, project=project)

    def server_url(self, url: str | None = None) -> str:
        """Where the server is, when no project is needed: flag > ``ORRA_URL`` > the current
        project's server > the logged-in server > the default."""
        current = self.projects.get(self.current_project or "", {})
        chosen = url or os.environ.get("ORRA_URL") or current.get("url") or self.url or DEFAULT_URL
        return chosen.rstrip("/")
