"""Selects the compiled fast path or its bit-exact pure-Python twin.

``callcore._fastpath`` (Cython) and ``callcore._fastpath_py`` export the same
functions with the same results. The compiled module is used when it was built
and ``CALLCORE_PURE`` is not set to ``1``; otherwise the twin is used. Both are
importable directly so tests can run every function against each.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

PURE_ENV = "CALLCORE_PURE"


def load(pure: bool | None = None, name: str = "callcore._fastpath") -> ModuleType:
    """Return the fast-path module ``name`` or its ``_py`` twin.

    ``pure=None`` follows ``CALLCORE_PURE``; ``True`` forces the twin; ``False``
    demands the compiled module and raises ``ImportError`` if it is missing.
    """
    if pure is None:
        pure = os.environ.get(PURE_ENV, "") == "1"
        if not pure:
            try:
                return importlib.import_module(name)
            except ImportError:
                return importlib.import_module(name + "_py")
    return importlib.import_module(name + "_py" if pure else name)


impl: ModuleType = load()
#: True when the compiled extension is the one in use.
COMPILED: bool = not impl.__name__.endswith("_py")
