"""The default number of CPU threads: the physical cores this process may run on.

Hyperthreads share a core's arithmetic units, so a second thread per core adds little to
this model's GEMMs while it doubles the synchronisation at every parallel region (see
docs/threads.md). The default is applied once per process, when training or evaluation
first starts (``apply_default``), and only when the user has not chosen: an
``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` environment variable, a ``torch.set_num_threads``
call made before that point (torch's thread count then differs from its own start-up
value), or an explicit ``threads`` argument (the CLI's ``--threads``) each win.

``prepare_environment`` sets the OpenMP runtime's settings that must be in place before
the runtime starts, i.e. before ``import torch``; the CLI's entry point calls it.
"""
import os
import sys

USER_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
SYSFS_CPU = "/sys/devices/system/cpu"

# OpenMP settings for the CLI's processes, unless the user set them (docs/threads.md).
OPENMP_DEFAULTS = {}

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
    environment setting if any, else the physical cores (``physical_cores``)."""
    user = user_thread_count(environ)
    return user if user is not None else physical_cores(cpus, sysfs)


def apply_default(threads=None, environ=None, cpus=None, sysfs=SYSFS_CPU):
    """Set torch's intra-op thread count for training/evaluation; returns the count in use.

    ``threads`` (an explicit choice, e.g. the CLI's ``--threads``) is always applied.
    Otherwise the default is applied at most once per process, and only if the user did
    not choose: no ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` and torch still at its
    start-up thread count (which is the number of logical CPUs of the affinity mask; a
    different count means ``torch.set_num_threads`` was called)."""
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
    logical = len(allowed_cpus() if cpus is None else list(cpus))
    if torch.get_num_threads() != logical:       # the user called torch.set_num_threads
        return torch.get_num_threads()
    n = physical_cores(cpus, sysfs)
    if n != torch.get_num_threads():
        torch.set_num_threads(n)
    return n


def prepare_environment(environ=None):
    """Put ``OPENMP_DEFAULTS`` into the environment where the user has not set them; for
    the CLI's entry point, before torch is imported (the OpenMP runtime reads them once,
    when it loads). Returns the names set; none if torch is already loaded."""
    environ = os.environ if environ is None else environ
    if "torch" in sys.modules:
        return []
    added = [k for k in OPENMP_DEFAULTS if k not in environ]
    for k in added:
        environ[k] = OPENMP_DEFAULTS[k]
    return added
