// See dropout_mask_cpu.h. Mirrors ATen's CPU uniform kernel
// (ATen/native/cpu/DistributionTemplates.h, uniform_kernel): per element, in memory
// order, at::uniform_real_distribution<opmath_t>(0, 1) on the generator's random()
// (float) or random64() (double), cast to the dtype, a draw equal to 1 after the cast
// folded to 0; tests/ops/test_dropout_mask.py holds it to at::rand bit for bit.
#include "dropout_mask_cpu.h"

#include <ATen/CPUGeneratorImpl.h>
#include <ATen/Dispatch.h>
#include <ATen/OpMathType.h>
#include <ATen/core/DistributionsHelper.h>

#include <algorithm>
#include <mutex>
#include <type_traits>
#include <vector>

namespace gru4rec {

namespace {

// The generator's Mersenne Twister, drawn from a copy of its state with the read
// position and the count of words left in locals (the engine keeps them in memory: a
// store-to-load dependency per draw, which made a loop over the engine itself slower
// than at::rand). Word by word what the engine's operator() returns: the same
// tempering of the same state word; the refill of the state every 624 words is left
// to the engine (it runs when its count reaches zero, so it gets the state with one
// word left).
struct EngineState {
  at::mt19937 engine;
  at::mt19937_data_pod pod;
};

// The refill: the engine's own next word after its state is regenerated.
uint32_t refill(EngineState& e, int& left, uint32_t& next) {
  e.pod.left_ = 1;
  e.pod.next_ = next;
  e.engine.set_data(e.pod);
  const uint32_t y = e.engine();
  e.pod = e.engine.data();
  left = e.pod.left_;
  next = e.pod.next_;
  return y;
}

inline uint32_t temper(uint32_t y) {
  y ^= (y >> 11);
  y ^= (y << 7) & 0x9d2c5680u;
  y ^= (y << 15) & 0xefc60000u;
  y ^= (y >> 18);
  return y;
}

}  // namespace

void dropout_keep_mask_cpu_(at::Tensor& out, const at::Generator& gen, double keep) {
  TORCH_CHECK(out.is_cpu() && out.is_contiguous(), "dropout_keep_mask_cpu_: needs a contiguous CPU tensor");
  at::CPUGeneratorImpl* g = at::check_generator<at::CPUGeneratorImpl>(gen);
  AT_DISPATCH_FLOATING_TYPES(out.scalar_type(), "dropout_keep_mask_cpu_", [&] {
    using opmath_t = at::opmath_type<scalar_t>;
    const scalar_t k = static_cast<scalar_t>(keep);
    const scalar_t kept = scalar_t(1) / k, dropped = scalar_t(0) / k;
    const scalar_t one = static_cast<scalar_t>(1.0), zero = static_cast<scalar_t>(0.0);
    scalar_t* p = out.data_ptr<scalar_t>();
    const int64_t n = out.numel();
    std::lock_guard<std::mutex> lock(g->mutex_);
    EngineState e{g->engine(), {}};
    e.pod = e.engine.data();
    int left = e.pod.left_;
    uint32_t next = e.pod.next_;
    // 1. The engine's words for all draws (random64: two words, first high): between
    // two refills a plain run over the state, whose tempering the compiler vectorises.
    constexpr int64_t kWords = std::is_same_v<opmath_t, double> ? 2 : 1;
    const int64_t total = n * kWords;
    std::vector<uint32_t> words(static_cast<size_t>(total));
    for (int64_t j = 0; j < total;) {
      // The engine's next left - 1 words come without a refill (left reaches 1).
      const int64_t run = std::min<int64_t>(left - 1, total - j);
      const uint32_t* st = e.pod.state_.data() + next;
      uint32_t* w = words.data() + j;
      for (int64_t t = 0; t < run; ++t) w[t] = temper(st[t]);
      j += run;
      next += static_cast<uint32_t>(run);
      left -= static_cast<int>(run);
      if (j < total) words[j++] = refill(e, left, next);
    }
    // 2. uniform_real_distribution<opmath_t>(0, 1) of each draw, cast, keep threshold.
    const scalar_t pick[2] = {dropped, kept};
    const uint32_t* w = words.data();
    for (int64_t i = 0; i < n; ++i) {
      opmath_t x;
      if constexpr (kWords == 2) {
        const uint64_t v = (static_cast<uint64_t>(w[2 * i]) << 32) | w[2 * i + 1];
        x = at::transformation::uniform_real<opmath_t>(v, opmath_t(0), opmath_t(1));
      } else {
        x = at::transformation::uniform_real<opmath_t>(w[i], opmath_t(0), opmath_t(1));
      }
      scalar_t u = static_cast<scalar_t>(x);
      u = u == one ? zero : u;
      p[i] = pick[u < k];
    }
    e.pod.left_ = left;
    e.pod.next_ = next;
    e.engine.set_data(e.pod);
    g->set_engine(e.engine);
  });
}

}  // namespace gru4rec
