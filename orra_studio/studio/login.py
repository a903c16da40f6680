"""The studio's login: a token (printed once in the start URL, as Jupyter does) or a password,
exchanged for a signed session cookie; a gate in front of every route refuses everyone else.

Why a gate in front of Tornado's routing rather than Bokeh's ``@authenticated`` alone: Bokeh
checks the user on its page handlers and only *after* a websocket handshake, and Panel adds
routes of its own. The gate answers before any handler is chosen, so every path — pages,
assets, ``/ws`` (refused before the handshake), whatever a later Panel adds — is closed unless
the request carries the session cookie or ``Authorization: token <token>`` (what the JupyterLab
proxy adds). Bokeh's own hooks are given the same check as a second line.

The cookie is signed with a secret made at start-up, so a cookie from an earlier or another
studio is refused; it is HttpOnly and SameSite=Strict, so a page of another site can neither
read it nor ride on it (and Bokeh's websocket origin check stands behind that).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import html
import json
import re
import secrets
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from bokeh.server.auth_provider import AuthProvider
from tornado import web
from tornado.httputil import HTTPServerRequest

__all__ = ["Credentials", "Password", "StudioLogin", "new_token", "valid_token"]

#: a token fits in a URL as it is: unreserved ASCII only, long enough not to be guessed
TOKEN = re.compile(r"[A-Za-z0-9._~-]{16,256}")
#: the value of a signed session cookie (the signature is what matters)
SESSION = b"orra-studio-session"
#: how long a session cookie is accepted (its signature carries the time it was made)
SESSION_DAYS = 7
#: wrong secrets accepted per minute (for the whole studio) before it answers 429
ATTEMPTS_PER_MINUTE = 10
#: bounds on what the login form reads
MAX_SECRET = 1024
MAX_NEXT = 2048


def new_token() -> str:
    """A token for one start of the studio (256 random bits)."""
    return secrets.token_urlsafe(32)


def valid_token(text: str) -> bool:
    return TOKEN.fullmatch(text) is not None


@dataclass(frozen=True)
class Password:
    """A password kept only as a scrypt digest."""

    salt: bytes
    digest: bytes

    @staticmethod
    def _hash(text: str, salt: bytes) -> bytes:
        return hashlib.scrypt(text.encode(), salt=salt, n=2**14, r=8, p=1, dklen=32)

    @classmethod
    def of(cls, text: str) -> Password:
        salt = secrets.token_bytes(16)
        return cls(salt, cls._hash(text, salt))

    def matches(self, text: str) -> bool:
        return hmac.compare_digest(self._hash(text, self.salt), self.digest)


@dataclass(frozen=True)
class Credentials:
    """What logs in: the token (None: token login off), the password (None: off)."""

    token: str | None
    password: Password | None = None

    def token_matches(self, text: str) -> bool:
        return self.token is not None and hmac.compare_digest(text.encode(), self.token.encode())

    def accepts(self, secret: str) -> bool:
        """The token or the password (slow: scrypt; call it off the event loop)."""
        if self.token_matches(secret):
            return True
        return self.password is not None and self.password.matches(secret)


@dataclass
class _Attempts:
    """Wrong secrets in the last minute, for the whole studio."""

    times: deque[float] = field(default_factory=deque)

    def allowed(self) -> bool:
        now = time.monotonic()
        while self.times and now - self.times[0] > 60:
            self.times.popleft()
        return len(self.times) < ATTEMPTS_PER_MINUTE

    def failed(self) -> None:
        self.times.append(time.monotonic())


class StudioLogin(AuthProvider):
    """The login of one studio process: its credentials, cookie and gate."""

    def __init__(self, credentials: Credentials, *, cookie_name: str, prefix: str = "") -> None:
        self.credentials = credentials
        self.cookie_name = cookie_name
        self.prefix = prefix.rstrip("/")
        self._secret = secrets.token_bytes(32)  # per start: older cookies are refused
        self._attempts = _Attempts()
        super().__init__()

    # -- who is logged in ---------------------------------------------------------------

    def signed_in(self, request: HTTPServerRequest) -> bool:
        """The session cookie, or the token in an ``Authorization: token …`` header."""
        scheme, _, value = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "token" and self.credentials.token_matches(value.strip()):
            return True
        morsel = request.cookies.get(self.cookie_name)
        if morsel is None or len(morsel.value) > 512:
            return False
        value = web.decode_signed_value(
            self._secret, self.cookie_name, morsel.value, max_age_days=SESSION_DAYS
        )
        return value is not None and hmac.compare_digest(value, SESSION)

    def start_session(self, handler: web.RequestHandler) -> None:
        signed = web.create_signed_value(self._secret, self.cookie_name, SESSION)
        handler.set_cookie(
            self.cookie_name,
            signed.decode(),
            path=self.prefix + "/",
            httponly=True,
            samesite="Strict",
            secure=handler.request.protocol == "https",
        )

    # -- Bokeh's hooks (a second line behind the gate) ----------------------------------

    @property
    def get_user(self) -> Any:
        return lambda handler: "studio" if self.signed_in(handler.request) else None

    login_url = "/login"
    logout_url = "/logout"

    @property
    def login_handler(self) -> type[web.RequestHandler]:
        return self._bound(_LoginHandler)

    @property
    def logout_handler(self) -> type[web.RequestHandler]:
        return self._bound(_LogoutHandler)

    def _bound(self, handler: type[web.RequestHandler]) -> type[web.RequestHandler]:
        """``handler`` knowing this provider: Bokeh takes a handler class, not an instance."""
        return type(f"Bound{handler.__name__}", (handler,), {"provider": self})

    # -- the gate -----------------------------------------------------------------------

    def guard(self, app: web.Application) -> None:
        """Put the gate in front of every route of ``app`` (default deny)."""
        find = app.find_handler
        open_paths = {self.prefix + "/login", self.prefix + "/logout"}
        token_handler, refuse_handler = self._bound(_TokenHandler), self._bound(_RefuseHandler)

        def gated(request: HTTPServerRequest, **kwargs: Any) -> Any:
            if request.path in open_paths:
                return find(request, **kwargs)
            if "token" in request.query_arguments and request.method in ("GET", "HEAD"):
                return app.get_handler_delegate(request, token_handler)
            if self.signed_in(request):
                return find(request, **kwargs)
            return app.get_handler_delegate(request, refuse_handler)

        app.find_handler = gated  # type: ignore[method-assign]

    def _bound(self, cls: type[_Handler]) -> type[_Handler]:
        return type(cls.__name__, (cls,), {"provider": self})

    def safe_next(self, target: str | None) -> str:
        """Where to go after logging in: a path of this studio, never another site."""
        home = self.prefix + "/"
        if not target or len(target) > MAX_NEXT or not target.startswith(home):
            return home
        if target.startswith("//") or "\\" in target or any(ord(c) < 33 for c in target):
            return home
        return target


class _Handler(web.RequestHandler):
    provider: StudioLogin

    def login_page(self, status: int, message: str = "", next_url: str = "") -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
            "frame-ancestors 'self'",
        )
        self.finish(_login_html(self.provider.prefix + "/login", message, next_url))

    def refuse(self, status: int, code: str, message: str) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps({"error": code, "message": message}))

    def check_xsrf_cookie(self) -> None:  # the login form is the only POST, and it is public
        return None


class _RefuseHandler(_Handler):
    """Not logged in: a person's page goes to the login form; anything else gets 401."""

    def prepare(self) -> None:
        upgrade = self.request.headers.get("Upgrade", "").lower() == "websocket"
        if self.request.method in ("GET", "HEAD") and not upgrade:
            query = urlencode({"next": self.request.uri or ""})
            self.redirect(f"{self.provider.prefix}/login?{query}")
            return
        self.refuse(
            401,
            "login_required",
            "this studio needs its login: open the URL `orra studio` printed (it carries "
            "?token=…), or log in with the token or password at /login",
        )


class _TokenHandler(_Handler):
    """``?token=`` in a URL: a right one becomes a session cookie and leaves the address bar."""

    def prepare(self) -> None:
        token = self.get_query_argument("token", "")
        if not self.provider.credentials.token_matches(token):
            # not counted against the password brake: a token cannot be guessed, and counting
            # these would let anyone lock people out of the password form with bad URLs
            self.login_page(401, "That token is not this studio's.")
            return
        self.provider.start_session(self)
        rest = [(k, v) for k, vs in self.request.query_arguments.items() for v in vs]
        query = urlencode([(k, v.decode("utf-8", "replace")) for k, v in rest if k != "token"])
        self.redirect(self.provider.safe_next(self.request.path) + (f"?{query}" if query else ""))


class _LoginHandler(_Handler):
    """The form: the token or the password, for a session cookie."""

    def get(self) -> None:
        self.login_page(200, next_url=self.get_query_argument("next", "")[:MAX_NEXT])

    async def post(self) -> None:
        secret = self.get_body_argument("secret", "")
        next_url = self.get_body_argument("next", "")[:MAX_NEXT]
        credentials = self.provider.credentials
        if not credentials.token_matches(secret) and not self.provider._attempts.allowed():
            # a token (256 bits) needs no brake; a person's password does
            self.refuse(429, "too_many_attempts", "too many wrong secrets; wait a minute")
            return
        if len(secret) > MAX_SECRET or not await asyncio.to_thread(credentials.accepts, secret):
            self.provider._attempts.failed()
            self.login_page(401, "That is not this studio's token or password.", next_url)
            return
        self.provider.start_session(self)
        self.redirect(self.provider.safe_next(next_url))


class _LogoutHandler(_Handler):
    def get(self) -> None:
        self.clear_cookie(self.provider.cookie_name, path=self.provider.prefix + "/")
        self.login_page(200, "Logged out.")


def _login_html(action: str, message: str, next_url: str) -> str:
    """A page with nothing to load: no script, no remote font, inline style only."""
    notice = f'<p class="notice">{html.escape(message)}</p>' if message else ""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Orra Studio — log in</title>
<style>
body {{ font-family: system-ui, sans-serif; background: #f6f8fa; margin: 0; }}
main {{ max-width: 440px; margin: 12vh auto; background: #fff; padding: 28px;
  border: 1px solid #d0d7de; border-radius: 8px; }}
h1 {{ font-size: 20px; margin-top: 0; }} p {{ color: #57606a; font-size: 14px; }}
.notice {{ color: #cf222e; }} input {{ width: 100%; box-sizing: border-box; padding: 8px;
  font-size: 14px; margin: 8px 0 16px; }}
button {{ background: #0969da; color: #fff; border: 0; padding: 8px 16px; border-radius: 6px;
  font-size: 14px; }}
</style></head>
<body><main class="orra-login-page"><h1>Orra Studio</h1>
<p>Open the URL <code>orra studio</code> printed when it started (it carries
<code>?token=…</code>), or enter the token or the password here.</p>{notice}
<form method="post" action="{html.escape(action)}">
<label for="secret">Token or password</label>
<input id="secret" name="secret" type="password" autocomplete="current-password" autofocus>
<input type="hidden" name="next" value="{html.escape(next_url)}">
<button type="submit">Log in</button></form></main></body></html>"""
