"""sampled_scores (stub: the op owner replaces this module)."""

def sampled_scores(*args, **kwargs):
    raise NotImplementedError('sampled_scores')

def sampled_scores_backward(*args, **kwargs):
    raise NotImplementedError('sampled_scores_backward')
