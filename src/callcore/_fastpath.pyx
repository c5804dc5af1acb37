# cython: language_level=3
"""Hot loops of callcore's media path, compiled with Cython.

Every public function here has a bit-exact twin in ``_fastpath_py.py``;
``callcore.fastpath`` chooses between them. Declarations live in
``_fastpath.pxd``, public types in ``_fastpath.pyi``.
"""

__all__: list = []
