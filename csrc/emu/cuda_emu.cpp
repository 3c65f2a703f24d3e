// The fiber scheduler behind csrc/emu/cuda_emu.h (see there for the model).
#include "emu/cuda_emu.h"

#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#include <sanitizer/common_interface_defs.h>
#define G4R_EMU_ASAN 1
#endif

// ---- context switch ----
// x86-64: a dozen instructions that save the callee-saved registers and the FP control
// words on the old stack and restore them from the new one. glibc's swapcontext makes a
// sigprocmask system call per switch, and the emulation switches millions of times per
// test run, so it would be the bottleneck. Elsewhere, ucontext.
#if defined(__x86_64__) && !defined(G4R_EMU_UCONTEXT)
#define G4R_EMU_ASM_SWITCH 1
extern "C" void g4r_emu_switch(void** save_sp, void* new_sp);
asm(R"(
.text
.globl g4r_emu_switch
.type g4r_emu_switch,@function
g4r_emu_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
.size g4r_emu_switch, .-g4r_emu_switch
.section .note.GNU-stack,"",@progbits
.text
)");
#endif

namespace g4r_emu {

namespace {

#if defined(G4R_EMU_ASM_SWITCH)
struct Context {
  void* sp = nullptr;
};
void switch_to(Context& from, Context& to) { g4r_emu_switch(&from.sp, to.sp); }
// A fresh stack whose first switch "returns" into entry(): below the return address lie
// the six registers (zero) and the control words g4r_emu_switch pops.
void make_context(Context& c, char* stack, size_t bytes, void (*entry)()) {
  uintptr_t top = (reinterpret_cast<uintptr_t>(stack) + bytes) & ~uintptr_t(15);
  uint64_t* sp = reinterpret_cast<uint64_t*>(top);
  *--sp = 0;                                   // entry's would-be return address
  *--sp = reinterpret_cast<uint64_t>(entry);   // at a 16-byte boundary: ABI alignment on entry
  for (int r = 0; r < 6; ++r) *--sp = 0;       // rbp rbx r12 r13 r14 r15
  uint32_t mxcsr;
  uint16_t fpucw;
  asm volatile("stmxcsr %0" : "=m"(mxcsr));
  asm volatile("fnstcw %0" : "=m"(fpucw));
  *--sp = uint64_t(mxcsr) | (uint64_t(fpucw) << 32);
  c.sp = sp;
}
#else
struct Context {
  ucontext_t uc;
};
void switch_to(Context& from, Context& to) { swapcontext(&from.uc, &to.uc); }
void make_context(Context& c, char* stack, size_t bytes, void (*entry)()) {
  getcontext(&c.uc);
  c.uc.uc_stack.ss_sp = stack;
  c.uc.uc_stack.ss_size = bytes;
  c.uc.uc_link = nullptr;
  makecontext(&c.uc, entry, 0);
}
#endif

#if defined(G4R_EMU_ASAN)
constexpr size_t kStackBytes = 512 * 1024;  // ASan's redzones grow the frames
#else
constexpr size_t kStackBytes = 128 * 1024;
#endif
constexpr size_t kDefaultSharedLimit = 48 * 1024;

enum class State { kRunnable, kAtBarrier, kAtWarp, kExited };

struct Fiber {
  Context ctx;
  char* stack = nullptr;  // usable part, above a guard page
  uint3 tid;
  unsigned int linear = 0;
  State state = State::kRunnable;
};

struct Warp {
  uint64_t slots[2][32];
  unsigned int gen = 0;
  unsigned int arrived = 0;  // lanes waiting at the current collective
  unsigned int mask = 0;     // that collective's mask
};

// Fiber stacks, mapped once and reused by every block (guard page below each).
struct StackPool {
  std::vector<char*> stacks;
  char* get(size_t i) {
    while (stacks.size() <= i) {
      const size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
      void* p = mmap(nullptr, kStackBytes + page, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
      if (p == MAP_FAILED) throw std::runtime_error("cuda emulation: cannot map a fiber stack");
      mprotect(p, page, PROT_NONE);  // a stack overflow faults instead of corrupting
      stacks.push_back(static_cast<char*>(p) + page);
    }
    return stacks[i];
  }
};

struct Block {
  dim3 grid, block;
  uint3 bid;
  std::vector<Fiber> fibers;
  std::vector<Warp> warps;
  std::vector<unsigned int> runnable;
  unsigned int live = 0, at_barrier = 0;
  std::unique_ptr<unsigned char[]> smem;
  const std::function<void()>* body = nullptr;
  std::string error;  // first failure; stops the block
  Context sched;
  Fiber* current = nullptr;
#if defined(G4R_EMU_ASAN)
  const void* sched_stack_bottom = nullptr;
  size_t sched_stack_size = 0;
#endif
};

Block* g_block = nullptr;
std::mt19937_64 g_rng(0);
uint64_t g_seed = 0;
Stats g_stats{0, 0, 0, 0};
std::map<const void*, size_t> g_max_dynamic;
StackPool g_stacks;

Fiber& cur() { return *g_block->current; }

// Fiber -> scheduler. `dying`: the fiber never resumes (ASan drops its fake stack).
void yield_to_scheduler(bool dying) {
  Block& b = *g_block;
  Fiber& f = cur();
  ++g_stats.switches;
#if defined(G4R_EMU_ASAN)
  void* fake = nullptr;
  __sanitizer_start_switch_fiber(dying ? nullptr : &fake, b.sched_stack_bottom, b.sched_stack_size);
  switch_to(f.ctx, b.sched);
  __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
  (void)dying;
  switch_to(f.ctx, b.sched);
#endif
}

void fail(const std::string& msg) {
  Block& b = *g_block;
  if (b.error.empty()) b.error = msg;
  cur().state = State::kExited;
  yield_to_scheduler(true);
  // never resumed: the scheduler abandons the block
}

void make_runnable(unsigned int t) {
  g_block->fibers[t].state = State::kRunnable;
  g_block->runnable.push_back(t);
}

// Releases the block barrier when every non-exited thread waits there.
void maybe_release_barrier() {
  Block& b = *g_block;
  if (b.at_barrier == 0 || b.at_barrier < b.live) return;
  b.at_barrier = 0;
  for (unsigned int t = 0; t < b.fibers.size(); ++t)
    if (b.fibers[t].state == State::kAtBarrier) make_runnable(t);
}

unsigned int warp_lanes_present(unsigned int w) {
  Block& b = *g_block;
  unsigned int present = 0;
  for (unsigned int l = 0; l < 32; ++l) {
    const size_t t = static_cast<size_t>(w) * 32 + l;
    if (t < b.fibers.size() && b.fibers[t].state != State::kExited) present |= 1u << l;
  }
  return present;
}

// Releases warp w's collective when every lane of its mask has arrived; a mask naming
// a lane that has exited (or does not exist) can never complete: an error.
void maybe_release_warp(unsigned int w) {
  Block& b = *g_block;
  Warp& wp = b.warps[w];
  if (wp.arrived == 0) return;
  if ((wp.mask & ~warp_lanes_present(w)) != 0) {
    if (b.error.empty())
      b.error = "warp collective with mask 0x" + std::to_string(wp.mask) + " in warp " +
                std::to_string(w) + " names a lane that has exited or does not exist";
    return;
  }
  if (wp.arrived != wp.mask) return;
  wp.arrived = 0;
  ++wp.gen;
  for (unsigned int l = 0; l < 32; ++l)
    if (wp.mask & (1u << l)) make_runnable(w * 32 + l);
}

void fiber_main() {
  Block& b = *g_block;
#if defined(G4R_EMU_ASAN)
  __sanitizer_finish_switch_fiber(nullptr, &b.sched_stack_bottom, &b.sched_stack_size);
#endif
  (*b.body)();
  Fiber& f = cur();
  f.state = State::kExited;
  --b.live;
  maybe_release_barrier();
  maybe_release_warp(f.linear / 32);
  yield_to_scheduler(true);
}

// Waits at warp collective: returns after every lane of the mask has arrived.
void warp_wait(unsigned int mask, const char* what) {
  Block& b = *g_block;
  Fiber& f = cur();
  const unsigned int w = f.linear / 32, lane = f.linear % 32;
  Warp& wp = b.warps[w];
  if (!(mask & (1u << lane)))
    fail(std::string(what) + ": the calling lane is not in the mask");
  if (wp.arrived != 0 && wp.mask != mask)
    fail(std::string(what) + ": lanes of one warp passed different masks");
  wp.mask = mask;
  wp.arrived |= 1u << lane;
  f.state = State::kAtWarp;
  maybe_release_warp(w);
  yield_to_scheduler(false);
}

void run_block(Block& b) {
  const unsigned int n = b.block.x * b.block.y * b.block.z;
  b.fibers.assign(n, Fiber());
  b.warps.assign((n + 31) / 32, Warp());
  b.runnable.clear();
  b.live = n;
  b.at_barrier = 0;
  for (unsigned int t = 0; t < n; ++t) {
    Fiber& f = b.fibers[t];
    f.linear = t;
    f.tid = uint3{t % b.block.x, (t / b.block.x) % b.block.y, t / (b.block.x * b.block.y)};
    f.stack = g_stacks.get(t);
#if defined(G4R_EMU_ASAN)
    // A fiber ends without unwinding its frames, so their redzones stay poisoned on the
    // reused stack: clear them before the next block's frames land at other offsets.
    __asan_unpoison_memory_region(f.stack, kStackBytes);
#endif
    make_context(f.ctx, f.stack, kStackBytes, fiber_main);
    b.runnable.push_back(t);
  }
  g_stats.threads += n;
  while (!b.runnable.empty() && b.error.empty()) {
    const size_t k = static_cast<size_t>(g_rng() % b.runnable.size());
    const unsigned int t = b.runnable[k];
    b.runnable[k] = b.runnable.back();
    b.runnable.pop_back();
    b.current = &b.fibers[t];
    ++g_stats.switches;
#if defined(G4R_EMU_ASAN)
    void* fake = nullptr;
    __sanitizer_start_switch_fiber(&fake, b.current->stack, kStackBytes);
    switch_to(b.sched, b.current->ctx);
    __sanitizer_finish_switch_fiber(fake, nullptr, nullptr);
#else
    switch_to(b.sched, b.current->ctx);
#endif
    b.current = nullptr;
  }
  if (b.error.empty() && b.live > 0)
    b.error = "deadlock: " + std::to_string(b.live) +
              " threads wait at barriers or warp collectives that cannot complete";
}

std::string dims(dim3 d) {
  return "(" + std::to_string(d.x) + ", " + std::to_string(d.y) + ", " + std::to_string(d.z) + ")";
}

}  // namespace

const uint3& thread_idx() { return cur().tid; }
const uint3& block_idx() { return g_block->bid; }
const dim3& block_dim() { return g_block->block; }
const dim3& grid_dim() { return g_block->grid; }
unsigned int lane_id() { return cur().linear % 32; }
unsigned char* dynamic_shared() { return g_block->smem.get(); }

void syncthreads() {
  Block& b = *g_block;
  cur().state = State::kAtBarrier;
  ++b.at_barrier;
  maybe_release_barrier();
  yield_to_scheduler(false);
}

uint64_t warp_exchange(uint64_t bits, int src, unsigned int mask, const char* what) {
  Block& b = *g_block;
  Fiber& f = cur();
  Warp& wp = b.warps[f.linear / 32];
  // Double-buffered by generation: a lane can write the next collective's slot only
  // after every lane has left this one, so nobody's value is overwritten unread.
  const unsigned int buf = wp.gen & 1u;
  wp.slots[buf][f.linear % 32] = bits;
  warp_wait(mask, what);
  if (src < 0 || src >= 32 || !(mask & (1u << src)))
    fail(std::string(what) + ": source lane " + std::to_string(src) + " is not in the mask");
  return wp.slots[buf][src];
}

unsigned int warp_ballot(bool pred, unsigned int mask) {
  Fiber& f = cur();
  Warp& wp = g_block->warps[f.linear / 32];
  const unsigned int buf = wp.gen & 1u;
  wp.slots[buf][f.linear % 32] = pred ? 1u : 0u;
  warp_wait(mask, "__ballot_sync");
  unsigned int r = 0;
  for (unsigned int l = 0; l < 32; ++l)
    if ((mask & (1u << l)) && wp.slots[buf][l]) r |= 1u << l;
  return r;
}

void syncwarp(unsigned int mask) { warp_wait(mask, "__syncwarp"); }

void kernel_assert_fail(const char* cond, const char* file, int line) {
  fail(std::string("device-side assertion failed: ") + cond + " (" + file + ":" +
       std::to_string(line) + ")");
  __builtin_unreachable();
}

void set_max_dynamic_shared(const void* kernel, size_t bytes) {
  if (bytes > kMaxSharedOptin)
    throw std::runtime_error("cudaFuncSetAttribute: " + std::to_string(bytes) +
                             " bytes of dynamic shared memory exceed the opt-in limit " +
                             std::to_string(kMaxSharedOptin));
  g_max_dynamic[kernel] = bytes;
}

void run_grid(dim3 grid, dim3 block, size_t dynamic_smem, const void* kernel,
              const std::function<void()>& body) {
  if (g_block != nullptr) throw std::runtime_error("cuda emulation: nested launch");
  const uint64_t threads = uint64_t(block.x) * block.y * block.z;
  if (grid.x == 0 || grid.y == 0 || grid.z == 0 || threads == 0 || threads > 1024 ||
      block.z > 64 || grid.x > 2147483647u || grid.y > 65535 || grid.z > 65535)
    throw std::runtime_error("CUDA error: invalid configuration argument (grid " + dims(grid) +
                             ", block " + dims(block) + ")");
  auto it = g_max_dynamic.find(kernel);
  const size_t limit = it != g_max_dynamic.end() ? it->second : kDefaultSharedLimit;
  if (dynamic_smem > limit)
    throw std::runtime_error("CUDA error: too many resources requested for launch (" +
                             std::to_string(dynamic_smem) + " bytes of dynamic shared memory, " +
                             "the kernel's limit is " + std::to_string(limit) + ")");
  ++g_stats.launches;
  Block b;
  b.grid = grid;
  b.block = block;
  b.body = &body;
  g_block = &b;
  try {
    for (unsigned int z = 0; z < grid.z && b.error.empty(); ++z)
      for (unsigned int y = 0; y < grid.y && b.error.empty(); ++y)
        for (unsigned int x = 0; x < grid.x && b.error.empty(); ++x) {
          b.bid = uint3{x, y, z};
          b.smem.reset();
          if (dynamic_smem > 0) {
            b.smem.reset(new unsigned char[dynamic_smem]);
            std::memset(b.smem.get(), 0xff, dynamic_smem);  // NaN until written
          }
          ++g_stats.blocks;
          run_block(b);
          if (!b.error.empty())
            b.error += " [block " + dims(dim3(x, y, z)) + " of grid " + dims(grid) + ", block size " +
                       dims(block) + ", schedule seed " + std::to_string(g_seed) + "]";
        }
  } catch (...) {
    g_block = nullptr;
    throw;
  }
  g_block = nullptr;
  if (!b.error.empty()) throw std::runtime_error("cuda emulation: " + b.error);
}

void set_schedule_seed(uint64_t seed) {
  g_seed = seed;
  g_rng.seed(seed);
  g_stats = Stats{0, 0, 0, 0};
}
uint64_t schedule_seed() { return g_seed; }
Stats stats() { return g_stats; }

}  // namespace g4r_emu
