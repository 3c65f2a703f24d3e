"""The GRU4Rec network's weights (docs/algorithm.md): shapes, embedding modes, initialisation.

Weights, all plain tensors (no nn.Module: the row-sparse tables are updated in place by
the optimiser, never through autograd's dense gradients):

  Wy   n_items x d_last   output item matrix (also the input embedding in shared mode)
  By   n_items            output item biases (zeros)
  E    n_items x k        input embedding (separate mode only)
  Wx0  n_items x 3*d1     layer 1's input weights as a row lookup (no-embedding mode only)
  Wx.l in x 3*d_l         layer l's input weights, column blocks [candidate | r | z]
                          (layer 1's is Wx0 in no-embedding mode)
  b.l  3*d_l              layer l's input bias (zeros)
  Wrz.l d_l x 2*d_l       recurrent gate weights, blocks [r | z]
  Wh.l  d_l x d_l         recurrent candidate weights

Dropout: ``dropout_p_embed`` acts on the input embedding (shared and separate modes; the
no-embedding mode has no embedding to drop), ``dropout_p_hidden`` on every layer's output.

Initialisation: every block uniform in +-sigma with sigma = sqrt(6 / (fan_in + fan_out))
of that block (or the ``sigma`` hyperparameter when > 0; normal with that std when
``init_as_normal``), drawn as float64 from ``numpy.random.RandomState(seed)`` in the
reference order: E, then per layer the Wx blocks (candidate, r, z), Wh, the Wrz blocks
(r, z), and Wy last. Seed 42 is the reference's "compatibility" mode (it seeds numpy
with 42), so two implementations start from equal weights.
"""
import numpy as np
import torch

from gru4rec_fast.model import huge_pages
from gru4rec_fast.ops import enums

SPARSE_NAMES = enums.ITEM_TABLES  # updated row-sparse (csrc/common/code_tables.h)


def embedding_mode(p):
    """'shared', 'separate' or 'none' (the names of ``enums.EMBEDDING_MODES``) from the
    hyperparameters."""
    if p["constrained_embedding"]:
        return "shared"
    if p["embedding"] == "layersize" or (isinstance(p["embedding"], int) and p["embedding"] > 0):
        return "separate"
    return "none"


def embedding_size(p):
    if p["embedding"] == "layersize":
        return p["layers"][0]
    return int(p["embedding"])


def first_layer_input_size(p, n_items):
    """Input width of GRU layer 1: the embedding size (separate), the last layer's size
    (shared: the input is a row of Wy) or n_items (no embedding: one-hot input)."""
    mode = embedding_mode(p)
    if mode == "separate":
        return embedding_size(p)
    if mode == "shared":
        return p["layers"][-1]
    return n_items


def _block(rng, shape, p, fan_shape=None):
    """Initial values of a block of ``shape``; sigma from ``fan_shape`` (default: shape)."""
    fan = shape if fan_shape is None else fan_shape
    sigma = p["sigma"] if p["sigma"] != 0 else np.sqrt(6.0 / (fan[0] + fan[1]))
    if p["init_as_normal"]:
        return rng.randn(*shape) * sigma
    return rng.rand(*shape) * sigma * 2 - sigma


def init_weights(p, n_items, seed=42, dtype=torch.float32, device="cpu"):
    """A dict name -> tensor of freshly initialised weights (see the module doc); the
    item tables on huge pages (``model.huge_pages``)."""
    rng = np.random.RandomState(42 if seed is None else int(seed) % (2 ** 32))
    layers = p["layers"]
    mode = embedding_mode(p)
    w = {}
    if mode == "separate":
        w["E"] = _block(rng, (n_items, embedding_size(p)), p)
    in_size = first_layer_input_size(p, n_items)
    for l, d in enumerate(layers):
        blocks = [_block(rng, (in_size, d), p) for _ in range(3)]      # candidate, r, z
        wh = _block(rng, (d, d), p)
        wrz = [_block(rng, (d, d), p) for _ in range(2)]               # r, z
        wx = np.hstack(blocks)
        if l == 0 and mode == "none":
            w["Wx0"] = wx
        else:
            w[f"Wx.{l}"] = wx
        w[f"b.{l}"] = np.zeros(3 * d)
        w[f"Wh.{l}"] = wh
        w[f"Wrz.{l}"] = np.hstack(wrz)
        in_size = d
    w["Wy"] = _block(rng, (n_items, layers[-1]), p)
    w["By"] = np.zeros(n_items)
    return {k: huge_pages.place(k, torch.from_numpy(np.ascontiguousarray(v)), device, dtype)
            for k, v in w.items()}


def init_item_rows(p, n_items_before, n_items_after, rng):
    """Initial rows of the items ``n_items_before .. n_items_after - 1`` added to a trained
    catalogue: name -> float64 numpy array of those rows, for every item table.

    Drawn as a fresh model of ``n_items_after`` items draws its rows (the same
    distribution and sigma, which depends on the catalogue size), from ``rng`` (see
    ``seeding.new_rows_rng``) in the order of :func:`init_weights`: E, Wx0 (its three
    column blocks, one draw of m x 3*d1: the blocks share their sigma), Wy; By is zero."""
    m, n = n_items_after - n_items_before, n_items_after
    mode = embedding_mode(p)
    rows = {}
    if mode == "separate":
        k = embedding_size(p)
        rows["E"] = _block(rng, (m, k), p, fan_shape=(n, k))
    if mode == "none":
        d = p["layers"][0]
        rows["Wx0"] = _block(rng, (m, 3 * d), p, fan_shape=(n, d))
    d = p["layers"][-1]
    rows["Wy"] = _block(rng, (m, d), p, fan_shape=(n, d))
    rows["By"] = np.zeros(m)
    return rows


def expected_shapes(p, n_items):
    """name -> shape of every weight for these hyperparameters (for load checks)."""
    layers = p["layers"]
    mode = embedding_mode(p)
    s = {}
    if mode == "separate":
        s["E"] = (n_items, embedding_size(p))
    in_size = first_layer_input_size(p, n_items)
    for l, d in enumerate(layers):
        s["Wx0" if (l == 0 and mode == "none") else f"Wx.{l}"] = (in_size, 3 * d)
        s[f"b.{l}"] = (3 * d,)
        s[f"Wh.{l}"] = (d, d)
        s[f"Wrz.{l}"] = (d, 2 * d)
        in_size = d
    s["Wy"] = (n_items, layers[-1])
    s["By"] = (n_items,)
    return s


def dense_names(weights):
    return [k for k in weights if k not in SPARSE_NAMES]
