// The fixed tables behind the codes of enums.h, written once: names of the activations,
// losses, optimisers, embedding and rank modes; each optimiser's state tensors and
// default parameters; the weight names. The extension returns them all from
// code_tables() (csrc/bindings.cpp); gru4rec_fast/ops/_codes.py is generated from that
// by scripts/gen_codes.py, so Python reads them without the extension, and
// tests/ops/test_codes.py fails when the generated file and the extension differ.
// Host-only (the kernels need only enums.h). Each table is indexed by its code.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <string>

#include "enums.h"

namespace gru4rec {

struct ActivationInfo {
  const char* name;  // "elu" is written "elu-X" by users: n_params numbers follow the name
  int64_t n_params;
};
inline constexpr ActivationInfo kActivations[] = {
    {"linear", 0}, {"relu", 0}, {"tanh", 0}, {"leaky", 1},
    {"elu", 1},    {"selu", 2}, {"softmax", 0}, {"softmax_logit", 0}};
static_assert(std::size(kActivations) == kNumActivations, "one entry per activation code");

inline constexpr const char* kLossNames[] = {"cross-entropy", "xe_logit", "bpr",
                                             "bpr-max",       "top1",     "top1-max"};
static_assert(std::size(kLossNames) == kNumLosses, "one name per loss code");

// The optimiser's state tensors, by their names in kStateNames: s1 (adagrad: sum of g^2,
// rmsprop/adadelta: mean of g^2, adam: 2nd moment), s2 (adam: 1st moment, adadelta: mean
// of u^2), velocity (any optimiser with momentum > 0), steps (adam: updates per row).
enum StateTensor : int64_t { STATE_S1 = 0, STATE_S2 = 1, STATE_VELOCITY = 2, STATE_STEPS = 3 };
inline constexpr const char* kStateNames[] = {"s1", "s2", "velocity", "steps"};  // by StateTensor
struct OptimizerInfo {
  const char* name;
  double p1, p2;  // default adapt_params: rho, or Adam's (beta1, beta2); 0 when unused
  bool uses_s1, uses_s2, uses_steps;
};
inline constexpr OptimizerInfo kOptimizers[] = {
    {"sgd", 0.0, 0.0, false, false, false},
    {"adagrad", 0.0, 0.0, true, false, false},
    {"rmsprop", 0.9, 0.0, true, false, false},
    {"adam", 0.9, 0.999, true, true, true},
    {"adadelta", 0.95, 0.0, true, true, false}};
static_assert(std::size(kOptimizers) == kNumOptimizers, "one entry per optimizer code");

inline constexpr const char* kEmbeddingModeNames[] = {"shared", "separate", "none"};
static_assert(std::size(kEmbeddingModeNames) == kNumEmbeddingModes,
              "one name per embedding mode code");

// Tie handling of evaluation ranks (gru4rec_fast/ops/eval_rank.py, ranks_from_counts).
inline constexpr const char* kRankModeNames[] = {"standard", "conservative", "median",
                                                 "tiebreaking"};

// Weight names (gru4rec_fast/model/network.py). The item tables are updated row-sparse;
// the per-layer weights are named "<base>.<layer>", and Wx0 replaces Wx.0 in the
// no-embedding mode.
inline constexpr const char* kWy = "Wy";
inline constexpr const char* kBy = "By";
inline constexpr const char* kE = "E";
inline constexpr const char* kWx0 = "Wx0";
inline constexpr const char* kItemTableNames[] = {kWy, kBy, kE, kWx0};
inline constexpr const char* kWx = "Wx";
inline constexpr const char* kB = "b";
inline constexpr const char* kWrz = "Wrz";
inline constexpr const char* kWh = "Wh";
inline constexpr const char* kLayerWeightBases[] = {kWx, kB, kWrz, kWh};

inline const char* name_of(const char* name) { return name; }
inline const char* name_of(const ActivationInfo& a) { return a.name; }
inline const char* name_of(const OptimizerInfo& o) { return o.name; }

// "0 linear, 1 relu, ..." for the first `count` entries of a table: the list of valid
// codes in the range checks' messages.
template <typename T, std::size_t N>
std::string valid_codes(const T (&table)[N], std::size_t count = N) {
  std::string out;
  for (std::size_t i = 0; i < count && i < N; ++i)
    out += (i ? ", " : "") + std::to_string(i) + " " + name_of(table[i]);
  return out;
}

}  // namespace gru4rec
