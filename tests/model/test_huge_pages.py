"""The item tables on transparent huge pages (csrc/cpu/huge_page_alloc.h,
gru4rec_fast/model/huge_pages.py): the allocator's tensors (shape, dtype, 2 MiB
alignment, MADV_HUGEPAGE, freed memory, fallbacks), that they behave as ordinary CPU
tensors, and that a model's item tables and their optimiser state are allocated this
way without changing any value.

Whether the kernel really backs a region with huge pages depends on the machine (THP
setting, fragmentation); what the code controls, and what is checked here, is the
advice: the region's "hg" VmFlag in /proc/self/smaps (set by madvise(MADV_HUGEPAGE))."""
import copy
import io
import os
import pickle

import numpy as np
import pandas as pd
import pytest
import torch

from gru4rec_fast import GRU4Rec, _ext
from gru4rec_fast.model import huge_pages, network

MIB = 1 << 20
THP = os.path.exists("/sys/kernel/mm/transparent_hugepage/enabled")
needs_thp = pytest.mark.skipif(not THP, reason="this kernel has no transparent huge pages "
                                               "(no /sys/kernel/mm/transparent_hugepage)")
SWITCH = "GRU4REC_FAST_HUGE_PAGES"


def C():
    return _ext.ext()


def _vm_flags(addr):
    """The VmFlags of the mapping of this process that contains ``addr``."""
    with open("/proc/self/smaps") as f:
        inside = False
        for line in f:
            head = line.split(None, 1)[0]
            if "-" in head and all(c in "0123456789abcdef-" for c in head):
                lo, hi = (int(x, 16) for x in head.split("-"))
                inside = lo <= addr < hi
            elif inside and head == "VmFlags:":
                return line.split()[1:]
    raise AssertionError(f"address {addr:#x} is in no mapping of /proc/self/smaps")


def _advised(t):
    return "hg" in _vm_flags(t.data_ptr())


def _rss_bytes():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture(autouse=True)
def _switch_unset(monkeypatch):
    monkeypatch.delenv(SWITCH, raising=False)


# -- the allocator ------------------------------------------------------------------------
def test_constants_and_switch(monkeypatch):
    assert C().huge_page_bytes == 2 * MIB and C().huge_page_min_bytes == 4 * MIB
    assert C().huge_pages_enabled()
    for off in ("0", "false", "OFF", "no"):
        monkeypatch.setenv(SWITCH, off)
        assert not C().huge_pages_enabled(), off
    for on in ("1", "yes", ""):
        monkeypatch.setenv(SWITCH, on)
        assert C().huge_pages_enabled(), on


@pytest.mark.parametrize("shape,dtype", [((1025, 1024), torch.float32), ((3, 700, 513), torch.float64),
                                         ((524289,), torch.int64), ((4 * MIB,), torch.uint8)])
def test_large_tensor_is_aligned_uninitialised_memory_of_its_shape(shape, dtype):
    t = C().empty_huge_pages(list(shape), dtype)
    assert t.shape == shape and t.dtype == dtype and t.device.type == "cpu"
    assert t.is_contiguous() and t.storage_offset() == 0
    assert t.untyped_storage().nbytes() == t.numel() * t.element_size()   # no padding seen
    assert t.data_ptr() % (2 * MIB) == 0
    # every byte is usable, the last one included
    src = torch.arange(t.numel(), dtype=torch.int64).remainder_(251).to(dtype).view(shape)
    t.copy_(src)
    assert torch.equal(t, src)


@needs_thp
def test_large_tensor_is_advised_huge_pages():
    t = C().empty_huge_pages([5 * MIB // 4], torch.float32)
    assert _advised(t)


@needs_thp
@pytest.mark.parametrize("nbytes", [0, 4, 4 * MIB - 4])
def test_small_tensor_falls_back_to_ordinary_memory(nbytes):
    t = C().empty_huge_pages([nbytes // 4], torch.float32)
    assert t.shape == (nbytes // 4,) and t.dtype == torch.float32 and t.is_contiguous()
    if nbytes:
        assert not _advised(t)


@needs_thp
@pytest.mark.parametrize("value", ["0", "off"])
def test_switch_off_gives_ordinary_memory(monkeypatch, value):
    monkeypatch.setenv(SWITCH, value)
    t = C().empty_huge_pages([8 * MIB // 4], torch.float32)
    assert t.shape == (2 * MIB,) and not _advised(t)
    monkeypatch.delenv(SWITCH)
    assert _advised(C().empty_huge_pages([8 * MIB // 4], torch.float32))


_REFUSED_MAPPING = """
import resource, sys, torch
from gru4rec_fast import _ext
C = _ext.ext()
torch.set_num_threads(1)                  # no thread stacks to map after the limit is set
C.empty_huge_pages([1], torch.uint8).fill_(1)
def vm_size():
    for line in open("/proc/self/status"):
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
n = 64 << 20
out = []
for spare_mib in (1, 3):   # the huge mapping needs n + 2 MiB of address space, malloc ~n
    resource.setrlimit(resource.RLIMIT_AS, (vm_size() + n + (spare_mib << 20), resource.RLIM_INFINITY))
    t = C.empty_huge_pages([n], torch.uint8).fill_(7)
    out.append((t.data_ptr() % (2 << 20) == 0, int(t[0]), int(t[-1])))
    del t
    resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
print(out)
"""


def test_refused_mapping_falls_back_to_ordinary_memory():
    """When the kernel refuses the huge mapping (here: an address-space limit that
    leaves room for the tensor but not for the 2 MiB of alignment slack), the tensor
    still comes, from the ordinary allocator."""
    import subprocess
    import sys
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    r = subprocess.run([sys.executable, "-c", _REFUSED_MAPPING], capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": root}, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[(False, 7, 7), (True, 7, 7)]"


def test_bad_shape_is_refused():
    with pytest.raises(RuntimeError, match="negative dimension"):
        C().empty_huge_pages([4, -1], torch.float32)


def test_memory_is_returned_when_the_tensor_dies():
    """20 cycles of a touched 64 MiB tensor: 1.25 GiB if the mappings leaked."""
    t = C().empty_huge_pages([64 * MIB // 8], torch.float64).fill_(1.0)
    del t
    before = _rss_bytes()
    for _ in range(20):
        t = C().empty_huge_pages([64 * MIB // 8], torch.float64).fill_(1.0)
        view = t[5:]                       # a view keeps the storage alive ...
        del t
        assert float(view[-1]) == 1.0      # ... after its base is gone
        del view
    assert _rss_bytes() - before < 160 * MIB


def test_tensor_behaves_as_an_ordinary_cpu_tensor():
    t = C().empty_huge_pages([1100, 1000], torch.float32)
    t.copy_(torch.randn(1100, 1000, generator=torch.Generator().manual_seed(0)))
    buf = io.BytesIO()
    torch.save({"w": t, "row": t[7]}, buf)
    buf.seek(0)
    back = torch.load(buf, weights_only=True)
    assert torch.equal(back["w"], t) and torch.equal(back["row"], t[7])
    assert torch.equal(pickle.loads(pickle.dumps(t)), t)
    assert torch.equal(copy.deepcopy(t), t) and torch.equal(t.clone(), t)
    assert torch.equal(torch.from_numpy(t.numpy().copy()), t)
    assert torch.equal(t.to(torch.float64).to(torch.float32), t)
    # the storage stays resizable (until .numpy(), as any tensor's): growth keeps the
    # values and reallocates on the same allocator
    r = C().empty_huge_pages([1100, 1000], torch.float32).copy_(t)
    r.resize_(2200, 1000)
    assert torch.equal(r[:1100], t) and r.data_ptr() % (2 * MIB) == 0
    shared = t.clone()
    assert torch.equal(t.share_memory_(), shared) and t.is_shared()


# -- huge_pages.py --------------------------------------------------------------------------
def test_item_table_copies_exactly_as_to_does():
    src = torch.from_numpy(np.random.RandomState(0).randn(2100, 500))        # float64, 8 MiB
    for dtype in (torch.float32, torch.float64):
        got = huge_pages.item_table(src, "cpu", dtype)
        assert torch.equal(got, src.to(dtype)) and got.dtype == dtype and got.data_ptr() % (2 * MIB) == 0
        assert got.data_ptr() != src.data_ptr()
    z = huge_pages.zeros((3000, 400), torch.float32)
    assert z.data_ptr() % (2 * MIB) == 0 and not z.any()
    small = huge_pages.item_table(torch.arange(6.).view(2, 3), dtype=torch.float32)
    assert torch.equal(small, torch.arange(6.).view(2, 3))


# -- the model's item tables ----------------------------------------------------------------
N_ITEMS = 9000       # Wy, E: 9000 x 128 float32 = 4.4 MiB, over the 4 MiB threshold
PARAMS = dict(layers=[128], embedding=128, batch_size=32, n_sample=64, n_epochs=1, adapt="adagrad",
              momentum=0.1, loss="cross-entropy", final_act="softmax", logq=1.0,
              dropout_p_hidden=0.0, learning_rate=0.05)


def _events(n_items, start=0, seed=0):
    """Sessions of 5 events that together use every item ``start .. start + n_items - 1``."""
    rng = np.random.RandomState(seed)
    items = np.concatenate([rng.permutation(n_items), rng.randint(0, n_items, n_items)]) + start
    n = len(items) // 5 * 5
    return pd.DataFrame({"SessionId": np.repeat(np.arange(n // 5), 5) + 10 * start,
                         "ItemId": items[:n], "Time": np.arange(n, dtype=np.int64)})


MODES = {"separate": dict(embedding=128), "none": dict(embedding=0),
         "shared": dict(constrained_embedding=True)}
TABLES = {"separate": ["E", "Wy"], "none": ["Wx0", "Wy"], "shared": ["Wy"]}


def _fit(data, model=None, mode="separate", **kw):
    m = model or GRU4Rec(seed=5, **{**PARAMS, **MODES[mode]})
    return m.fit(data, verbose=False, max_steps=40, sample_store_size=0, **kw)


def _large_item_tensors(m):
    """(name, tensor) of the model's item tables and their state over the threshold."""
    out = []
    for k in network.SPARSE_NAMES:
        if k not in m.weights:
            continue
        for name, t in [(k, m.weights[k])] + [(f"{k}.{s}", v) for s, v in m.optim_state[k].items()]:
            if t.numel() * t.element_size() >= 4 * MIB:
                out.append((name, t))
    return out


def _on_huge_pages(m, mode):
    tensors = _large_item_tensors(m)
    # the mode's tables, and s1 and velocity of each (adagrad with momentum)
    assert sorted(n for n, _ in tensors) == sorted(f"{k}{s}" for k in TABLES[mode]
                                                   for s in ("", ".s1", ".velocity"))
    return {n: t.data_ptr() % (2 * MIB) == 0 and (not THP or _advised(t)) for n, t in tensors}


def _same_model(a, b):
    assert a.weights.keys() == b.weights.keys()
    for k in a.weights:
        assert torch.equal(a.weights[k], b.weights[k]), k
        for s in a.optim_state[k]:
            assert torch.equal(a.optim_state[k][s], b.optim_state[k][s]), (k, s)


@pytest.mark.parametrize("mode", list(MODES))
def test_model_tables_on_huge_pages_and_bit_identical_to_ordinary_memory(monkeypatch, tmp_path, mode):
    data = _events(N_ITEMS)
    huge = _fit(data, mode=mode)
    assert huge.n_items == N_ITEMS and huge.optim_state["Wy"]["s1"].any()     # it trained
    assert all(_on_huge_pages(huge, mode).values()), _on_huge_pages(huge, mode)

    monkeypatch.setenv(SWITCH, "0")
    plain = _fit(data, mode=mode)
    assert not any(_on_huge_pages(plain, mode).values())
    _same_model(huge, plain)

    # save / load: the loaded tables are on huge pages again (the switch decides)
    monkeypatch.delenv(SWITCH)
    huge.save(tmp_path / "m.pt")
    loaded = GRU4Rec.load(tmp_path / "m.pt")
    assert all(_on_huge_pages(loaded, mode).values())
    _same_model(loaded, huge)

    # warm start with new items: the capacity buffers grow on huge pages; still identical
    more = _events(2000, start=N_ITEMS, seed=1)
    _fit(more, loaded, warm_start=True)
    assert loaded._rows.n_reallocations == 1 and all(_on_huge_pages(loaded, mode).values())
    monkeypatch.setenv(SWITCH, "0")
    _fit(more, plain, warm_start=True)
    assert not any(_on_huge_pages(plain, mode).values())
    _same_model(loaded, plain)
    recs_a = loaded.recommend([1, 2], [3, N_ITEMS + 5], k=5)
    recs_b = plain.recommend([1, 2], [3, N_ITEMS + 5], k=5)
    assert (np.asarray(recs_a) == np.asarray(recs_b)).all()


def test_logq_supports_on_huge_pages():
    """The per-item log-supports logQ gathers each step: an item table too (float64, so
    600k items pass the 4 MiB threshold without a 600k-row model)."""
    from gru4rec_fast.model.backends import ReferenceStep
    m = GRU4Rec(seed=5, dtype="float64", **PARAMS)
    w = network.init_weights(m.hyper, 50, dtype=torch.float64)
    supports = np.arange(600_000) % 7
    step = ReferenceStep(m, w, supports, torch.Generator())
    expect = torch.log(torch.as_tensor(supports, dtype=torch.float64).clamp_min(1e-30))
    assert torch.equal(step.log_supp, expect)
    assert step.log_supp.data_ptr() % (2 * MIB) == 0 and (not THP or _advised(step.log_supp))
