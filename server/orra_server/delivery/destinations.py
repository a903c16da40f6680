"""Where the server may send a webhook: public http(s) addresses only, unless the operator
allows private ones (``--allow-private-webhooks``).

A webhook URL makes the *server* open a connection, so a caller who could name any URL could
reach what only the server can reach: its own API on loopback, a database on the private
network, a cloud metadata endpoint. The URL is checked when it is added (its form, and every
address its host resolves to) and again at each delivery against the address the delivery
actually connects to — a name may resolve elsewhere by then (DNS rebinding). A delivery
connects to the vetted IP itself and sends the host name as ``Host`` and TLS SNI.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..core.errors import BadRequest

__all__ = [
    "Destination",
    "ForbiddenDestination",
    "check_url_form",
    "check_webhook_url",
    "forbidden_reason",
    "resolve_allowed",
]

#: names that mean "this machine" or a cloud metadata service whatever they resolve to
_FORBIDDEN_NAMES = frozenset(
    {"localhost", "metadata.google.internal", "metadata.goog", "metadata", "instance-data"}
)
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_EXAMPLE = "e.g. 'https://hooks.example.com/orra'"


class ForbiddenDestination(BadRequest):
    code = "webhook_url_forbidden"


@dataclass(frozen=True, slots=True)
class Destination:
    """A checked URL's parts: what to connect to and what to call it."""

    url: str
    scheme: str
    host: str  # lowercase name or IP literal, no brackets
    port: int
    is_ip: bool


def check_url_form(url: str) -> Destination:
    """The URL's form: absolute http(s), no credentials, no control characters, a real host."""

    def bad(problem: str, code: str = "invalid_webhook_url") -> BadRequest:
        return BadRequest(
            f"webhook URL {url!r} {problem}; {_EXAMPLE}"[:1000], code=code, param="url"
        )

    if not url.lower().startswith(("http://", "https://")):
        raise bad("is not an absolute http(s) URL")
    if any(ord(c) < 0x21 or c == "\x7f" for c in url):
        raise bad("contains whitespace or control characters (CR, LF, …)")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise bad(f"cannot be parsed ({exc})") from None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise bad("is not an absolute http(s) URL")
    if "@" in parts.netloc:
        raise bad(
            "carries credentials (user:password@); authenticate the delivery by its "
            "webhook-signature header instead",
            code="webhook_url_credentials",
        )
    host = (parts.hostname or "").lower()
    if not host:
        raise bad("has no host")
    try:
        ipaddress.ip_address(host)  # only the canonical forms: 127.0.0.1, ::1
        is_ip = True
    except ValueError:
        is_ip = False
        labels = host.removesuffix(".").split(".")
        if len(host) > 253 or not all(_LABEL.match(label) for label in labels):
            raise bad("has a malformed host name") from None
        if labels[-1].isdigit():  # 2130706433, 0177.0.0.1: an address in disguise
            raise bad("has a host that is neither a name nor an IP address") from None
    return Destination(
        url=url,
        scheme=parts.scheme,
        host=host,
        port=port or (443 if parts.scheme == "https" else 80),
        is_ip=is_ip,
    )


def forbidden_reason(address: str) -> str | None:
    """Why the server must not connect to this IP, or None for a public address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for kind, flag in (
        ("loopback", ip.is_loopback),
        ("link-local (cloud metadata lives here)", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("unspecified", ip.is_unspecified),
        ("reserved", ip.is_reserved),
    ):
        if flag:
            return f"a {kind} address ({ip})"
    if not ip.is_global:
        return f"a non-public address ({ip})"
    return None


def check_name(destination: Destination) -> None:
    host = destination.host.removesuffix(".")
    if host in _FORBIDDEN_NAMES or host.endswith(".localhost"):
        raise ForbiddenDestination(
            f"webhook URL {destination.url!r} names '{host}', this machine or a metadata "
            "service; webhooks go to public addresses (an operator can allow private ones "
            "with --allow-private-webhooks)",
            param="url",
        )


async def resolve_allowed(
    destination: Destination, *, allow_private: bool, timeout: float = 3.0
) -> list[str]:
    """The host's addresses, refusing (``ForbiddenDestination``) if any is not public.

    Raises ``OSError`` when the name does not resolve (the caller decides what that means).
    """
    if not allow_private:
        check_name(destination)
    if destination.is_ip:
        addresses = [destination.host]
    else:
        loop = asyncio.get_running_loop()
        infos = await asyncio.wait_for(
            loop.getaddrinfo(destination.host, destination.port, type=socket.SOCK_STREAM),
            timeout,
        )
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
    if not allow_private:
        for address in addresses:
            reason = forbidden_reason(address)
            if reason is not None:
                raise ForbiddenDestination(
                    f"webhook URL {destination.url!r} leads to {reason}; webhooks go to public "
                    "addresses (an operator can allow private ones with "
                    "--allow-private-webhooks)",
                    param="url",
                )
    return addresses


async def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """Check a URL being added: its form, and its addresses when the name resolves now."""
    destination = check_url_form(url)
    try:
        await resolve_allowed(destination, allow_private=allow_private)
    except (OSError, TimeoutError):
        pass  # not resolvable now: each delivery checks again
    return url
