"""tqdm progress bars that stay quiet when stderr is not a terminal or when asked."""
import sys

from tqdm.auto import tqdm


def progress_enabled(progress=None):
    """``progress`` True/False forces it; None means: on when stderr is a TTY."""
    if progress is None:
        return bool(getattr(sys.stderr, "isatty", lambda: False)())
    return bool(progress)


def bar(iterable=None, progress=None, **kwargs):
    return tqdm(iterable, disable=not progress_enabled(progress), **kwargs)
