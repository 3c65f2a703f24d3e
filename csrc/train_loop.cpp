// See train_loop.h. The step is the chain of the fused kernels with the backward written
// out by hand (no autograd): the same computation as the reference step of
// gru4rec_fast/model/backends.py, which tests hold it to.
#include "train_loop.h"

#include <ATen/Dispatch.h>
#include <ATen/record_function.h>

#include <optional>

#include "common/checks.h"
#include "common/code_tables.h"
#include "common/sampled_scores_products.h"
#include "cpu/dense_update_cpu.h"
#include "cpu/dropout_mask_cpu.h"
#include "cpu/fused_loss_cpu.h"
#include "cpu/gather_rows_cpu.h"
#include "cpu/gru_step_cpu.h"
#include "cpu/sampled_scores_cpu.h"
#include "cpu/sparse_row_update_cpu.h"
#ifdef WITH_CUDA
#include "cuda/fused_loss_cuda.h"
#include "cuda/gru_step_cuda.h"
#include "cuda/sampled_scores_cuda.h"
#include "cuda/sparse_row_update_cuda.h"
#endif

namespace gru4rec {

namespace {

constexpr const char* kLoopOp = "TrainLoop";

// The kernels by device. The loop's inputs were checked once when the loop was built
// (and the schedule's ids are in range by construction), so the per-call argument
// checks of the public ops, some of which read ids back to the host, are skipped.
std::vector<at::Tensor> gru_fwd(const at::Tensor& vx, const at::Tensor& h, const at::Tensor& Wrz,
                                const at::Tensor& Wh, const at::Tensor& reset,
                                const at::Tensor& mask, const TrainConfig& c) {
#ifdef WITH_CUDA
  if (runs_cuda_kernels(vx))
    return gru_step_forward_cuda(vx, h, Wrz, Wh, reset, mask, c.hidden_act, c.hidden_a, c.hidden_b);
#endif
  return gru_step_forward_cpu(vx, h, Wrz, Wh, reset, mask, c.hidden_act, c.hidden_a, c.hidden_b);
}

std::vector<at::Tensor> gru_bwd(const at::Tensor& dout, const std::vector<at::Tensor>& saved,
                                const at::Tensor& Wrz, const at::Tensor& Wh,
                                const at::Tensor& reset, const at::Tensor& mask,
                                const TrainConfig& c) {
#ifdef WITH_CUDA
  if (runs_cuda_kernels(dout))
    return gru_step_backward_cuda(dout, saved, Wrz, Wh, reset, mask, c.hidden_act, c.hidden_a,
                                  c.hidden_b);
#endif
  // The loop back-propagates one step and drops dh: the CPU kernel skips its GEMM.
  (void)reset;
  return gru_step_backward_no_dh_cpu(dout, saved, Wrz, Wh, mask);
}

std::tuple<at::Tensor, at::Tensor> loss_fwd_bwd(const at::Tensor& scores, const at::Tensor& off,
                                                const TrainConfig& c) {
#ifdef WITH_CUDA
  if (runs_cuda_kernels(scores))
    return fused_loss_fwd_bwd_cuda(scores, off, c.loss, c.final_act, c.final_a, c.final_b,
                                   c.bpreg, c.smoothing, c.scale);
#endif
  return fused_loss_fwd_bwd_cpu(scores, off, c.loss, c.final_act, c.final_a, c.final_b, c.bpreg,
                                c.smoothing, c.scale);
}

// (W[Y], b[Y]) by sampled_scores' own gather, reused by the loop's forward and backward.
std::tuple<at::Tensor, at::Tensor> gather_scored(const at::Tensor& W, const at::Tensor& b,
                                                 const at::Tensor& Y) {
#ifdef WITH_CUDA
  if (runs_cuda_kernels(W)) return sampled_scores_gather_cuda(W, b, Y);
#endif
  return sampled_scores_gather_cpu(W, b, Y);
}

// S = b[Y] + H . W[Y]^T (B x N) from the gathered rows, as the sampled_scores op computes it.
at::Tensor scores_from_rows(const at::Tensor& H, const at::Tensor& Wy, const at::Tensor& by) {
#ifdef WITH_CUDA
  if (runs_cuda_kernels(Wy)) return sampled_scores_from_rows(H, Wy, by);
#endif
  return sampled_scores_from_rows_cpu(H, Wy, by);
}

// The logQ offsets of the scored columns: logq * log_supp[T], then logq * (alpha *
// log_supp[S]). On the CPU one loop instead of five small ATen calls, with the same
// products in the same order (so the same bits); the ATen chain elsewhere.
at::Tensor logq_offsets(const at::Tensor& log_supp, const at::Tensor& T, const at::Tensor& S,
                        double alpha, double logq) {
  const bool has_s = S.defined() && S.numel() > 0;
  if (runs_cuda_kernels(log_supp)) {
    at::Tensor off = log_supp.index_select(0, T);
    if (has_s) off = at::cat({off, log_supp.index_select(0, S).mul_(alpha)});
    return off.mul_(logq);
  }
  const int64_t nt = T.numel(), ns = has_s ? S.numel() : 0;
  at::Tensor off = at::empty({nt + ns}, log_supp.options());
  const at::Tensor Tc = T.contiguous();
  const at::Tensor Sc = has_s ? S.contiguous() : at::Tensor();
  const at::Tensor lsc = log_supp.contiguous();
  AT_DISPATCH_FLOATING_TYPES(lsc.scalar_type(), "logq_offsets", [&] {
    const scalar_t* ls = lsc.data_ptr<scalar_t>();
    scalar_t* o = off.data_ptr<scalar_t>();
    const scalar_t a = static_cast<scalar_t>(alpha), q = static_cast<scalar_t>(logq);
    const int64_t* t = Tc.data_ptr<int64_t>();
    for (int64_t i = 0; i < nt; ++i) o[i] = ls[t[i]] * q;
    if (ns > 0) {
      const int64_t* s = Sc.data_ptr<int64_t>();
      for (int64_t j = 0; j < ns; ++j) o[nt + j] = (ls[s[j]] * a) * q;
    }
  });
  return off;
}

// W[ids] for a 2-D table: the prefetching CPU gather, index_select elsewhere.
at::Tensor gather_rows(const at::Tensor& W, const at::Tensor& ids) {
  if (!runs_cuda_kernels(W)) return gather_rows_cpu(W, ids.contiguous());
  return W.index_select(0, ids);
}

at::Tensor as_2d(const at::Tensor& t, bool one_row) {
  if (t.dim() == 2) return t;
  return one_row ? t.view({1, t.size(0)}) : t.view({t.size(0), 1});
}

bool is_dense(const std::string& name) {
  for (const char* table : kItemTableNames)
    if (name == table) return false;
  return true;
}

std::string key(const char* base, int64_t l) { return std::string(base) + "." + std::to_string(l); }

// A named phase of the step in torch.profiler traces (nearly free when not profiling).
class Phase {
 public:
  explicit Phase(const char* name) : rf_(at::RecordScope::USER_SCOPE) {
    if (rf_.isActive()) rf_.before(name);
  }

 private:
  at::RecordFunction rf_;
};

}  // namespace

TrainLoop::TrainLoop(const std::map<std::string, at::Tensor>& weights,
                     const std::map<std::string, std::vector<at::Tensor>>& states,
                     const at::Tensor& log_supp, const TrainConfig& config, at::Generator generator)
    : w_(weights), log_supp_(log_supp), c_(config), gen_(std::move(generator)) {
  TORCH_CHECK(w_.count(kWy) && w_.count(kBy), kLoopOp, ": weights must contain 'Wy' and 'By'");
  const at::Tensor& Wy = w_.at(kWy);
  for (auto& kv : w_) {
    TORCH_CHECK(kv.second.device() == Wy.device() && kv.second.scalar_type() == Wy.scalar_type(),
                kLoopOp, ": weight '", kv.first, "' must be on ", Wy.device(), " with dtype ",
                Wy.scalar_type());
    TORCH_CHECK(kv.second.is_contiguous(), kLoopOp, ": weight '", kv.first, "' must be contiguous");
    auto it = states.find(kv.first);
    TORCH_CHECK(it != states.end() && it->second.size() == std::size(kStateNames), kLoopOp,
                ": no optimiser state (", std::size(kStateNames), " tensors) for '",
                kv.first, "'");
    const std::vector<at::Tensor>& st = it->second;
    st_[kv.first] = RowState{st[STATE_S1], st[STATE_S2], st[STATE_VELOCITY], st[STATE_STEPS]};
    if (is_dense(kv.first)) {
      const int64_t rows = kv.second.dim() == 2 ? kv.second.size(0) : 1;
      dense_ids_[kv.first] = at::arange(rows, Wy.options().dtype(at::kLong));
    }
  }
  TORCH_CHECK(c_.mode >= 0 && c_.mode < kNumEmbeddingModes, kLoopOp, ": unknown embedding mode code ",
              c_.mode, " (valid: ", valid_codes(kEmbeddingModeNames), ")");
  TORCH_CHECK(c_.n_layers >= 1, kLoopOp, ": need at least one layer");
  for (int64_t l = 0; l < c_.n_layers; ++l)
    for (const char* base : {kB, kWrz, kWh})
      TORCH_CHECK(w_.count(key(base, l)), kLoopOp, ": weights lack '", key(base, l), "'");
  TORCH_CHECK(c_.logq <= 0 || log_supp_.numel() == Wy.size(0), kLoopOp,
              ": logq > 0 needs log_supp with one entry per item");
}

at::Tensor TrainLoop::mask(int64_t rows, int64_t cols, double p_drop) {
  if (p_drop <= 0) return at::Tensor();
  const double keep = 1.0 - p_drop;
  const at::Tensor& ref = w_.at(kWy);
  // The same draws and arithmetic as the Python step: rand < keep, as dtype, / keep.
  if (runs_cuda_kernels(ref)) {
    at::Tensor u = at::rand({rows, cols}, gen_, ref.options());
    return u.lt(keep).to(ref.scalar_type()).div_(keep);
  }
  // On the CPU, at::rand's very draws and the transform in one loop (same bits, and
  // the generator left where at::rand leaves it).
  at::Tensor m = at::empty({rows, cols}, ref.options());
  dropout_keep_mask_cpu_(m, gen_, keep);
  return m;
}

void TrainLoop::update(const std::string& name, const at::Tensor& ids, const at::Tensor& grads) {
  const bool dense = is_dense(name);
  const at::Tensor& id = dense ? dense_ids_.at(name) : ids;
  // As the public op: nothing to update for no ids or empty rows (a CUDA launch of zero
  // blocks is an error, and the sort would read nothing).
  if (id.numel() == 0 || w_.at(name).numel() == 0) return;
  at::Tensor p = as_2d(w_.at(name), dense);
  // Dense gradients take the parameter's 2-D shape, row gradients of By become M x 1.
  const at::Tensor g = (dense ? grads.reshape(p.sizes()) : as_2d(grads, false)).contiguous();
  RowState& s = st_.at(name);
  if (dense && !runs_cuda_kernels(p)) {
    // Every row has a gradient: the dense step (one pass, no sort), same bits.
    SparseRowTable t{p, g, s.s1, s.s2, s.velocity, s.steps};
    dense_update_cpu_(t, c_.optimizer, c_.lr, c_.momentum, c_.lmbd, c_.eps, c_.p1, c_.p2);
    return;
  }
#ifdef WITH_CUDA
  if (runs_cuda_kernels(p)) {
    sparse_row_update_cuda_(p, id, g, s.s1, s.s2, s.velocity, s.steps, c_.optimizer, c_.lr,
                            c_.momentum, c_.lmbd, c_.eps, c_.p1, c_.p2, true);
    return;
  }
#endif
  sparse_row_update_cpu_(p, id, g, s.s1, s.s2, s.velocity, s.steps, c_.optimizer, c_.lr,
                         c_.momentum, c_.lmbd, c_.eps, c_.p1, c_.p2, true);
}

void TrainLoop::update_output_rows(const at::Tensor& lead_ids, const at::Tensor& Y,
                                   const at::Tensor& gWy, const at::Tensor& gBy) {
  const at::Tensor& Wy = w_.at(kWy);
  const at::Tensor& By = w_.at(kBy);
  if (runs_cuda_kernels(Wy) || Wy.numel() == 0 || By.numel() == 0) {
    // Two calls of the op's kernel, each sorting its own ids.
    update(kWy, lead_ids.defined() ? at::cat({lead_ids, Y}) : Y, gWy);
    update(kBy, Y, gBy);
    return;
  }
  // The CPU's one sort of the ids and one pass over their runs for both tables.
  const RowState& sw = st_.at(kWy);
  const RowState& sb = st_.at(kBy);
  SparseRowTable rows{Wy, gWy.contiguous(), sw.s1, sw.s2, sw.velocity, sw.steps};
  SparseRowTable bias{as_2d(By, false), gBy.contiguous(), sb.s1, sb.s2, sb.velocity, sb.steps};
  sparse_row_update_with_bias_cpu_(rows, bias, lead_ids, Y, c_.optimizer, c_.lr, c_.momentum,
                                   c_.lmbd, c_.eps, c_.p1, c_.p2);
}

std::tuple<at::Tensor, std::vector<at::Tensor>> TrainLoop::step(
    const at::Tensor& X, const at::Tensor& T, const at::Tensor& reset, const at::Tensor& S,
    const std::vector<at::Tensor>& H) {
  const TrainConfig& c = c_;
  const int64_t B = X.size(0);
  TORCH_CHECK(static_cast<int64_t>(H.size()) == c.n_layers, kLoopOp, ": expected ", c.n_layers,
              " hidden states, got ", H.size());
  const at::Tensor& Wy = w_.at(kWy);
  const at::Tensor& By = w_.at(kBy);
  // What the public gru_step op does before its kernels, which this loop calls
  // directly: an empty reset means none (the kernels would read B flags from it), a
  // given one is one bool/uint8 flag per row, contiguous; the hidden states are
  // contiguous B x d (the kernels index them flat).
  at::Tensor reset_c;
  if (reset.defined() && reset.numel() > 0) {
    TORCH_CHECK(reset.scalar_type() == at::kBool || reset.scalar_type() == at::kByte, kLoopOp,
                ": reset flags must be bool or uint8, got ", reset.scalar_type());
    TORCH_CHECK(reset.dim() == 1 && reset.size(0) == B, kLoopOp, ": reset must have one flag per row (",
                B, "), got shape ", reset.sizes());
    TORCH_CHECK(reset.device() == Wy.device(), kLoopOp, ": reset must be on ", Wy.device());
    reset_c = reset.contiguous();
  }
  std::vector<at::Tensor> Hc;
  Hc.reserve(H.size());
  for (size_t l = 0; l < H.size(); ++l) {
    TORCH_CHECK(H[l].dim() == 2 && H[l].size(0) == B && H[l].device() == Wy.device() &&
                    H[l].scalar_type() == Wy.scalar_type(),
                kLoopOp, ": hidden state ", l, " must be B x d (B = ", B, ") ", Wy.scalar_type(),
                " on ", Wy.device(), ", got ", H[l].sizes(), " ", H[l].scalar_type());
    Hc.push_back(H[l].contiguous());
  }
  const bool has_s = S.defined() && S.numel() > 0;
  const at::Tensor Y = has_s ? at::cat({T, S}) : T;
  const int64_t N = Y.size(0);
  const int64_t d_out = Wy.size(1);

  // ---- forward ------------------------------------------------------------------
  std::optional<Phase> phase;
  phase.emplace("g4r::forward");
  at::Tensor x, m_embed;
  if (c.mode == EMB_SHARED) x = gather_rows(Wy, X);
  else if (c.mode == EMB_SEPARATE) x = gather_rows(w_.at(kE), X);
  if (x.defined()) {
    m_embed = mask(B, x.size(1), c.dropout_embed);
    if (m_embed.defined()) x.mul_(m_embed);  // x is the gather's own fresh tensor
  }
  std::vector<at::Tensor> ins, masks, outs;
  std::vector<std::vector<at::Tensor>> saves;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    const at::Tensor& Wh = w_.at(key(kWh, l));
    at::Tensor vx;
    if (l == 0 && c.mode == EMB_NONE) vx = gather_rows(w_.at(kWx0), X).add_(w_.at(key(kB, 0)));
    else vx = at::addmm(w_.at(key(kB, l)), x, w_.at(key(kWx, l)));
    at::Tensor mh = mask(B, Wh.size(0), c.dropout_hidden);
    std::vector<at::Tensor> r = gru_fwd(vx, Hc[l], w_.at(key(kWrz, l)), Wh, reset_c, mh, c);
    ins.push_back(x);
    masks.push_back(mh);
    outs.push_back(r[0]);
    saves.emplace_back(r.begin() + 1, r.end());
    x = r[0];
  }
  phase.emplace("g4r::scores");
  // Sampled scores by the op's own code (csrc/common/sampled_scores_products.h), with
  // the N used rows of Wy gathered once for the forward and the backward.
  const auto [WyY, ByY] = gather_scored(Wy, By, Y);
  const at::Tensor scores = scores_from_rows(x, WyY, ByY);
  const at::Tensor off = c.logq > 0 ? logq_offsets(log_supp_, T, S, c.sample_alpha, c.logq)
                                    : at::empty({0}, scores.options());
  phase.emplace("g4r::loss");
  auto [loss, dS] = loss_fwd_bwd(scores, off, c);

  // ---- backward -----------------------------------------------------------------
  phase.emplace("g4r::backward");
  // Row gradients of Wy: in shared mode the input rows (X) come first, then the
  // scored rows (Y), in one buffer, so that one kernel call sums and applies both.
  const int64_t lead = c.mode == EMB_SHARED ? B : 0;
  at::Tensor gWy = at::empty({lead + N, d_out}, Wy.options());
  at::Tensor gWyY = gWy.narrow(0, lead, N);
  auto [dx, gBy] = sampled_scores_grads_from_rows(dS, x, WyY, gWyY);
  std::vector<std::pair<std::string, at::Tensor>> dense;  // (name, gradient)
  at::Tensor gWx0;
  for (int64_t l = c.n_layers - 1; l >= 0; --l) {
    std::vector<at::Tensor> g = gru_bwd(dx, saves[l], w_.at(key(kWrz, l)), w_.at(key(kWh, l)),
                                        reset_c, masks[l], c);
    const at::Tensor& dvx = g[0];
    dense.emplace_back(key(kWrz, l), g[2]);
    dense.emplace_back(key(kWh, l), g[3]);
    dense.emplace_back(key(kB, l), dvx.sum(0));
    if (l == 0 && c.mode == EMB_NONE) {
      gWx0 = dvx;
      dx = at::Tensor();
    } else {
      const at::Tensor& Wx = w_.at(key(kWx, l));
      dense.emplace_back(key(kWx, l), at::mm(ins[l].t(), dvx));
      dx = at::mm(dvx, Wx.t());
    }
  }
  if (dx.defined() && m_embed.defined()) dx = dx * m_embed;
  if (c.mode == EMB_SHARED) gWy.narrow(0, 0, B).copy_(dx);

  // ---- global gradient cap, then the updates ---------------------------------------
  phase.emplace("g4r::update_dense");
  at::Tensor gE = c.mode == EMB_SEPARATE ? dx : at::Tensor();
  if (c.grad_cap > 0) {
    std::vector<at::Tensor> all;
    for (auto& kv : dense) all.push_back(kv.second);
    for (const at::Tensor* t : {&gWy, &gBy, &gE, &gWx0})
      if (t->defined()) all.push_back(*t);
    at::Tensor sq = at::zeros({}, Wy.options().dtype(at::kDouble));
    for (const at::Tensor& t : all) sq.add_(t.to(at::kDouble).pow(2).sum());
    const at::Tensor norm = sq.sqrt();
    const at::Tensor f = at::where(norm >= c.grad_cap, c.grad_cap / norm, at::ones_like(norm))
                             .to(Wy.scalar_type());
    for (auto& kv : dense) kv.second = kv.second * f;
    for (at::Tensor* t : {&gWy, &gBy, &gE, &gWx0})
      if (t->defined()) *t = *t * f;
  }
  for (auto& kv : dense) update(kv.first, at::Tensor(), kv.second);
  phase.emplace("g4r::update_rows");
  if (gWx0.defined()) update(kWx0, X, gWx0);
  if (gE.defined()) update(kE, X, gE);
  update_output_rows(c.mode == EMB_SHARED ? X : at::Tensor(), Y, gWy, gBy);
  return {loss, outs};
}

std::tuple<at::Tensor, std::vector<at::Tensor>> TrainLoop::run(
    const at::Tensor& ins, const at::Tensor& outs, const at::Tensor& resets,
    const at::Tensor& prev, const at::Tensor& offsets, const at::Tensor& shrink,
    const at::Tensor& samples, int64_t t0, int64_t t1, std::vector<at::Tensor> H) {
  const at::Tensor& Wy = w_.at(kWy);
  TORCH_CHECK(t0 >= 0 && t1 >= t0, kLoopOp, ".run: need 0 <= t0 <= t1, got ", t0, ", ", t1);
  TORCH_CHECK(offsets.is_cpu() && offsets.scalar_type() == at::kLong && offsets.dim() == 1 &&
                  offsets.size(0) > t1, kLoopOp, ".run: offsets must be an int64 CPU tensor with more than t1 = ",
              t1, " entries");
  TORCH_CHECK(shrink.is_cpu() && shrink.scalar_type() == at::kBool && shrink.dim() == 1 &&
                  shrink.size(0) >= t1, kLoopOp, ".run: shrink must be a bool CPU tensor with at least t1 = ",
              t1, " entries");
  for (const at::Tensor* t : {&ins, &outs, &resets, &prev})
    TORCH_CHECK(t->device() == Wy.device(), kLoopOp, ".run: the schedule must be on ", Wy.device());
  const bool has_s = samples.defined() && samples.numel() > 0;
  if (has_s)
    TORCH_CHECK(samples.dim() == 2 && samples.size(0) == t1 - t0 && samples.device() == Wy.device() &&
                    samples.scalar_type() == at::kLong, kLoopOp,
                ".run: samples must be int64 (t1 - t0) x n_sample on ", Wy.device());
  const int64_t* off = offsets.data_ptr<int64_t>();
  const bool* shr = shrink.data_ptr<bool>();
  at::Tensor losses = at::empty({t1 - t0}, Wy.options().dtype(at::kDouble));
  for (int64_t t = t0; t < t1; ++t) {
    const int64_t a = off[t], b = off[t + 1];
    if (shr[t]) {
      const at::Tensor keep = prev.slice(0, a, b);
      for (auto& h : H) h = h.index_select(0, keep);
    }
    const at::Tensor S = has_s ? samples.select(0, t - t0) : at::Tensor();
    auto [loss, Hn] = step(ins.slice(0, a, b), outs.slice(0, a, b), resets.slice(0, a, b), S, H);
    losses.select(0, t - t0).copy_(loss);
    H = std::move(Hn);
  }
  return {losses, H};
}

}  // namespace gru4rec
