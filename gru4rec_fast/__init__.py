"""gru4rec_fast: a fast, faithful GRU4Rec with C++/CUDA kernels.

The package imports without its compiled extension; calling a fused op then raises an
error that says how to build it (see gru4rec_fast._ext).
"""
__version__ = "0.1.0"
