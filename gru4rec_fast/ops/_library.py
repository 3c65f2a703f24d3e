"""The Python half of the operators' registration with torch.library: each op module's
``register(namespace)`` adds the fake (meta) kernel and, for differentiable ops, the
autograd formula of its operators. The schemas and the CPU/CUDA kernels come from C++
(csrc/op_schemas.h); the namespace is ``gru4rec_fast`` for the product extension and
``gru4rec_fast_emu`` for the CUDA emulation of the tests, registered the same way.
"""
import importlib

import torch

# The op modules with a `register(namespace)` (by module name: the package re-exports
# functions of the same names).
_MODULES = ("sampled_scores", "fused_loss", "sparse_row_update", "gru_step", "eval_rank",
            "cdf_sample", "topk_scores")
_REGISTERED = {}


def register(namespace):
    """Register every op's fake kernel and autograd under ``namespace`` (once) and return
    ``torch.ops.<namespace>``. The extension defining the namespace must be loaded."""
    if namespace not in _REGISTERED:
        for name in _MODULES:
            importlib.import_module(f"gru4rec_fast.ops.{name}").register(namespace)
        _REGISTERED[namespace] = getattr(torch.ops, namespace)
    return _REGISTERED[namespace]


def call(op, *args):
    """Call the registered operator ``op`` (an ``OpOverload`` of ``ops()``) on ``args``.

    When autograd has nothing to record (grad mode off, or no tensor argument requires
    grad), the call goes straight to the device kernel: the Python autograd kernel that
    ``torch.library.register_autograd`` installs would otherwise run on every call only to
    find that and redispatch (3-5 us of a 12-20 us call on a 1-row input,
    benches/results/cpu_eval_e2e_2026-11-29.md). That is the same check and the same
    redispatch below autograd, done here without the Python detour. Under torch.compile
    the plain call is traced, so the graph holds the operator itself.
    """
    if torch.compiler.is_compiling() or (torch.is_grad_enabled() and any(
            isinstance(a, torch.Tensor) and a.requires_grad for a in args)):
        return op(*args)
    with torch._C._AutoDispatchBelowAutograd():
        return op(*args)


def same_device(op, ref_name, ref, ref_first=True, **tensors):
    """The device check of the C++ kernels, for fake kernels: a fake or meta call with
    tensors on different devices fails as the real one would, with the same message
    (``ref_first`` names the reference first, as that op's C++ check does)."""
    for name, t in tensors.items():
        if t.device != ref.device:
            a, b = ((ref_name, ref), (name, t)) if ref_first else ((name, t), (ref_name, ref))
            raise RuntimeError(f"{op}: '{a[0]}' is on {a[1].device} but '{b[0]}' is on {b[1].device}")
