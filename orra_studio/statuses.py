"""The status vocabulary under the name users' code has imported it by.

It is ``orra_sdk.vocabulary``'s (one vocabulary for the server, the SDK and the client; the
studio still never imports the server); the studio's own modules import it from there.
"""

from __future__ import annotations

from orra_sdk.vocabulary import TERMINAL as TERMINAL_STATUSES
from orra_sdk.vocabulary import OrchestrationStatus, StepStatus

__all__ = ["TERMINAL_STATUSES", "OrchestrationStatus", "StepStatus"]
