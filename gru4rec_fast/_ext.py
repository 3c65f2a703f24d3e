"""Lazy access to the compiled extension gru4rec_fast._C.

Importing gru4rec_fast never requires the extension (data handling and the reference ops
work without it); the first fused op call loads it and, if it is missing, raises
ExtensionNotBuiltError with the command that builds it. Loading it defines the operators
torch.ops.gru4rec_fast.* (csrc/library.cpp); `ops()` then adds, once, their fake kernels
and autograd formulas (gru4rec_fast/ops/_library.py) and returns that namespace.
"""
import functools

BUILD_HINT = (
    "build it from the source checkout with\n"
    "    pip install --no-build-isolation -e .\n"
    "(or `python setup.py build_ext --inplace`; GRU4REC_FAST_CPU_ONLY=1 skips CUDA)"
)


class ExtensionNotBuiltError(ImportError):
    """The compiled extension gru4rec_fast._C is missing or failed to load."""


@functools.lru_cache(maxsize=None)
def ext():
    """Return the compiled module, importing it once; raise a helpful error if absent."""
    # torch must be imported first: _C links against libc10/libtorch, which only
    # torch's own import puts within the loader's reach.
    import torch  # noqa: F401, PLC0415
    try:
        from gru4rec_fast import _C  # noqa: PLC0415
    except ImportError as err:
        raise ExtensionNotBuiltError(
            f"gru4rec_fast's compiled extension could not be loaded ({err}); {BUILD_HINT}"
        ) from err
    return _C


_OPS = None  # torch.ops.gru4rec_fast once registered; a plain global so torch.compile can read it


def ops():
    """The operator namespace torch.ops.gru4rec_fast, with fake kernels and autograd
    registered: the fused ops call ``ops().<op>(...)``. Loads the extension first."""
    global _OPS
    if _OPS is None:
        from gru4rec_fast.ops import _library  # noqa: PLC0415
        _OPS = _library.register(ext().ops_namespace)
    return _OPS


def available():
    """True when the compiled extension loads."""
    try:
        ext()
    except ExtensionNotBuiltError:
        return False
    return True


def with_cuda():
    """True when the extension was built with its CUDA kernels."""
    return ext().with_cuda()
