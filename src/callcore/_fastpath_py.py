"""Pure-Python twin of ``_fastpath.pyx``: same functions, bit-exact results."""

__all__: list[str] = []
