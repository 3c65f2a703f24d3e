"""sparse_row_update (stub: the op owner replaces this module)."""

class SparseRowState:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError('SparseRowState')

def sparse_row_update_(*args, **kwargs):
    raise NotImplementedError('sparse_row_update_')
