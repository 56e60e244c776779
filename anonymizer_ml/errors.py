"""The error hierarchy: one root, and messages that say what, where and how to fix it."""

from __future__ import annotations

import errno
import re
from pathlib import Path

_WRITE_CAUSES = {
    errno.ENOSPC: "no space left on the device; free space or choose another output directory",
    errno.EDQUOT: "disk quota exceeded; free space or choose another output directory",
    errno.EFBIG: "file too large for this file system; choose another output directory",
    errno.EROFS: "read-only file system; choose a writable output directory",
    errno.EACCES: "permission denied; choose a directory you can write to",
    errno.EPERM: "permission denied; choose a directory you can write to",
    errno.ENOTDIR: "a part of the path is a file, not a directory; choose a directory",
    errno.EEXIST: "it is a file, not a directory; choose a directory for the output",
    errno.EISDIR: "it is a directory; name a file",
}
_OS_ERROR = re.compile(r"os error (\d+)")


class AnonymizerError(Exception):
    """Root of every error this package raises on purpose.

    The message is one line a user can act on: what was wrong, where (file, line, column) and
    the fix. The CLI prints it as is and exits non-zero; it never shows a traceback for these.
    """

    exit_code: int = 1


class PolicyError(AnonymizerError):
    """A policy file could not be read or is invalid; ``problems`` lists every issue found."""

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems: list[str] = problems if problems is not None else [message]


class PlanError(AnonymizerError):
    """A valid policy cannot be applied to the given data (wrong type, missing column, …)."""


class SchemaMismatchError(PlanError):
    """The data's columns or types do not match what the policy expects."""


class InputError(AnonymizerError):
    """An input path is missing, not Parquet, or unreadable."""


class OutputError(AnonymizerError):
    """The output location cannot be written safely (exists, overlaps the input, …)."""

    @classmethod
    def of_write(cls, where: Path, exc: BaseException) -> OutputError | None:
        """One line naming the output and the cause, when ``exc`` is a known write failure.

        Works on an OSError and on the text Polars wraps one in ("… (os error 28)").
        """
        code = exc.errno if isinstance(exc, OSError) else None
        if code is None and (found := _OS_ERROR.search(str(exc))):
            code = int(found.group(1))
        if code not in _WRITE_CAUSES:
            return None
        return cls(f"{where}: cannot write the output: {_WRITE_CAUSES[code]}")


class KeyringError(AnonymizerError):
    """A keyset is missing, malformed, unreadable or lacks the key a policy needs."""


class ManifestError(AnonymizerError):
    """A run manifest is missing, malformed or does not match the data."""


class DecryptionError(AnonymizerError):
    """A cell could not be decrypted. Deliberately opaque: it never says which check failed."""

    def __init__(self, message: str = "decryption failed") -> None:
        super().__init__(message)


class EncryptionLimitError(AnonymizerError):
    """A subkey reached its encryption ceiling; no further value is encrypted under it."""


class BudgetExceededError(AnonymizerError):
    """Training would spend more privacy budget (ε) than the dataset's policy allows."""
