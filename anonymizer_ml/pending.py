"""Temporary files being written right now, so a signal can remove them before the process exits.

Writers register each temporary file while it exists and hold ``committing()`` while they rename
finished files into place. The CLI's signal watcher (``cli_signals``) takes the same lock, so a
SIGTERM that arrives mid-commit waits for the renames to finish: what is left is either the old
release or the new one, and no temporary file.
"""

from __future__ import annotations

import contextlib
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TMP_MARKER = ".anonymizer-tmp-"  # every temporary file we write starts with this

_PENDING: set[Path] = set()
_GUARD = threading.Lock()
_COMMIT = threading.RLock()


def register(path: Path) -> Path:
    """Note a temporary file that is about to be written; returns ``path``."""
    with _GUARD:
        _PENDING.add(path)
    return path


def _remove(path: Path) -> None:
    """Delete a temporary file, or a temporary directory with what is in it."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    else:
        path.unlink()


def release(path: Path) -> None:
    """Remove ``path`` (a file, or a directory of parts) if it still exists and forget it (after
    a rename it is already gone).

    Best effort: where it cannot be removed (a read-only file system, where it cannot have been
    written either) the next run's stale-file sweep removes it.
    """
    with contextlib.suppress(FileNotFoundError, OSError):
        _remove(path)
    with _GUARD:
        _PENDING.discard(path)


@contextmanager
def committing() -> Iterator[None]:
    """Hold while renaming finished files into place; a signal waits for the block to end."""
    with _COMMIT:
        yield


def remove_all() -> int:
    """Delete every registered temporary file (called on a fatal signal); how many existed."""
    with _COMMIT, _GUARD:
        removed = 0
        for path in list(_PENDING):
            try:
                _remove(path)
                removed += 1
            except FileNotFoundError:
                pass
            except OSError:
                continue
            _PENDING.discard(path)
        return removed
