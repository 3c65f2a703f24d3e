#include "huge_page_alloc.h"

#include <ATen/EmptyTensor.h>
#include <c10/core/CPUAllocator.h>

#include <cctype>
#include <cstdlib>
#include <string>

#ifdef __linux__
#include <sys/mman.h>
#endif

namespace gru4rec {

bool huge_pages_enabled() {
#ifdef __linux__
  const char* v = std::getenv("GRU4REC_FAST_HUGE_PAGES");
  if (v == nullptr) return true;
  std::string s(v);
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return !(s == "0" || s == "false" || s == "no" || s == "off");
#else
  return false;
#endif
}

#ifdef __linux__
namespace {

// What the deleter needs to unmap a region.
struct HugeRegion {
  void* base;
  std::size_t length;
};

void unmap_region(void* ctx) {
  auto* r = static_cast<HugeRegion*>(ctx);
  munmap(r->base, r->length);
  delete r;
}

std::size_t round_up(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

// Maps `length` bytes (a multiple of the huge page size) at a huge-page-aligned address,
// advised MADV_HUGEPAGE; nullptr when the kernel refuses the mapping.
void* map_aligned(std::size_t length) {
  const std::size_t page = static_cast<std::size_t>(kHugePageBytes);
  // mmap only promises 4 KiB alignment: map one huge page more and trim both ends.
  const std::size_t padded = length + page;
  void* raw = mmap(nullptr, padded, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (raw == MAP_FAILED) return nullptr;
  const auto start = reinterpret_cast<std::uintptr_t>(raw);
  const std::uintptr_t aligned = (start + page - 1) / page * page;
  const std::size_t head = aligned - start, tail = padded - head - length;
  if (head) munmap(raw, head);
  if (tail) munmap(reinterpret_cast<void*>(aligned + length), tail);
  void* p = reinterpret_cast<void*>(aligned);
  // Before the first touch, so the first faults already take huge pages. A failure
  // (THP compiled out or "never") leaves ordinary pages: still correct memory.
  (void)madvise(p, length, MADV_HUGEPAGE);
  return p;
}

// The allocator of the tensors' storages (a global, as allocators must outlive them).
// Small requests and refused mappings go to the ordinary CPU allocator; each DataPtr
// carries its own deleter, so both kinds free correctly.
struct HugePageAllocator final : c10::Allocator {
  c10::DataPtr allocate(std::size_t n) override {
    if (static_cast<int64_t>(n) >= kHugePageMinBytes && huge_pages_enabled()) {
      const std::size_t length = round_up(n, static_cast<std::size_t>(kHugePageBytes));
      if (void* p = map_aligned(length))
        return {p, new HugeRegion{p, length}, &unmap_region, c10::Device(c10::DeviceType::CPU)};
    }
    return c10::GetCPUAllocator()->allocate(n);
  }
  void copy_data(void* dest, const void* src, std::size_t count) const override {
    default_copy_data(dest, src, count);
  }
};

HugePageAllocator huge_page_allocator;

}  // namespace
#endif

at::Tensor empty_huge_pages(at::IntArrayRef sizes, at::ScalarType dtype) {
#ifdef __linux__
  int64_t numel = 1;
  for (int64_t s : sizes) {
    TORCH_CHECK(s >= 0, "empty_huge_pages: negative dimension in shape ", sizes);
    numel *= s;
  }
  const int64_t nbytes = numel * static_cast<int64_t>(c10::elementSize(dtype));
  if (nbytes >= kHugePageMinBytes && huge_pages_enabled())
    return at::detail::empty_generic(sizes, &huge_page_allocator,
                                     c10::DispatchKeySet(c10::DispatchKey::CPU), dtype,
                                     std::nullopt);
#endif
  return at::empty(sizes, at::TensorOptions().dtype(dtype));
}

}  // namespace gru4rec
