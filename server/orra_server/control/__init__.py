"""The application layer: one module per use case the product offers (submit, preview,
re-run, approve, reject, cancel, get, list, register…). Each takes a typed command, checks
limits, tenancy and state, asks the engine to act and records it; the REST API, the embedded
server and the CLI's local paths call these and nothing below them (README.md beside this
file)."""

from .runtime import Runtime

__all__ = ["Runtime"]
