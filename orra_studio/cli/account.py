"""``orra login | logout | projects | webhooks | api-keys``: the seed README's set-up flow."""

from __future__ import annotations

import hashlib
import sys
from typing import Annotated

import typer

from ..client import Client
from ..config import DEFAULT_URL, Config
from ..errors import ConfigError, NotAnOrraServer
from ..render import listing, visible
from ..types import (
    ApiKey,
    ApiKeyCreated,
    ApiKeyRevoked,
    ApiKeyRotated,
    WebhookAdded,
    WebhookItem,
    WebhookRemoved,
)
from .common import (
    JsonFlag,
    Output,
    OutputOpt,
    UrlOpt,
    command,
    emit,
    err,
    shows,
)

__all__ = ["api_keys", "login", "logout", "projects", "webhooks"]

projects = typer.Typer(help="Add and manage projects.", no_args_is_help=True)
webhooks = typer.Typer(help="Add and manage webhooks for a project.", no_args_is_help=True)
api_keys = typer.Typer(help="Add and manage API keys for a project.", no_args_is_help=True)


@command
def login(
    url: Annotated[str, typer.Option("--url", help="control plane URL")] = DEFAULT_URL,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", help="attach an existing project by one of its keys"),
    ] = None,
    output: OutputOpt = Output.table,
    as_json: JsonFlag = False,
) -> None:
    """Log in to a control plane: check it answers and remember it (and a project's key)."""
    config = Config.load()
    with Client(url) as anonymous:
        health = anonymous.health()
    if not isinstance(health, dict) or health.get("status") != "ok":
        raise NotAnOrraServer(url.rstrip("/"), 200, "JSON without an Orra health status")
    config.url = url.rstrip("/")
    answer = {"url": config.url, "serverVersion": health.get("version"), "project": None}
    if api_key:
        with Client(url, api_key) as client:
            project = client.current_project()
        name = project.get("name") or project["id"]
        config.add_project(name, project["id"], api_key, config.url)
        answer["project"] = name
    config.save()
    answer["config"] = str(config.path)
    emit(answer, output, as_json, lambda a: _logged_in(a))


def _logged_in(answer: dict) -> str:
    project = f"; current project: {answer['project']}" if answer["project"] else ""
    return (
        f"Logged in to {answer['url']} (server {answer['serverVersion']}){project}. "
        f"Settings saved in {answer['config']}"
    )


@command
def logout(
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="do not ask before deleting stored API keys")
    ] = False,
) -> None:
    """Log out: remove the stored server URL and project keys (asks first when keys would go)."""
    config = Config.load()
    keys = sum(
        bool(entry.get("api_key")) + len(entry.get("api_keys") or {})
        for entry in config.projects.values()
    )
    if keys and not yes:
        question = (
            f"This deletes {keys} stored API key(s) of {len(config.projects)} project(s) "
            f"from {config.path}; the server cannot show them again. Continue?"
        )
        if not sys.stdin.isatty():
            raise ConfigError(
                f"logging out would delete {keys} stored API key(s); pass --yes to confirm"
            )
        if not typer.confirm(question, default=False):
            err.print("Kept everything.")
            raise typer.Exit(1)
    if config.remove():
        err.print(f"Logged out: removed {config.path}", markup=False)
    else:
        err.print(f"Already logged out: no {config.path}", markup=False)


@projects.command("add")
@command
def projects_add(
    name: Annotated[str, typer.Argument(help="project name")],
    url: UrlOpt = None,
    admin_token: Annotated[
        str | None,
        typer.Option(help="the server's admin token, if it has one", envvar="ORRA_ADMIN_TOKEN"),
    ] = None,
    output: OutputOpt = Output.table,
    as_json: JsonFlag = False,
) -> None:
    """Add a project on the server, store its key, and make it the current project."""
    config = Config.load()
    if name in config.projects:
        raise ConfigError(
            f"a project named '{name}' is already in {config.path}; pick another name or "
            f"'orra projects use {name}'"
        )
    server = config.server_url(url)
    with Client(server) as anonymous:
        project = anonymous.create_project(name, admin_token=admin_token)
    config.add_project(name, project["id"], project["apiKey"], server)
    config.url = config.url or server
    config.save()
    shown = {"name": name, "id": project["id"], "url": server, "current": True}
    emit(shown, output, as_json, lambda p: f"Project {p['name']} ({p['id']}) added and in use.")


@projects.command("ls")
@command
def projects_ls(output: OutputOpt = Output.table, as_json: JsonFlag = False) -> None:
    """List the projects this machine knows."""
    config = Config.load()
    rows = [
        {
            "current": "*" if name == config.current_project else "",
            "name": name,
            "id": entry.get("id"),
            "url": entry.get("url"),
        }
        for name, entry in sorted(config.projects.items())
    ]
    empty = "no projects on this machine; add one: orra projects add NAME"
    emit(rows, output, as_json, listing(["current", "name", "id", "url"], empty))


@projects.command("use")
@command
def projects_use(name: Annotated[str, typer.Argument(help="project name")]) -> None:
    """Make a project the current one."""
    config = Config.load()
    config.project(name)
    config.current_project = name
    config.save()
    err.print(f"Now using project {visible(name)}.", markup=False)


@webhooks.command("add")
@shows(lambda a: f"Webhook {a['url']} added (signing secret {a['secret']})")
def webhooks_add(
    client: Client,
    url_arg: Annotated[str | None, typer.Argument(metavar="URL", help="webhook URL")] = None,
    webhook_url: Annotated[str | None, typer.Option("--url", help="webhook URL")] = None,
) -> WebhookAdded:
    """Add a webhook that receives orchestration results (signed; see docs/api.md)."""
    chosen = webhook_url or url_arg
    if not chosen:
        raise typer.BadParameter("give the webhook URL: orra webhooks add --url URL")
    return client.add_webhook(chosen)


@webhooks.command("ls")
@shows(listing(["id", "url"], "no webhooks; add one: orra webhooks add --url URL"))
def webhooks_ls(client: Client) -> list[WebhookItem]:
    """List the project's webhooks with their ids."""
    return client.webhook_items()


@webhooks.command("rm")
@shows(lambda r: f"Webhook {r['id']} ({r['url']}) removed.")
def webhooks_rm(
    client: Client,
    ref: Annotated[str, typer.Argument(metavar="ID_OR_URL", help="webhook id (wh_…) or URL")],
) -> WebhookRemoved:
    """Remove a webhook: results are no longer delivered to it."""
    return client.remove_webhook(ref)


def _add_key(client: Client, name: str, project: str | None) -> ApiKeyCreated:
    added = client.add_api_key(name)
    config = Config.load()
    chosen = config.target(project=project).project
    if chosen in config.projects:
        config.projects[chosen].setdefault("api_keys", {})[name] = added["apiKey"]
        config.save()
    return added


_key_added = shows(lambda a: f"API key '{a['name']}': {a['apiKey']}")


@api_keys.command("add")
@_key_added
def api_keys_add(
    client: Client,
    name: Annotated[str, typer.Option("--name", "-n", help="what the key is for")],
    project: str | None,
) -> ApiKeyCreated:
    """Generate an API key for services and callers (shown once, kept in the config)."""
    return _add_key(client, name, project)


@api_keys.command("gen")
@_key_added
def api_keys_gen(
    client: Client,
    name: Annotated[str, typer.Argument(help="what the key is for")],
    project: str | None,
) -> ApiKeyCreated:
    """The original orra CLI's spelling of ``api-keys add``."""
    return _add_key(client, name, project)


_NO_KEYS = "no API keys; add one: orra api-keys add NAME"


@api_keys.command("ls")
@shows(
    listing(["id", "name", "createdAt", "apiKey"], "no API keys; add one: orra api-keys add NAME")
)
def api_keys_ls(client: Client, project: str | None) -> list[ApiKey]:
    """The project's keys by name; the key itself where this machine made it."""
    rows = client.api_keys()
    config = Config.load()
    chosen = config.target(project=project).project
    local = config.projects.get(chosen or "", {}).get("api_keys", {})
    for row in rows:
        row["apiKey"] = local.get(row["name"])  # type: ignore[typeddict-unknown-key]
    return rows


def _update_local_keys(
    project: str | None, name: str, revoked_id: str, new_key: str | None = None
) -> str | None:
    """Keep the config in step with a revoked or rotated key; returns a note for the user.

    The project's own key (the one this CLI uses) is replaced by a rotated one; if it was
    revoked outright, the note says the project needs another key.
    """
    config = Config.load()
    chosen = config.target(project=project).project
    entry = config.projects.get(chosen or "")
    if entry is None:
        return None
    note = None
    keys = entry.get("api_keys", {})
    if name in keys:
        if new_key is None:
            del keys[name]
        else:
            keys[name] = new_key
    own = entry.get("api_key") or ""
    if own and "k_" + hashlib.sha256(own.encode()).hexdigest()[:16] == revoked_id:
        if new_key is not None:
            entry["api_key"] = new_key
        else:
            note = (
                f"this machine used that key for project '{chosen}': attach another with "
                "'orra login --api-key KEY'"
            )
    config.save()
    return note


KeyRef = Annotated[str, typer.Argument(metavar="ID_OR_NAME", help="key id (k_…) or name")]


@api_keys.command("rm")
@shows(
    lambda r: (
        f"API key {r['id']} ('{r['name']}') revoked; "
        f"{r['disconnectedServices']} service connection(s) closed."
    )
)
def api_keys_rm(client: Client, ref: KeyRef, project: str | None) -> ApiKeyRevoked:
    """Revoke an API key: refused at once; services connected with it are disconnected."""
    revoked = client.revoke_api_key(ref)
    note = _update_local_keys(project, revoked["name"], revoked["id"])
    if note:
        err.print(f"note: {visible(note)}", markup=False)
    return revoked


@api_keys.command("rotate")
@shows(lambda r: f"API key '{r['name']}' rotated: {r['apiKey']} (old key {r['revoked']} revoked)")
def api_keys_rotate(client: Client, ref: KeyRef, project: str | None) -> ApiKeyRotated:
    """Replace a key with a new one of the same name; the old one is revoked."""
    rotated = client.rotate_api_key(ref)
    _update_local_keys(project, rotated["name"], rotated["revoked"], rotated["apiKey"])
    return rotated
