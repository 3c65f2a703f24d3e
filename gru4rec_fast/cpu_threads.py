"""The default number of CPU threads: the physical cores this process may run on, less
one core left to everything else.

Hyperthreads share a core's arithmetic units, so they are not counted. One core is left
free because every GEMM of the step (MKL splits even a 13 us 100 x 32 x 100 product over
all threads) and every ATen parallel loop is a fork/join of the whole OpenMP team, tens
of times per millisecond: when the team holds every core, any other runnable thread (the
OS, another process) preempts one member and the others wait at the join for its time
slice. On the 2-core VM measured (benches/results/cpu_threads_2026-11-29.md) two threads
ran 10-20x slower than one whenever anything else ran, and were fast or slow per process
on an idle machine; one thread was steady. docs/threads.md has the figures and the
reasons.

The default is applied once per process, when training or evaluation first starts
(``apply_default``), and only when the user has not chosen: an ``OMP_NUM_THREADS`` /
``MKL_NUM_THREADS`` environment variable, a ``torch.set_num_threads`` call made before
that point (torch's thread count then differs from the counts it starts with), a
``gru4rec_fast.set_num_threads`` call, or an explicit ``threads`` argument (the CLI's
``--threads``) each win. ``torch.set_num_threads(N)`` with N equal to a count torch
starts with (on a 2-core machine: 2) cannot be told from not asking;
``gru4rec_fast.set_num_threads(N)`` can.
"""
import os

USER_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
SYSFS_CPU = "/sys/devices/system/cpu"
RESERVED_CORES = 1      # left to the OS and other processes (see the module doc)

_applied = False


def allowed_cpus():
    """The logical CPUs this process may run on (its affinity mask; all CPUs where the
    platform has no affinity call)."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return list(range(os.cpu_count() or 1))


def physical_cores(cpus=None, sysfs=SYSFS_CPU):
    """The number of physical cores among the logical CPUs ``cpus`` (default: this
    process's affinity mask): logical CPUs that are hyperthreads of one core count once.

    Reads Linux's ``<sysfs>/cpuN/topology/`` (``physical_package_id`` + ``core_id``, or
    ``thread_siblings_list`` where those are missing); where the topology of some CPU
    cannot be read (other platforms, restricted containers) it falls back to the number
    of logical CPUs ``cpus`` (``os.cpu_count()`` when the mask is unknown)."""
    cpus = allowed_cpus() if cpus is None else list(cpus)
    if not cpus:
        return max(1, os.cpu_count() or 1)
    cores = set()
    for cpu in cpus:
        topo = os.path.join(sysfs, f"cpu{cpu}", "topology")
        try:
            core = _read(os.path.join(topo, "core_id"))
            try:
                package = _read(os.path.join(topo, "physical_package_id"))
            except OSError:
                package = "0"
            cores.add((package, core))
        except OSError:
            try:
                cores.add(("siblings", _read(os.path.join(topo, "thread_siblings_list"))))
            except OSError:
                return len(cpus)
    return max(1, len(cores))


def _read(path):
    with open(path) as f:
        return f.read().strip()


def user_thread_count(environ=None):
    """The thread count the user asked for through the environment (``OMP_NUM_THREADS``,
    then ``MKL_NUM_THREADS``), or None. A value that is not a positive integer raises
    ValueError naming the variable (torch would silently ignore it)."""
    environ = os.environ if environ is None else environ
    for var in USER_THREAD_VARS:
        raw = environ.get(var, "").strip()
        if raw:
            # OpenMP allows a list ("4,2") for nested levels: the first is the outer level.
            first = raw.split(",")[0].strip()
            if not first.isdigit() or int(first) < 1:
                raise ValueError(f"{var}={raw!r} is not a positive thread count")
            return int(first)
    return None


def default_threads(environ=None, cpus=None, sysfs=SYSFS_CPU):
    """The thread count gru4rec_fast uses when the user did not choose one: the user's
    environment setting if any, else the physical cores less ``RESERVED_CORES`` (at
    least 1)."""
    user = user_thread_count(environ)
    if user is not None:
        return user
    return max(1, physical_cores(cpus, sysfs) - RESERVED_CORES)


def _torch_startup_counts(cpus=None, sysfs=SYSFS_CPU):
    """The thread counts torch may start with: the logical CPUs (OpenMP's count, which
    follows the affinity mask) or the physical cores (ATen's cpuinfo-based default on
    machines with hyperthreads, counted over all CPUs of the machine)."""
    mask = allowed_cpus() if cpus is None else list(cpus)
    counts = {len(mask), physical_cores(mask, sysfs)}
    if cpus is None:
        n = os.cpu_count() or 1
        counts |= {n, physical_cores(range(n), sysfs)}
    return counts


def set_num_threads(threads):
    """Use ``threads`` CPU threads for training, evaluation and prediction in this
    process: ``torch.set_num_threads`` that the default never overrides (see the module
    doc: the default would replace a ``torch.set_num_threads`` to a count torch starts
    with, such as 2 on a 2-core machine)."""
    return apply_default(threads=threads)


def apply_default(threads=None, environ=None, cpus=None, sysfs=SYSFS_CPU):
    """Set torch's intra-op thread count for training/evaluation; returns the count in use.

    ``threads`` (an explicit choice, e.g. the CLI's ``--threads``) is always applied.
    Otherwise the default is applied at most once per process, and only if the user did
    not choose: no ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` and torch still at a count
    it starts with (the logical CPUs or the physical cores; any other count means
    ``torch.set_num_threads`` was called)."""
    global _applied
    import torch
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
            raise ValueError(f"threads must be a positive integer, got {threads!r}")
        torch.set_num_threads(threads)
        _applied = True
        return threads
    if _applied:
        return torch.get_num_threads()
    _applied = True
    if user_thread_count(environ) is not None:
        return torch.get_num_threads()
    if torch.get_num_threads() not in _torch_startup_counts(cpus, sysfs):
        return torch.get_num_threads()           # the user called torch.set_num_threads
    n = default_threads(environ, cpus, sysfs)
    if n != torch.get_num_threads():
        torch.set_num_threads(n)
    return n
