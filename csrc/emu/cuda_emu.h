// CPU emulation of the CUDA execution model, for tests only (never in the product
// build): the kernel headers in csrc/cuda/kernels/ compile as host C++ against this
// header (through csrc/cuda/portability.cuh) and run on CPU tensors.
//
// Model: the grid's blocks run one after another; inside a block every thread is a
// cooperative fiber (ucontext) on one OS thread. A fiber runs until it reaches a
// synchronisation point (__syncthreads, a warp collective) or exits; the scheduler then
// picks the next runnable fiber at random from a seeded generator. So between two
// barriers the threads run in a random, reproducible order: a missing barrier or a
// shared-memory race gives a wrong result under some seed.
//  * __syncthreads: waits until every non-exited thread of the block has arrived.
//  * warp collectives (__shfl_*_sync, __ballot_sync, __syncwarp): wait until every lane
//    named in the mask has arrived; a mask naming an exited or missing lane is an error
//    (undefined behaviour on a GPU), as is a deadlock.
//  * static __shared__ arrays are function-local statics: one copy, reused by the blocks
//    one after another. Dynamic shared memory is a fresh heap buffer per block, filled
//    with 0xff bytes (NaN as float or double), exactly as large as the launch asked, so
//    AddressSanitizer sees an overflow.
//  * atomics are plain read-modify-writes: fibers never interleave inside one.
//  * a failed CUDA_KERNEL_ASSERT stops the launch; the launcher raises.
// Why ucontext: no dependency beyond glibc, deterministic single-OS-thread scheduling
// (OS threads with barriers cannot give a seeded order), and AddressSanitizer's fiber
// annotations cover it. What it cannot show: real concurrency between blocks, memory
// ordering, streams, timing and hardware limits.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <functional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace g4r_emu {

struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int x_ = 1, unsigned int y_ = 1, unsigned int z_ = 1)
      : x(x_), y(y_), z(z_) {}
};
struct uint3 {
  unsigned int x, y, z;
};

const uint3& thread_idx();
const uint3& block_idx();
const dim3& block_dim();
const dim3& grid_dim();
unsigned int lane_id();
void syncthreads();
// Deposits 8 bytes, waits for the lanes of `mask`, returns the bytes lane `src` deposited.
uint64_t warp_exchange(uint64_t bits, int src, unsigned int mask, const char* what);
unsigned int warp_ballot(bool pred, unsigned int mask);
void syncwarp(unsigned int mask);
unsigned char* dynamic_shared();
[[noreturn]] void kernel_assert_fail(const char* cond, const char* file, int line);

// Runs `body` as every thread of every block of the grid. Checks the configuration as
// CUDA does (at least one block and thread, at most 1024 threads, grid.y/z <= 65535,
// dynamic shared memory above 48 KiB only after set_max_dynamic_shared for `kernel`).
// Throws std::runtime_error on a failed kernel assertion, a deadlock or bad warp masks.
void run_grid(dim3 grid, dim3 block, size_t dynamic_smem, const void* kernel,
              const std::function<void()>& body);
// cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes).
void set_max_dynamic_shared(const void* kernel, size_t bytes);
// The emulated GPU's opt-in limit of shared memory per block (an H100's 227 KiB).
constexpr size_t kMaxSharedOptin = 232448;

// The seed of the thread order; the generator runs on across launches.
void set_schedule_seed(uint64_t seed);
uint64_t schedule_seed();
// Counters since the last set_schedule_seed: launches, blocks, threads, context switches.
struct Stats {
  uint64_t launches, blocks, threads, switches;
};
Stats stats();

// kernel<<<grid, block, smem>>>(args...): arguments are converted to the kernel's
// parameter types once and every thread gets its own copy, as on a GPU.
template <typename... P, typename... A>
void launch(void (*kernel)(P...), dim3 grid, dim3 block, size_t smem, A&&... args) {
  static_assert(sizeof...(P) == sizeof...(A), "launch: wrong number of kernel arguments");
  const std::tuple<std::decay_t<P>...> params(static_cast<std::decay_t<P>>(std::forward<A>(args))...);
  run_grid(grid, block, smem, reinterpret_cast<const void*>(kernel), [&] {
    std::tuple<std::decay_t<P>...> mine = params;
    std::apply(kernel, mine);
  });
}

template <typename T>
inline uint64_t to_bits(T v) {
  static_assert(std::is_trivially_copyable<T>::value && sizeof(T) <= 8, "shuffle: <= 8 bytes");
  uint64_t b = 0;
  std::memcpy(&b, &v, sizeof(T));
  return b;
}
template <typename T>
inline T from_bits(uint64_t b) {
  T v;
  std::memcpy(&v, &b, sizeof(T));
  return v;
}

}  // namespace g4r_emu

// ---- the CUDA vocabulary the kernel headers use ----
using g4r_emu::dim3;
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static
#define threadIdx (::g4r_emu::thread_idx())
#define blockIdx (::g4r_emu::block_idx())
#define blockDim (::g4r_emu::block_dim())
#define gridDim (::g4r_emu::grid_dim())
#define __syncthreads() ::g4r_emu::syncthreads()
#define G4R_DYNAMIC_SHARED(type, name) type* name = reinterpret_cast<type*>(::g4r_emu::dynamic_shared())
#ifdef CUDA_KERNEL_ASSERT
#undef CUDA_KERNEL_ASSERT
#endif
#define CUDA_KERNEL_ASSERT(cond) \
  do { if (!(cond)) ::g4r_emu::kernel_assert_fail(#cond, __FILE__, __LINE__); } while (0)

inline void __syncwarp(unsigned int mask = 0xffffffffu) { ::g4r_emu::syncwarp(mask); }

template <typename T>
inline T __shfl_sync(unsigned int mask, T v, int src, int width = 32) {
  const int lane = static_cast<int>(::g4r_emu::lane_id());
  const int base = lane - lane % width;
  return ::g4r_emu::from_bits<T>(
      ::g4r_emu::warp_exchange(::g4r_emu::to_bits(v), base + (src % width), mask, "__shfl_sync"));
}
template <typename T>
inline T __shfl_xor_sync(unsigned int mask, T v, int lane_mask, int width = 32) {
  const int lane = static_cast<int>(::g4r_emu::lane_id());
  const int base = lane - lane % width;
  const int src = base + ((lane % width) ^ lane_mask) % width;
  return ::g4r_emu::from_bits<T>(
      ::g4r_emu::warp_exchange(::g4r_emu::to_bits(v), src, mask, "__shfl_xor_sync"));
}
template <typename T>
inline T __shfl_down_sync(unsigned int mask, T v, unsigned int delta, int width = 32) {
  const int lane = static_cast<int>(::g4r_emu::lane_id());
  const int in_seg = lane % width;
  const int src = in_seg + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : lane;
  return ::g4r_emu::from_bits<T>(
      ::g4r_emu::warp_exchange(::g4r_emu::to_bits(v), src, mask, "__shfl_down_sync"));
}
inline unsigned int __ballot_sync(unsigned int mask, int pred) {
  return ::g4r_emu::warp_ballot(pred != 0, mask);
}
inline int __popc(unsigned int x) { return __builtin_popcount(x); }

// Fibers never interleave inside these, so plain read-modify-writes are atomic.
template <typename T>
inline T atomicAdd(T* address, T val) {
  const T old = *address;
  *address = old + val;
  return old;
}
template <typename T>
inline T atomicMax(T* address, T val) {
  const T old = *address;
  *address = old > val ? old : val;
  return old;
}
template <typename T>
inline T __ldg(const T* p) { return *p; }

// Round-to-nearest intrinsics: the emulation module is compiled with -ffp-contract=off,
// so these are single roundings as on the GPU.
inline float __fadd_rn(float a, float b) { return a + b; }
inline double __dadd_rn(double a, double b) { return a + b; }
inline float __fmul_rn(float a, float b) { return a * b; }
inline double __dmul_rn(double a, double b) { return a * b; }
inline float __fmaf_rn(float a, float b, float c) { return std::fma(a, b, c); }
inline double __fma_rn(double a, double b, double c) { return std::fma(a, b, c); }
