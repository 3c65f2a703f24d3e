"""eval_rank (stub: the op owner replaces this module)."""

def eval_rank_counts(*args, **kwargs):
    raise NotImplementedError('eval_rank_counts')

def ranks_from_counts(*args, **kwargs):
    raise NotImplementedError('ranks_from_counts')
