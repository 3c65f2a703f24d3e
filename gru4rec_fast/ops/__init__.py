"""Fused GRU4Rec operators (C++/CUDA) with autograd wrappers.

Each op has a plain-PyTorch twin of the same name in gru4rec_fast.ops.reference that
the tests hold it against. Importing this package does not need the compiled
extension; calling a fused op does (see gru4rec_fast._ext).
"""
from gru4rec_fast.ops.sampled_scores import sampled_scores, sampled_scores_backward
from gru4rec_fast.ops.fused_loss import fused_loss, fused_loss_fwd_bwd
from gru4rec_fast.ops.sparse_row_update import SparseRowState, sparse_row_update_
from gru4rec_fast.ops.gru_step import gru_step
from gru4rec_fast.ops.eval_rank import eval_rank_counts, ranks_from_counts
from gru4rec_fast.ops.cdf_sample import cdf_sample, cdf_search
from gru4rec_fast.ops.topk_scores import topk_scores, exclusion_csr

__all__ = ['sampled_scores', 'sampled_scores_backward', 'fused_loss', 'fused_loss_fwd_bwd', 'SparseRowState', 'sparse_row_update_', 'gru_step', 'eval_rank_counts', 'ranks_from_counts', 'cdf_sample', 'cdf_search', 'topk_scores', 'exclusion_csr']
