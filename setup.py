"""Declares the Cython fast-path extensions.

Every ``src/callcore/**/_*.pyx`` becomes an extension module of the same dotted
name. The extensions are optional: if compilation fails (no compiler, exotic
platform) the package still installs and each module's pure-Python twin
(``_name_py.py`` beside the ``.pyx``) is used instead.
"""

from pathlib import Path

from setuptools import Extension, setup

SRC = Path(__file__).parent / "src"


def _extensions() -> list[Extension]:
    exts = []
    for pyx in sorted(SRC.glob("callcore/**/_*.pyx")):
        rel = pyx.relative_to(SRC).with_suffix("")
        exts.append(
            Extension(
                ".".join(rel.parts),
                [str(pyx.relative_to(Path(__file__).parent))],
                extra_compile_args=["-O3", "-ffp-contract=off"],
                optional=True,
            )
        )
    try:
        from Cython.Build import cythonize
    except ImportError:  # no Cython: install pure Python only
        return []
    return cythonize(
        exts,
        language_level=3,
        compiler_directives={
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "initializedcheck": False,
        },
    )


setup(ext_modules=_extensions())
