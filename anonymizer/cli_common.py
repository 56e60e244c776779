"""What every CLI module shares: the consoles, the error guard, common options."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console

from anonymizer.errors import AnonymizerError, PolicyError

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
