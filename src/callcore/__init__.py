"""callcore — a contact-center soft switch as a Python library."""

from __future__ import annotations

from callcore.switch.app import App
from callcore.switch.call import Call, CallError, CallEvent, DialResult, Hangup
from callcore.switch.endpoint import Endpoint

__version__ = "0.1.0"

__all__ = [
    "App",
    "Call",
    "CallError",
    "CallEvent",
    "DialResult",
    "Endpoint",
    "Hangup",
    "__version__",
]
