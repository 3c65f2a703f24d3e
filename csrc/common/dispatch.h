// Runtime optimiser code + momentum flag -> compile-time constants, like AT_DISPATCH:
// inside the lambda, kOpt (an Optimizer code) and kMomentum (bool) are constexpr, so
// the CPU and CUDA sparse updates instantiate one specialised loop per case from the
// same switch.
#pragma once
#include <c10/util/Exception.h>
#include "enums.h"

// One case per optimizer code: adding an optimizer means adding its case below.
static_assert(::gru4rec::kNumOptimizers == 5, "G4R_DISPATCH_OPTIMIZER: a case per optimizer code");

#define G4R_OPTIMIZER_CASE(CODE, MOMENTUM, ...)     \
  case CODE:                                        \
    if (MOMENTUM) {                                 \
      constexpr int64_t kOpt = CODE;                \
      constexpr bool kMomentum = true;              \
      __VA_ARGS__();                                \
    } else {                                        \
      constexpr int64_t kOpt = CODE;                \
      constexpr bool kMomentum = false;             \
      __VA_ARGS__();                                \
    }                                               \
    break;

#define G4R_DISPATCH_OPTIMIZER(OPTIMIZER, MOMENTUM, NAME, ...)                               \
  [&] {                                                                                      \
    switch (OPTIMIZER) {                                                                     \
      G4R_OPTIMIZER_CASE(::gru4rec::OPT_SGD, MOMENTUM, __VA_ARGS__)                          \
      G4R_OPTIMIZER_CASE(::gru4rec::OPT_ADAGRAD, MOMENTUM, __VA_ARGS__)                      \
      G4R_OPTIMIZER_CASE(::gru4rec::OPT_RMSPROP, MOMENTUM, __VA_ARGS__)                      \
      G4R_OPTIMIZER_CASE(::gru4rec::OPT_ADAM, MOMENTUM, __VA_ARGS__)                         \
      G4R_OPTIMIZER_CASE(::gru4rec::OPT_ADADELTA, MOMENTUM, __VA_ARGS__)                     \
      default: TORCH_CHECK(false, NAME, ": unknown optimizer code ", OPTIMIZER);             \
    }                                                                                        \
  }()
