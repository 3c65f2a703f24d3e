"""Build of gru4rec_fast and its compiled extension gru4rec_fast._C.

CUDA is compiled in whenever the installed torch has CUDA and nvcc is found, whether or
not a GPU is present (CI has none). Environment switches:
  GRU4REC_FAST_CPU_ONLY=1   build the CPU kernels only (fast iteration)
  GRU4REC_FAST_FORCE_CUDA=1 fail unless CUDA can be compiled in
  TORCH_CUDA_ARCH_LIST      target GPUs; defaults to "8.0;9.0" here (no device is probed)
  MAX_JOBS                  parallel compile jobs (ninja); nvcc needs GBs per job
"""
import glob
import os
import sys

from setuptools import find_packages, setup


def _flag(name):
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _extensions():
    import torch
    from torch.utils.cpp_extension import CUDA_HOME, CppExtension, CUDAExtension

    cpu_only = _flag("GRU4REC_FAST_CPU_ONLY")
    force_cuda = _flag("GRU4REC_FAST_FORCE_CUDA")
    if cpu_only and force_cuda:
        sys.exit("setup.py: GRU4REC_FAST_CPU_ONLY and GRU4REC_FAST_FORCE_CUDA are both set")
    # Decide from the toolchain, never from torch.cuda.is_available(): a GPU-less CI
    # machine must still compile (and so test the compilation of) the CUDA kernels.
    cuda_possible = torch.version.cuda is not None and CUDA_HOME is not None
    with_cuda = (cuda_possible and not cpu_only) or force_cuda
    if force_cuda and not cuda_possible:
        sys.exit("setup.py: GRU4REC_FAST_FORCE_CUDA=1 but torch has no CUDA or nvcc was not "
                 f"found (torch.version.cuda={torch.version.cuda}, CUDA_HOME={CUDA_HOME})")

    here = os.path.dirname(os.path.abspath(__file__))
    sources = sorted(glob.glob(os.path.join("csrc", "*.cpp")) +
                     glob.glob(os.path.join("csrc", "cpu", "*.cpp")))
    include_dirs = [os.path.join(here, "csrc")]
    # No -std flag: torch picks the standard its headers need (C++20 from torch 2.10 on).
    cxx = ["-O3", "-fopenmp"]
    extra = {"cxx": cxx}
    define_macros = []
    if with_cuda:
        # No GPU can be probed here, so torch's arch detection must be given a list.
        # Only this variable picks the archs: an nvcc flag containing "arch" would make
        # torch ignore it (docs/development.md, Building).
        os.environ.setdefault("TORCH_CUDA_ARCH_LIST", "8.0;9.0")
        sources += sorted(glob.glob(os.path.join("csrc", "cuda", "*.cu")))
        define_macros.append(("WITH_CUDA", None))
        # No --use_fast_math: the losses need exact exp/log.
        extra["nvcc"] = ["-O3", "--expt-relaxed-constexpr", "-lineinfo"]
        ext_cls = CUDAExtension
    else:
        ext_cls = CppExtension
    print(f"gru4rec_fast: building {'with' if with_cuda else 'WITHOUT'} CUDA"
          + (f" for archs {os.environ['TORCH_CUDA_ARCH_LIST']}" if with_cuda else ""))
    return [ext_cls("gru4rec_fast._C", sources, include_dirs=include_dirs,
                    define_macros=define_macros, extra_compile_args=extra,
                    extra_link_args=["-fopenmp"])]


def _cmdclass():
    from torch.utils.cpp_extension import BuildExtension
    return {"build_ext": BuildExtension.with_options(use_ninja=True)}


setup(
    name="gru4rec_fast",
    version="0.1.0",
    description="Fast, faithful GRU4Rec (session-based recommendations) with C++/CUDA kernels",
    packages=find_packages(include=["gru4rec_fast", "gru4rec_fast.*"]),
    python_requires=">=3.10",
    install_requires=["torch", "numpy", "pandas", "tqdm"],
    # bench: benches/train.py draws its speed plot with matplotlib (optional there).
    # tune: gru4rec-fast paropt (Optuna; its plots; the PostgreSQL driver for shared studies,
    # which SQLAlchemy 2 knows as postgresql+psycopg).
    extras_require={"parquet": ["pyarrow"], "bench": ["matplotlib"],
                    "tune": ["optuna>=3.2", "matplotlib", "psycopg[binary]", "sqlalchemy>=2"]},
    ext_modules=_extensions(),
    cmdclass=_cmdclass(),
    entry_points={"console_scripts": ["gru4rec-fast=gru4rec_fast.cli:main"]},
)
