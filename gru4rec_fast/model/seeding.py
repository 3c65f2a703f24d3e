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

Continued training (``fit(warm_start=True)``) is training round r = 1, 2, ...: its
dropout and sampling streams use the spawn key (stream, r), so they do not replay the
numbers of earlier rounds (round 0, the first fit, keeps the key (stream,)), and its
session shuffles continue the epoch count (seed + epochs trained before + e). The rows
of items added to the catalogue in a round are drawn from :func:`new_rows_rng`.
"""
import numpy as np

# stream name -> spawn key; never renumber (it would change every seeded result)
STREAMS = {"dropout": 1, "sampling": 2, "new_items": 3}


def _sequence(seed, stream, key):
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}; valid: {', '.join(STREAMS)}")
    return np.random.SeedSequence(int(seed) % (2 ** 64), spawn_key=(STREAMS[stream],) + tuple(key))


def stream_seed(seed, stream, round=0):
    """The 63-bit seed of ``stream`` ("dropout" or "sampling") for model seed ``seed`` in
    training round ``round`` (0: the first fit; r > 0: the r-th continued training)."""
    key = (int(round),) if round else ()
    ss = _sequence(seed, stream, key)
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def new_rows_rng(seed, n_items_before):
    """The numpy RandomState that draws the initial rows of the items added to a catalogue
    of ``n_items_before`` items (spawn key ("new_items", n_items_before): a catalogue grown
    from the same size with the same seed gets the same rows)."""
    ss = _sequence(seed, "new_items", (int(n_items_before),))
    return np.random.RandomState(ss.generate_state(4, dtype=np.uint32))
