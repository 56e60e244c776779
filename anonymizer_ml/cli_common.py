"""What every CLI module shares: the consoles, the error guard, common options."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from anonymizer_ml.errors import AnonymizerError, KeyringError, PolicyError

if TYPE_CHECKING:
    from anonymizer_ml.crypto.keyset import Keyset
    from anonymizer_ml.crypto.subjects import SubjectKeyStore

stdout = Console(width=None if sys.stdout.isatty() else 120)
stderr = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")

SubjectKeysOption = Annotated[
    Path | None,
    typer.Option(
        "--subject-keys",
        envvar="ANONYMIZER_SUBJECT_KEYS",
        help="Subject key store for per-subject encryption (created on first use).",
    ),
]

JsonOption = Annotated[bool, typer.Option("--json", help="Print the result as JSON.")]

KeysetOption = Annotated[
    Path | None,
    typer.Option("--keyset", "-k", help="Keyset file (default: $ANONYMIZER_KEYSET)."),
]


def fail(lines: list[str], code: int) -> typer.Exit:
    """Print each line as ``error: …`` on stderr; the Exit to raise with ``code``."""
    for line in lines:
        stderr.print(f"error: {line}", markup=False, highlight=False, soft_wrap=True)
    return typer.Exit(code)


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Turn AnonymizerError into clean ``error:`` lines and a non-zero exit."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except PolicyError as exc:
            raise fail(exc.problems, exc.exit_code) from None
        except AnonymizerError as exc:
            raise fail([str(exc)], exc.exit_code) from None
        except KeyboardInterrupt:
            raise fail(["interrupted; no output was written"], 130) from None

    return wrapper


def ask_passphrase() -> str:
    """The keyset passphrase from the environment, else asked for on a terminal."""
    from anonymizer_ml.crypto.protect import PASSPHRASE_ENV_VAR

    from_env = os.environ.get(PASSPHRASE_ENV_VAR)
    if from_env:
        return from_env
    if not sys.stdin.isatty():
        raise KeyringError(f"no passphrase: set {PASSPHRASE_ENV_VAR} or run in a terminal")
    answer: str = typer.prompt("keyset passphrase", hide_input=True)
    return answer


def optional_keyset(path: Path | None) -> Keyset | None:
    """The keyset from ``--keyset`` or ANONYMIZER_KEYSET, if either names one."""
    from anonymizer_ml.crypto.keyset import load_keyset, resolve_keyset_path

    resolved = resolve_keyset_path(path)
    return load_keyset(resolved, passphrase=ask_passphrase) if resolved is not None else None


def required_keyset(path: Path | None) -> Keyset:
    """The keyset a command cannot run without."""
    keys = optional_keyset(path)
    if keys is None:
        raise KeyringError(
            "this command needs a keyset; pass --keyset PATH or set ANONYMIZER_KEYSET"
        )
    return keys


def subject_store(path: Path | None, keyset: Keyset | None) -> SubjectKeyStore | None:
    """The subject key store named by ``--subject-keys`` (None when not given)."""
    if path is None:
        return None
    if keyset is None:
        raise KeyringError("--subject-keys needs a keyset; pass --keyset PATH")
    from anonymizer_ml.crypto.subjects import SubjectKeyStore

    return SubjectKeyStore(path, keyset)
