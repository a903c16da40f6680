"""Keep API keys out of every log line, whoever writes it.

The orra SDKs send their key in the ``/ws`` query string, and uvicorn logs each websocket
handshake with its query string at ``info``. A filter on every handler rewrites such lines
before they are written: ``sk-orra-v1-…`` and any ``apiKey=`` value become ``[redacted]``.
"""

from __future__ import annotations

import logging
import re

__all__ = ["KeyRedactor", "install", "redact"]

_SECRETS = re.compile(
    r"(sk-orra-[A-Za-z0-9_-]{4,})|((?:apiKey|api_key|token)=)[^&\s\"']+", re.IGNORECASE
)


def redact(text: str) -> str:
    return _SECRETS.sub(
        lambda m: "sk-orra-[redacted]" if m.group(1) else f"{m.group(2)}[redacted]", text
    )


class KeyRedactor(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_REDACTOR = KeyRedactor()
_LOGGERS = ("", "uvicorn", "uvicorn.error", "uvicorn.access", "orra")


def install() -> None:
    """Add the filter to every handler of the root, uvicorn and orra loggers (idempotent).

    Call it after logging is configured (uvicorn configures it when it starts).
    """
    for name in _LOGGERS:
        logger = logging.getLogger(name)
        if _REDACTOR not in logger.filters:
            logger.addFilter(_REDACTOR)
        for handler in logger.handlers:
            if _REDACTOR not in handler.filters:
                handler.addFilter(_REDACTOR)
