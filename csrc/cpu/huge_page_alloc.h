// Uninitialised CPU tensors on transparent huge pages (2 MiB), for the large item tables
// and their optimiser state: the training step touches ~2k random rows of each per step,
// and on 4 KiB pages nearly every cold row is also a TLB miss.
//
// The memory is an anonymous mmap, 2 MiB-aligned and a whole number of 2 MiB pages long,
// advised MADV_HUGEPAGE before its first touch (so the kernel backs it with huge pages
// when THP is "always" or "madvise"), and unmapped when the tensor's storage dies. It is
// only a hint: values never depend on it, and every failure falls back to ordinary
// memory silently. Plain at::empty is used instead for tensors under
// kHugePageMinBytes, on non-Linux builds, and when GRU4REC_FAST_HUGE_PAGES=0 (read at
// each call).
#pragma once
#include <ATen/ATen.h>

#include <cstdint>

namespace gru4rec {

inline constexpr int64_t kHugePageBytes = int64_t{2} << 20;     // x86-64 / arm64 THP size
inline constexpr int64_t kHugePageMinBytes = int64_t{4} << 20;  // smaller: not worth a page

// True unless GRU4REC_FAST_HUGE_PAGES is 0/false/no/off, and the build is for Linux.
bool huge_pages_enabled();

// A contiguous CPU tensor of `sizes` and `dtype`, uninitialised, on huge pages where
// possible (see above). Its storage stays resizable (growth reallocates through the same
// allocator).
at::Tensor empty_huge_pages(at::IntArrayRef sizes, at::ScalarType dtype);

}  // namespace gru4rec
