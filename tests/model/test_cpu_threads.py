"""The default CPU thread count (gru4rec_fast.cpu_threads): physical-core detection on
fake sysfs trees, and the user's own choice (environment, torch.set_num_threads,
--threads) winning over the default."""
import os

import pytest
import torch

from gru4rec_fast import cpu_threads
from gru4rec_fast.cli import main


def fake_sysfs(root, topology):
    """A /sys/devices/system/cpu tree: topology maps cpu -> dict of topology files."""
    for cpu, files in topology.items():
        d = root / f"cpu{cpu}" / "topology"
        d.mkdir(parents=True)
        for name, value in files.items():
            (d / name).write_text(f"{value}\n")
    return str(root)


def smt(n_cores, per_core, packages=1):
    """cpu -> topology of ``packages`` x ``n_cores`` cores with ``per_core`` hyperthreads,
    numbered as Linux does (all first threads, then all second threads)."""
    topo, n = {}, packages * n_cores
    for t in range(per_core):
        for k in range(n):
            cpu = t * n + k
            pkg, core = divmod(k, n_cores)
            sib = ",".join(str(s * n + k) for s in range(per_core))
            topo[cpu] = {"core_id": core, "physical_package_id": pkg, "thread_siblings_list": sib}
    return topo


@pytest.fixture
def restore_threads(monkeypatch):
    """Restores torch's thread count and lets apply_default run again."""
    before = torch.get_num_threads()
    monkeypatch.setattr(cpu_threads, "_applied", False)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize("cores,per_core,packages,expected", [
    (2, 1, 1, 2),     # this VM: one thread per core
    (4, 2, 1, 4),     # 8 logical CPUs, hyperthreads
    (3, 2, 2, 6),     # two sockets: the same core_id in each package is another core
    (1, 4, 1, 1),
])
def test_physical_cores_counts_each_core_once(tmp_path, cores, per_core, packages, expected):
    topo = smt(cores, per_core, packages)
    sysfs = fake_sysfs(tmp_path, topo)
    assert cpu_threads.physical_cores(cpus=sorted(topo), sysfs=sysfs) == expected


def test_physical_cores_of_the_affinity_mask_only(tmp_path):
    topo = smt(4, 2)                       # cpu k and cpu k+4 share core k
    sysfs = fake_sysfs(tmp_path, topo)
    assert cpu_threads.physical_cores(cpus=[0, 4], sysfs=sysfs) == 1
    assert cpu_threads.physical_cores(cpus=[0, 1, 4, 5], sysfs=sysfs) == 2
    assert cpu_threads.physical_cores(cpus=[1, 2, 3], sysfs=sysfs) == 3


def test_physical_cores_from_sibling_lists_without_core_id(tmp_path):
    topo = {cpu: {"thread_siblings_list": f.get("thread_siblings_list")}
            for cpu, f in smt(3, 2).items()}
    sysfs = fake_sysfs(tmp_path, topo)
    assert cpu_threads.physical_cores(cpus=sorted(topo), sysfs=sysfs) == 3


def test_physical_cores_falls_back_to_logical_cpus(tmp_path):
    # no topology at all (another platform, a restricted container)
    assert cpu_threads.physical_cores(cpus=[0, 1, 2], sysfs=str(tmp_path / "missing")) == 3
    # topology readable for one CPU only: no guess from half the tree
    sysfs = fake_sysfs(tmp_path / "half", {0: {"core_id": 0}})
    assert cpu_threads.physical_cores(cpus=[0, 1], sysfs=sysfs) == 2


def test_physical_cores_on_this_machine():
    n = cpu_threads.physical_cores()
    assert 1 <= n <= len(cpu_threads.allowed_cpus()) <= (os.cpu_count() or 1)


@pytest.mark.parametrize("environ,expected", [
    ({}, None), ({"OMP_NUM_THREADS": "3"}, 3), ({"OMP_NUM_THREADS": " 4,2 "}, 4),
    ({"MKL_NUM_THREADS": "5"}, 5), ({"OMP_NUM_THREADS": "2", "MKL_NUM_THREADS": "5"}, 2),
    ({"OMP_NUM_THREADS": ""}, None),
])
def test_user_thread_count(environ, expected):
    assert cpu_threads.user_thread_count(environ) == expected


@pytest.mark.parametrize("value", ["zero", "0", "-1", "1.5"])
def test_user_thread_count_rejects_bad_values_by_name(value):
    with pytest.raises(ValueError, match=r"OMP_NUM_THREADS=.*positive thread count"):
        cpu_threads.user_thread_count({"OMP_NUM_THREADS": value})


@pytest.mark.parametrize("cores,per_core,expected", [
    (4, 2, 3),        # 8 logical CPUs on 4 cores: 4 cores less the one left free
    (2, 1, 1),        # this VM
    (1, 3, 1),        # at least one thread
])
def test_default_is_the_physical_cores_less_one(tmp_path, restore_threads, cores, per_core,
                                                expected):
    topo = smt(cores, per_core)
    sysfs = fake_sysfs(tmp_path, topo)
    logical = sorted(topo)
    assert cpu_threads.default_threads(environ={}, cpus=logical, sysfs=sysfs) == expected
    torch.set_num_threads(len(logical))    # torch's start-up count: the logical CPUs
    assert cpu_threads.apply_default(environ={}, cpus=logical, sysfs=sysfs) == expected
    assert torch.get_num_threads() == expected


def test_default_replaces_torchs_physical_core_start(tmp_path, restore_threads):
    # torch starts at the physical cores where there are hyperthreads (ATen's cpuinfo
    # default): that is no user choice either
    sysfs = fake_sysfs(tmp_path, smt(4, 2))
    torch.set_num_threads(4)
    assert cpu_threads.apply_default(environ={}, cpus=range(8), sysfs=sysfs) == 3
    assert torch.get_num_threads() == 3


def test_default_threads_follow_the_environment(tmp_path):
    sysfs = fake_sysfs(tmp_path, smt(4, 2))
    assert cpu_threads.default_threads(environ={"OMP_NUM_THREADS": "6"}, cpus=range(8),
                                       sysfs=sysfs) == 6


def test_default_applied_once_per_process(tmp_path, restore_threads):
    sysfs = fake_sysfs(tmp_path, smt(1, 3))
    torch.set_num_threads(3)
    cpu_threads.apply_default(environ={}, cpus=[0, 1, 2], sysfs=sysfs)
    torch.set_num_threads(3)               # the user's later choice stays
    assert cpu_threads.apply_default(environ={}, cpus=[0, 1, 2], sysfs=sysfs) == 3
    assert torch.get_num_threads() == 3


def test_torch_set_num_threads_wins(tmp_path, restore_threads):
    sysfs = fake_sysfs(tmp_path, smt(1, 3))
    torch.set_num_threads(2)     # neither the 3 logical CPUs nor the 1 core: the user chose
    assert cpu_threads.apply_default(environ={}, cpus=[0, 1, 2], sysfs=sysfs) == 2
    assert torch.get_num_threads() == 2


def test_set_num_threads_wins_even_at_a_start_up_count(tmp_path, restore_threads):
    import gru4rec_fast
    sysfs = fake_sysfs(tmp_path, smt(1, 3))
    torch.set_num_threads(3)     # the 3 logical CPUs: torch's own start, no choice visible
    assert cpu_threads.apply_default(environ={}, cpus=[0, 1, 2], sysfs=sysfs) == 1
    cpu_threads._applied = False
    assert gru4rec_fast.set_num_threads(3) == 3      # the same count, asked for
    assert cpu_threads.apply_default(environ={}, cpus=[0, 1, 2], sysfs=sysfs) == 3
    assert torch.get_num_threads() == 3
    with pytest.raises(ValueError, match="threads must be a positive integer"):
        gru4rec_fast.set_num_threads(0)


def test_environment_wins(tmp_path, restore_threads):
    sysfs = fake_sysfs(tmp_path, smt(1, 3))
    torch.set_num_threads(3)
    assert cpu_threads.apply_default(environ={"OMP_NUM_THREADS": "3"}, cpus=[0, 1, 2],
                                     sysfs=sysfs) == 3
    assert torch.get_num_threads() == 3


def test_explicit_threads_win_and_are_checked(restore_threads):
    assert cpu_threads.apply_default(threads=1) == 1
    assert torch.get_num_threads() == 1
    for bad in (0, -2, 1.5, True, "2"):
        with pytest.raises(ValueError, match="threads must be a positive integer"):
            cpu_threads.apply_default(threads=bad)


def test_fit_applies_the_default(monkeypatch, restore_threads):
    from gru4rec_fast import GRU4Rec
    from gru4rec_fast.data import synthetic
    calls = []
    monkeypatch.setattr(cpu_threads, "apply_default", lambda *a, **k: calls.append(a) or 1)
    GRU4Rec(layers=[8], batch_size=4, n_sample=8, n_epochs=1, seed=0).fit(
        synthetic.generate(300, 30, seed=0), max_steps=2, verbose=False)
    assert calls == [()]


def test_cli_threads_argument(tmp_path, capsys, restore_threads):
    assert main(["train", str(tmp_path / "none.tsv"), "--threads", "0"]) == 2
    assert "--threads must be >= 1, got 0" in capsys.readouterr().err
    from gru4rec_fast.cli.train import threads_arg
    threads_arg(1)
    assert torch.get_num_threads() == 1
    threads_arg(None)                      # no choice: the default comes at fit/evaluate
    assert torch.get_num_threads() == 1
