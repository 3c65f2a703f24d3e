"""The random streams of one training run, all derived from the model's ``seed``.

Dropout masks and negative samples each get their own torch generator. Seeding both
with the same number would make them read the same MT19937 sequence on CPU (and the
same Philox counters on CUDA), so a dropout mask and a sample block would be functions
of the same uniforms. Their seeds come from ``numpy.random.SeedSequence(seed)`` with a
distinct spawn key per stream: statistically independent streams, reproducible from
``seed`` alone. The initialisation keeps ``seed`` itself (seed 42 reproduces the
reference's numpy-seeded initialisation) and the session shuffle of epoch e uses a
generator seeded with ``seed + e`` (the original draws it from numpy's global stream;
docs/algorithm.md lists this among the deviations).
"""
import numpy as np

# stream name -> spawn key; never renumber (it would change every seeded result)
STREAMS = {"dropout": 1, "sampling": 2}


def stream_seed(seed, stream):
    """The 63-bit seed of ``stream`` ("dropout" or "sampling") for model seed ``seed``."""
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}; valid: {', '.join(STREAMS)}")
    ss = np.random.SeedSequence(int(seed) % (2 ** 64), spawn_key=(STREAMS[stream],))
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))
