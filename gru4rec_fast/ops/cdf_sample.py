"""cdf_sample (stub: the op owner replaces this module)."""

def cdf_sample(*args, **kwargs):
    raise NotImplementedError('cdf_sample')

def cdf_search(*args, **kwargs):
    raise NotImplementedError('cdf_search')
