"""Keep secrets out of every log line, whoever writes it.

The orra SDKs send their key in the ``/ws`` query string, uvicorn logs each websocket handshake
with its query string, and a webhook URL may carry a secret in its query. Any URL may be
percent-encoded, in part or twice (``?%61piKey=%73k-orra-v1-…``), so matching literal text is not
enough: every piece of a line that holds an escape is also decoded (a few rounds, bounded) and
looked at in that form.

What goes: ``sk-orra-…`` keys, 64-hex-digit runs (a key's body), ``whsec_…`` webhook secrets,
``Bearer``/``Basic`` credentials, the values of query or JSON parameters whose names look like
secrets (``token``, ``apiKey``, ``secret``, ``password``, ``sig``…), credential headers, and the
literal secrets the server was configured with (the admin token, the LLM key).

:class:`KeyRedactor` is a logging ``Filter`` put on the *handlers* (a filter on a logger does
not see its children's records): uvicorn's handlers through ``serving.logging_config``, and every
handler present when :func:`install` runs, ``logging.lastResort`` included. It redacts the final
message (``%``-args applied) and any traceback text.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote, unquote_plus

__all__ = ["KeyRedactor", "add_secret", "install", "redact"]

MARK = "[redacted]"
#: rounds of percent-decoding: ``%2561`` is ``%61`` is ``a``; more rounds than this is noise
_DECODE_ROUNDS = 4
#: names of parameters whose values are secrets (matched anywhere in the name)
_SECRET_WORDS = r"(?:key|token|secret|passw|pwd|sig|auth|credential|session|cookie)"
_NAME = rf"[A-Za-z0-9_.\-\[\]]{{0,40}}{_SECRET_WORDS}[A-Za-z0-9_.\-\[\]]{{0,40}}"

_KEY = re.compile(r"sk-orra-(?:[A-Za-z0-9_-]|%[0-9A-Fa-f]{2})+", re.IGNORECASE)
_HEX_BODY = re.compile(r"(?<![0-9A-Fa-f])[0-9A-Fa-f]{64}(?![0-9A-Fa-f])")
_WEBHOOK_SECRET = re.compile(r"whsec_[A-Za-z0-9+/=_%-]+", re.IGNORECASE)
_CREDENTIAL = re.compile(r"\b(bearer|basic)(\s+)[^\s\"',;]+", re.IGNORECASE)
_HEADER = re.compile(
    r"\b(authorization|proxy-authorization|x-api-key|api-key|cookie|set-cookie|"
    r"x-orra-admin-token|webhook-signature)(\s*:\s*)[^\r\n\"']+",
    re.IGNORECASE,
)
_PARAM = re.compile(
    rf"(?<![A-Za-z0-9_.\-])({_NAME})(=)[^&\s\"'<>;,]+",
    re.IGNORECASE,
)
_JSON_PARAM = re.compile(
    rf"([\"'])({_NAME})\1(\s*:\s*)([\"'])(?:\\.|(?!\4).){{0,4096}}\4",
    re.IGNORECASE,
)
#: a piece of text that may hide a secret in an encoded form
_TOKEN = re.compile(r"[^\s\"'<>]+")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}|\\u[0-9A-Fa-f]{4}|\\x[0-9A-Fa-f]{2}|\+")
_BACKSLASH = re.compile(r"\\u([0-9A-Fa-f]{4})|\\x([0-9A-Fa-f]{2})")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

#: secrets known by value (the admin token, an LLM key): any text equal to them goes
_LITERALS: set[str] = set()


def add_secret(value: str | None) -> None:
    """Redact this exact value (and its encodings) from now on; values under 8 characters
    would redact ordinary words, so they are not taken."""
    if value and len(value) >= 8:
        _LITERALS.add(value)


def _plain(text: str) -> str:
    """Redact what is visible in ``text`` as it stands."""
    for literal in _LITERALS:
        if literal in text:
            text = text.replace(literal, MARK)
    text = _KEY.sub("sk-orra-" + MARK, text)
    text = _WEBHOOK_SECRET.sub("whsec_" + MARK, text)
    text = _CREDENTIAL.sub(lambda m: f"{m.group(1)}{m.group(2)}{MARK}", text)
    text = _HEADER.sub(lambda m: f"{m.group(1)}{m.group(2)}{MARK}", text)
    text = _JSON_PARAM.sub(
        lambda m: f"{m.group(1)}{m.group(2)}{m.group(1)}{m.group(3)}{m.group(4)}{MARK}{m.group(4)}",
        text,
    )
    text = _PARAM.sub(lambda m: f"{m.group(1)}={MARK}", text)
    return _HEX_BODY.sub(MARK, text)


def _decodings(token: str) -> list[str]:
    """``token`` decoded every way a URL, a form or an escaped string may encode it."""
    found = []
    for decode in (unquote, unquote_plus):
        value = token
        for _ in range(_DECODE_ROUNDS):
            step = _BACKSLASH.sub(lambda m: chr(int(m.group(1) or m.group(2), 16)), decode(value))
            if step == value:
                break
            value = step
        if value != token:
            found.append(value)
    return found


def _printable(text: str) -> str:
    """Decoded text may hold line breaks: shown escaped, so one record stays one line."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _decoded(match: re.Match[str]) -> str:
    token = match.group()
    for value in _decodings(token):
        cleaned = _plain(value)
        if cleaned != value:  # a secret hid behind an encoding: show the decoded, redacted form
            return _printable(cleaned)
    return token


def redact(text: str) -> str:
    """``text`` with every secret it shows, in any encoding, replaced by ``[redacted]``."""
    if _ESCAPE.search(text):
        text = _TOKEN.sub(_decoded, text)
    return _plain(text)


class KeyRedactor(logging.Filter):
    """Redacts a record's final message and traceback (once, whatever handler sees it first)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "orra_redacted", False):
            return True
        record.orra_redacted = True
        if record.name == "uvicorn.access" and isinstance(record.args, tuple):
            # its formatter unpacks the args: redact each one in place
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        else:
            try:
                message = record.getMessage()
            except Exception:  # args that do not fit the format: logging reports it itself
                message = str(record.msg)
            cleaned = redact(message)
            if cleaned != message:
                record.msg, record.args = cleaned, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_REDACTOR = KeyRedactor()


def _handlers() -> set[logging.Handler]:
    handlers: set[logging.Handler] = set(logging.getLogger().handlers)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            handlers.update(logger.handlers)
    if logging.lastResort is not None:
        handlers.add(logging.lastResort)
    return handlers


def install() -> None:
    """Put the filter on every handler of every logger of the process (idempotent).

    Call it after logging is configured (uvicorn configures it when it starts); handlers
    configured through ``serving.logging_config`` have it from the start.
    """
    for handler in _handlers():
        if not any(isinstance(f, KeyRedactor) for f in handler.filters):
            handler.addFilter(_REDACTOR)
