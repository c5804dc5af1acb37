import os
import subprocess
import sys

from callcore import fastpath


def test_compiled_extension_is_built_in_ci():
    # make test builds the extension; CI must exercise it, not silently fall back.
    if os.environ.get("CI"):
        assert fastpath.load(pure=False).__name__ == "callcore._fastpath"


def test_pure_env_forces_twin():
    code = "from callcore import fastpath; print(fastpath.COMPILED, fastpath.impl.__name__)"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "CALLCORE_PURE": "1"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert out == ["False", "callcore._fastpath_py"]


def test_twins_export_the_same_names():
    try:
        fast = fastpath.load(pure=False)
    except ImportError:
        return
    assert sorted(fast.__all__) == sorted(fastpath.load(pure=True).__all__)
