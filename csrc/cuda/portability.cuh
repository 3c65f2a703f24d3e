// The CUDA vocabulary that the kernel headers (csrc/cuda/kernels/) may use, and nothing
// more: thread and block indices, __syncthreads, __syncwarp, warp shuffles and ballots,
// atomics, static __shared__ arrays, dynamic shared memory (G4R_DYNAMIC_SHARED),
// CUDA_KERNEL_ASSERT, __ldg and the round-to-nearest intrinsics. Under nvcc these are
// CUDA's own; in the CPU emulation used by the tests (G4R_CUDA_EMU, csrc/emu/) they come
// from csrc/emu/cuda_emu.h, so the same kernel source runs in both.
#pragma once
#if defined(__CUDACC__)
#include <cuda_runtime.h>
#include <c10/macros/Macros.h>  // CUDA_KERNEL_ASSERT
// Dynamic shared memory: `extern __shared__` has no host-C++ spelling, hence a macro.
#define G4R_DYNAMIC_SHARED(type, name) extern __shared__ __align__(16) type name[]
#elif defined(G4R_CUDA_EMU)
#include "emu/cuda_emu.h"
#else
#error "csrc/cuda/kernels/ headers compile under nvcc or in the CUDA emulation (G4R_CUDA_EMU) only"
#endif
