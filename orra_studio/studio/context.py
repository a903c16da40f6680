"""What every page of a studio needs: where the control plane is, and the project's key.

One :class:`StudioContext` per ``orra studio`` process; each browser session opens its own
:class:`~orra_studio.client.Client` from it (and closes it when the session ends), so sessions
share nothing but the server they talk to.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..client import Client

__all__ = ["StudioContext", "masked"]


def masked(api_key: str | None) -> str:
    """A key as the studio shows it: enough to tell two apart, never enough to use."""
    if not api_key:
        return "no key"
    return f"{api_key[:11]}…{api_key[-4:]}"


@dataclass(frozen=True)
class StudioContext:
    url: str
    api_key: str | None
    project: str | None = None
    #: what the header says about where the data lives (e.g. an embedded demo)
    note: str | None = None

    def client(self) -> Client:
        return Client(self.url, self.api_key, timeout=15.0)

    @property
    def where(self) -> str:
        who = self.project or "project"
        text = f"{self.url} · {who} · key {masked(self.api_key)}"
        return f"{text} · {self.note}" if self.note else text
