// The whole GRU4Rec training step (docs/algorithm.md) in C++, run for many steps per
// call, so that no Python runs between steps: gather, GRU layers with dropout, sampled
// scores, fused loss forward+backward, the backward products, the global gradient cap,
// and the optimiser updates (row-sparse for the item tables, the same kernel over all
// rows for the dense weights). Device-generic: every tensor op goes to the CPU or CUDA
// kernel of the op by the tensors' device.
//
// The schedule of a whole epoch (input ids, targets, reset flags, previous-row indices
// for shrinking steps; see gru4rec_fast/data/schedule.py) lives on the training device;
// a call runs the steps [t0, t1) of it, with the step offsets and shrink flags on the
// host (they only decide slicing) and the negative samples of those steps as one
// (t1 - t0) x n_sample tensor. Per-step losses are written to a device tensor; nothing
// is read back to the host inside the loop.
#pragma once
#include <ATen/ATen.h>

#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "common/enums.h"

namespace gru4rec {

// Hyperparameters of the step, already parsed into codes (see csrc/common/enums.h).
struct TrainConfig {
  int64_t mode = EMB_SHARED;  // EmbeddingMode (enums.h): input = row of Wy, of E, or of Wx0
  int64_t n_layers = 1;
  int64_t hidden_act = 0;
  double hidden_a = 0.0, hidden_b = 0.0;
  int64_t loss = 0;
  int64_t final_act = 0;
  double final_a = 0.0, final_b = 0.0;
  double bpreg = 0.0, smoothing = 0.0;
  double scale = 1.0;         // 1 / batch_size
  double logq = 0.0;          // logQ weight (0: off)
  double sample_alpha = 0.0;  // the extra samples' logQ is alpha * log(supp)
  double dropout_embed = 0.0, dropout_hidden = 0.0;
  int64_t optimizer = 1;
  double lr = 0.05, momentum = 0.0, lmbd = 0.0, eps = 1e-6, p1 = 0.0, p2 = 0.0;
  double grad_cap = 0.0;
};

// Optimiser state of one parameter as the sparse_row_update_ kernel takes it (2-D views;
// unused tensors empty).
struct RowState {
  at::Tensor s1, s2, velocity, steps;
};

class TrainLoop {
 public:
  // weights: name -> tensor with the names of gru4rec_fast/model/network.py; states:
  // name -> (s1, s2, velocity, steps) for every weight, shaped for the 2-D view the
  // kernel updates (By as n x 1, b.l as 1 x 3d). log_supp: log of the item supports for
  // logQ (empty when logq is 0). The generator draws the dropout masks, in the same
  // order and shapes as the Python reference step, so both consume the same numbers.
  TrainLoop(const std::map<std::string, at::Tensor>& weights,
            const std::map<std::string, std::vector<at::Tensor>>& states,
            const at::Tensor& log_supp, const TrainConfig& config, at::Generator generator);

  // Runs steps [t0, t1) of the epoch; returns (per-step losses as float64 on the device,
  // the hidden states after the last step). offsets: int64 CPU, entries t0..t1 (absolute
  // row offsets into ins/outs/resets/prev); shrink: bool CPU, entries t0..t1-1; samples:
  // (t1 - t0) x n_sample int64 on the device, or empty for no extra samples.
  std::tuple<at::Tensor, std::vector<at::Tensor>> run(
      const at::Tensor& ins, const at::Tensor& outs, const at::Tensor& resets,
      const at::Tensor& prev, const at::Tensor& offsets, const at::Tensor& shrink,
      const at::Tensor& samples, int64_t t0, int64_t t1, std::vector<at::Tensor> hidden);

  // One step on explicit inputs (for tests): X, T, reset (B,), S (n_sample,) or empty,
  // hidden (one B x d tensor per layer). Returns (0-dim loss, new hidden states).
  std::tuple<at::Tensor, std::vector<at::Tensor>> step(const at::Tensor& X, const at::Tensor& T,
                                                       const at::Tensor& reset, const at::Tensor& S,
                                                       const std::vector<at::Tensor>& hidden);

 private:
  at::Tensor mask(int64_t rows, int64_t cols, double p_drop);
  void update(const std::string& name, const at::Tensor& ids, const at::Tensor& grads);
  // Wy's rows at cat(lead_ids, Y) (lead_ids: X in shared mode, else undefined) and By's
  // at Y; on the CPU with one sort of the ids (sparse_row_update_with_bias_cpu_).
  void update_output_rows(const at::Tensor& lead_ids, const at::Tensor& Y, const at::Tensor& gWy,
                          const at::Tensor& gBy);

  std::map<std::string, at::Tensor> w_;
  std::map<std::string, RowState> st_;
  std::map<std::string, at::Tensor> dense_ids_;  // arange(rows) of each dense weight's 2-D view
  at::Tensor log_supp_;
  TrainConfig c_;
  at::Generator gen_;
};

}  // namespace gru4rec
