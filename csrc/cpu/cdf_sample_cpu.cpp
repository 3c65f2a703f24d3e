#include "cdf_sample_cpu.h"

#include <ATen/Dispatch.h>
#include <ATen/Parallel.h>

#include <algorithm>

#include "common/cdf_search.h"
#include "common/random.h"

namespace gru4rec {

namespace {
constexpr int64_t kGrain = 4096;  // draws per parallel task: a search is ~20 cache misses

// Many draws: search with a guide table (same ids, see CdfGuide); few: binary search.
bool use_guide(int64_t k, int64_t n) {
  return n > 1 && k >= n / 8 && CdfGuide<double>::fits(n);
}
}

at::Tensor cdf_sample_cpu(const at::Tensor& cdf, int64_t k, int64_t seed, int64_t offset) {
  at::Tensor ids = at::empty({k}, cdf.options().dtype(at::kLong));
  if (k == 0) return ids;
  const int64_t n = cdf.numel();
  int64_t* out = ids.data_ptr<int64_t>();
  const uint64_t useed = static_cast<uint64_t>(seed), uoff = static_cast<uint64_t>(offset);
  AT_DISPATCH_FLOATING_TYPES(cdf.scalar_type(), "cdf_sample_cpu", [&] {
    const scalar_t* c = cdf.data_ptr<scalar_t>();
    if (use_guide(k, n)) {
      const CdfGuide<scalar_t> g(c, n);
      constexpr int64_t kBlock = CdfGuide<scalar_t>::kBlock;
      at::parallel_for(0, k, kGrain, [&](int64_t begin, int64_t end) {
        double u[kBlock];
        for (int64_t b = begin; b < end; b += kBlock) {
          const int64_t len = std::min(kBlock, end - b);
          for (int64_t j = 0; j < len; ++j)
            u[j] = bits_to_unit_double(philox_bits64(useed, uoff + static_cast<uint64_t>(b + j)));
          g.find_many(u, len, out + b);
        }
      });
      return;
    }
    at::parallel_for(0, k, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) {
        const double u = bits_to_unit_double(philox_bits64(useed, uoff + static_cast<uint64_t>(i)));
        out[i] = cdf_lower_bound(c, n, u);
      }
    });
  });
  return ids;
}

at::Tensor cdf_search_cpu(const at::Tensor& cdf, const at::Tensor& uniforms) {
  at::Tensor ids = at::empty(uniforms.sizes(), uniforms.options().dtype(at::kLong));
  const int64_t k = uniforms.numel();
  if (k == 0) return ids;
  const int64_t n = cdf.numel();
  int64_t* out = ids.data_ptr<int64_t>();
  AT_DISPATCH_FLOATING_TYPES(cdf.scalar_type(), "cdf_search_cpu", [&] {
    const scalar_t* c = cdf.data_ptr<scalar_t>();
    const scalar_t* u = uniforms.data_ptr<scalar_t>();
    if (use_guide(k, n)) {
      const CdfGuide<scalar_t> g(c, n);
      at::parallel_for(0, k, kGrain, [&](int64_t begin, int64_t end) {
        g.find_many(u + begin, end - begin, out + begin);
      });
      return;
    }
    at::parallel_for(0, k, kGrain, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i) out[i] = cdf_lower_bound(c, n, u[i]);
    });
  });
  return ids;
}

}  // namespace gru4rec

// Registration with the dispatcher (schemas: csrc/op_schemas.h): the op's shared checks
// (csrc/cdf_sample.cpp), then this file's kernel.
#include "common/library_impl.h"
#include "cdf_sample.h"

TORCH_LIBRARY_IMPL(gru4rec_fast, CPU, m) {
  G4R_IMPL(m, "cdf_sample", run_cdf_sample, cdf_sample_cpu);
  G4R_IMPL(m, "cdf_search", run_cdf_search, cdf_search_cpu);
}
