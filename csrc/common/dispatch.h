// Runtime optimiser code + momentum flag -> compile-time constants, like AT_DISPATCH:
// inside the lambda, kOpt (an Optimizer code) and kMomentum (bool) are constexpr, so
// the CPU and CUDA sparse updates instantiate one specialised loop per case from the
// same switch. The loss and final-activation dispatches below do the same for the CPU
// loss kernel.
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

// Runtime loss code -> constexpr int64_t kLoss inside the lambda; every code listed, an
// unknown one raises. The CPU loss kernel instantiates one row loop per case, so its hot
// loops hold no switch at all.
#define G4R_LOSS_CASE(CODE, ...)     \
  case CODE: {                       \
    constexpr int64_t kLoss = CODE;  \
    __VA_ARGS__();                   \
    break;                           \
  }

#define G4R_DISPATCH_LOSS(LOSS, NAME, ...)                                       \
  [&] {                                                                          \
    switch (LOSS) {                                                              \
      G4R_LOSS_CASE(::gru4rec::LOSS_CROSS_ENTROPY, __VA_ARGS__)                  \
      G4R_LOSS_CASE(::gru4rec::LOSS_XE_LOGIT, __VA_ARGS__)                       \
      G4R_LOSS_CASE(::gru4rec::LOSS_BPR, __VA_ARGS__)                            \
      G4R_LOSS_CASE(::gru4rec::LOSS_BPR_MAX, __VA_ARGS__)                        \
      G4R_LOSS_CASE(::gru4rec::LOSS_TOP1, __VA_ARGS__)                           \
      G4R_LOSS_CASE(::gru4rec::LOSS_TOP1_MAX, __VA_ARGS__)                       \
      default: TORCH_CHECK(false, NAME, ": unknown loss code ", LOSS);           \
    }                                                                            \
  }()

// Runtime final-activation code (element-wise and row-wise) -> constexpr int64_t kAct.
#define G4R_ACT_CASE(CODE, ...)     \
  case CODE: {                      \
    constexpr int64_t kAct = CODE;  \
    __VA_ARGS__();                  \
    break;                          \
  }

#define G4R_DISPATCH_FINAL_ACTIVATION(ACT, NAME, ...)                                \
  [&] {                                                                              \
    switch (ACT) {                                                                   \
      G4R_ACT_CASE(::gru4rec::ACT_LINEAR, __VA_ARGS__)                               \
      G4R_ACT_CASE(::gru4rec::ACT_RELU, __VA_ARGS__)                                 \
      G4R_ACT_CASE(::gru4rec::ACT_TANH, __VA_ARGS__)                                 \
      G4R_ACT_CASE(::gru4rec::ACT_LEAKY, __VA_ARGS__)                                \
      G4R_ACT_CASE(::gru4rec::ACT_ELU, __VA_ARGS__)                                  \
      G4R_ACT_CASE(::gru4rec::ACT_SELU, __VA_ARGS__)                                 \
      G4R_ACT_CASE(::gru4rec::ACT_SOFTMAX, __VA_ARGS__)                              \
      G4R_ACT_CASE(::gru4rec::ACT_SOFTMAX_LOGIT, __VA_ARGS__)                        \
      default: TORCH_CHECK(false, NAME, ": unknown final activation code ", ACT);    \
    }                                                                                \
  }()
