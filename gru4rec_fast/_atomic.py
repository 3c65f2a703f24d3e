"""Atomic file writes: every file the package writes (models, checkpoints, data splits,
prediction tables, tuning reports) goes through ``atomic_write``, so a reader, or a run
killed mid-write, sees the old file or the new one, never a part."""
import os
import tempfile


def atomic_write(path, write, fsync=False):
    """Call ``write(tmp_path)`` on a temporary file in the folder of ``path``, then move it
    to ``path`` with os.replace. ``fsync``: flush it to disk first (checkpoints, models).
    The folder must exist. The file gets the usual permissions (0666 less the umask),
    not mkstemp's 0600; on any error the temporary file is removed."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=folder)
    os.close(fd)
    try:
        write(tmp)
        if fsync:
            with open(tmp, "rb+") as f:
                os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
