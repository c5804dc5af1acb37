"""callcore — a contact-center soft switch as a Python library."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
