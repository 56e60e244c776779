"""One run's hold on its output directory: lock, stale temporary files, an all-or-nothing commit.

A run locks the directory (``flock`` on the directory itself, so no lock file is left behind and
a killed run's lock vanishes with it), removes the temporary files that earlier, killed runs left
there (only names with our marker; the lock proves no live run owns them), writes every data file
and the manifest under temporary names, and renames them into place only when all were written:
the manifest last, so a directory never holds a manifest that describes other files.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path
from types import TracebackType

from anonymizer_ml import pending
from anonymizer_ml.errors import OutputError
from anonymizer_ml.lineage.manifest import ERASURES_NAME, LEDGER_NAME, MANIFEST_NAME
from anonymizer_ml.pending import TMP_MARKER


def _is_stale(path: Path, run_id: str) -> bool:
    return path.name.startswith(TMP_MARKER) and not path.name.startswith(f"{TMP_MARKER}{run_id}-")


class OutputLock:
    """An exclusive hold on an output directory for one run (a context manager)."""

    def __init__(self, outdir: Path, run_id: str) -> None:
        self.outdir, self.run_id = outdir, run_id
        self.stale_removed = 0
        self._fd: int | None = None
        self._temps: list[Path] = []
        self._created = False

    def __enter__(self) -> OutputLock:
        try:
            self._created = not self.outdir.exists()
            self.outdir.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.outdir, os.O_RDONLY | os.O_DIRECTORY)
        except OSError as exc:
            raise (OutputError.of_write(self.outdir, exc) or _unknown(self.outdir, exc)) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(
                f"{self.outdir}: another anonymizer run is writing this directory; wait for it "
                "to finish or choose another output directory"
            ) from None
        self._fd = fd
        self.stale_removed = self._remove_stale()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        for path in self._temps:
            pending.release(path)  # whatever was not renamed into place
        if self._fd is not None:
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
        if exc is not None and self._created:
            with contextlib.suppress(OSError):  # only if still empty
                self.outdir.rmdir()  # a failed run leaves no trace, not even an empty directory

    def _remove_stale(self) -> int:
        removed = 0
        for path in sorted(self.outdir.rglob(f"{TMP_MARKER}*")):
            if path.is_file() and _is_stale(path, self.run_id):
                path.unlink(missing_ok=True)
                removed += 1
            elif path.is_dir() and _is_stale(path, self.run_id):
                # A killed distributed run's parts: counted file by file, as the user sees them.
                removed += sum(1 for part in path.rglob("*") if part.is_file())
                shutil.rmtree(path, ignore_errors=True)
        return removed

    def temporary(self, target: Path) -> Path:
        """The temporary name of ``target`` for this run, registered for removal on a signal."""
        tmp = pending.register(target.with_name(f"{TMP_MARKER}{self.run_id}-{target.name}"))
        self._temps.append(tmp)
        return tmp

    def temporary_directory(self, name: str) -> Path:
        """A directory of this run's temporary parts, removed with them unless committed."""
        path = pending.register(self.outdir / f"{TMP_MARKER}{self.run_id}-{name}")
        self._temps.append(path)
        path.mkdir()
        return path

    def commit(self, renames: list[tuple[Path, Path]], manifest: bytes) -> Path:
        """Write the manifest under a temporary name, then rename every file and it into place.

        Until the renames start nothing at a target path has changed, so a failure (a full disk
        while writing the manifest) leaves the previous release whole.
        """
        target = self.outdir / MANIFEST_NAME
        tmp = self.temporary(target)
        try:
            with tmp.open("wb") as handle:
                handle.write(manifest)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError as exc:
            raise (OutputError.of_write(target, exc) or _unknown(target, exc)) from None
        with pending.committing():
            # A stale manifest must never describe the new files, even if we die mid-rename;
            # receipts and erasure records of the old release point at the old manifest.
            target.unlink(missing_ok=True)
            (self.outdir / LEDGER_NAME).unlink(missing_ok=True)
            (self.outdir / ERASURES_NAME).unlink(missing_ok=True)
            for source, destination in [*renames, (tmp, target)]:
                os.replace(source, destination)
                pending.release(source)
            _sync_directory(self.outdir)
        return target


def _sync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _unknown(where: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or exc.__class__.__name__
    return OutputError(f"{where}: cannot write the output ({reason}); choose another directory")
