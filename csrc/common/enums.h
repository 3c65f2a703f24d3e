// Integer codes of the C++/CUDA kernels: the one source of them. Their names and the
// other fixed tables are in code_tables.h; Python reads both from
// gru4rec_fast/ops/_codes.py, generated from the extension (scripts/gen_codes.py;
// tests/ops/test_codes.py fails when the two differ). The Python side parses user
// strings ("elu-0.5", "bpr-max", "adagrad") into these codes once, so no op parses
// strings per call. Range checks use the kNum* counts, never a last member.
#pragma once
#include <cstdint>

namespace gru4rec {

enum Activation : int64_t {
  ACT_LINEAR = 0,
  ACT_RELU = 1,
  ACT_TANH = 2,
  ACT_LEAKY = 3,         // leaky-X: x if x >= 0 else a*x
  ACT_ELU = 4,           // elu-X:   x if x >= 0 else a*(exp(x)-1)
  ACT_SELU = 5,          // selu-X-Y: a * (x if x >= 0 else b*(exp(x)-1))
  ACT_SOFTMAX = 6,       // row-wise, final activation only
  ACT_SOFTMAX_LOGIT = 7  // row-wise: logsumexp(row) - x, final activation only
};
constexpr int64_t kNumActivations = 8;
// The element-wise codes 0 .. kNumHiddenActivations - 1 are the hidden-layer ones; the
// rest are row-wise, final activations only.
constexpr int64_t kNumHiddenActivations = ACT_SOFTMAX;

enum Loss : int64_t {
  LOSS_CROSS_ENTROPY = 0,
  LOSS_XE_LOGIT = 1,
  LOSS_BPR = 2,
  LOSS_BPR_MAX = 3,
  LOSS_TOP1 = 4,
  LOSS_TOP1_MAX = 5
};
constexpr int64_t kNumLosses = 6;

enum Optimizer : int64_t {
  OPT_SGD = 0,
  OPT_ADAGRAD = 1,
  OPT_RMSPROP = 2,
  OPT_ADAM = 3,
  OPT_ADADELTA = 4
};
constexpr int64_t kNumOptimizers = 5;

// Input of the first GRU layer (TrainConfig::mode): a row of Wy, a row of E, or a row
// of Wx0 (one-hot input times Wx0).
enum EmbeddingMode : int64_t { EMB_SHARED = 0, EMB_SEPARATE = 1, EMB_NONE = 2 };
constexpr int64_t kNumEmbeddingModes = 3;

inline bool is_rowwise_activation(int64_t act) {
  return act >= kNumHiddenActivations && act < kNumActivations;
}

}  // namespace gru4rec
