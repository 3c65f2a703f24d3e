// Integer codes shared by the C++/CUDA kernels and gru4rec_fast/ops/enums.py.
// Keep the two files in step: the Python side parses user strings ("elu-0.5",
// "bpr-max", "adagrad") into these codes once, so no op parses strings per call.
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

enum Loss : int64_t {
  LOSS_CROSS_ENTROPY = 0,
  LOSS_XE_LOGIT = 1,
  LOSS_BPR = 2,
  LOSS_BPR_MAX = 3,
  LOSS_TOP1 = 4,
  LOSS_TOP1_MAX = 5
};

enum Optimizer : int64_t {
  OPT_SGD = 0,
  OPT_ADAGRAD = 1,
  OPT_RMSPROP = 2,
  OPT_ADAM = 3,
  OPT_ADADELTA = 4
};

inline bool is_rowwise_activation(int64_t act) {
  return act == ACT_SOFTMAX || act == ACT_SOFTMAX_LOGIT;
}

}  // namespace gru4rec
