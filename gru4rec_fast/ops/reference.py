"""Plain-PyTorch reference implementation of every fused op.

Written the straightforward way a careful PyTorch user would (the way the authors'
PyTorch port does it: gathers, matmuls, autograd, coalesced sparse gradients,
index_add). Tests hold each fused op against its namesake here. One section per op;
each section is owned by that op.
"""
import math

import torch
import torch.nn.functional as F

from gru4rec_fast.ops import enums


# ==============================================================================
# sampled_scores
# ==============================================================================

def sampled_scores(*args, **kwargs):
    raise NotImplementedError('reference sampled_scores')

def sampled_scores_backward(*args, **kwargs):
    raise NotImplementedError('reference sampled_scores_backward')


# end of sampled_scores





# ==============================================================================
# fused_loss
# ==============================================================================

def fused_loss(*args, **kwargs):
    raise NotImplementedError('reference fused_loss')

def fused_loss_fwd_bwd(*args, **kwargs):
    raise NotImplementedError('reference fused_loss_fwd_bwd')


# end of fused_loss





# ==============================================================================
# sparse_row_update
# ==============================================================================

def sparse_row_update_(*args, **kwargs):
    raise NotImplementedError('reference sparse_row_update_')


# end of sparse_row_update





# ==============================================================================
# gru_step
# ==============================================================================

def gru_step(*args, **kwargs):
    raise NotImplementedError('reference gru_step')


# end of gru_step





# ==============================================================================
# eval_rank
# ==============================================================================

def eval_rank_counts(*args, **kwargs):
    raise NotImplementedError('reference eval_rank_counts')


# end of eval_rank





# ==============================================================================
# cdf_sample
# ==============================================================================

def cdf_sample(*args, **kwargs):
    raise NotImplementedError('reference cdf_sample')

def cdf_search(*args, **kwargs):
    raise NotImplementedError('reference cdf_search')


# end of cdf_sample



