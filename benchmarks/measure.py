"""Wall time and peak RSS of one Python program, run in its own process."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Measured:
    """One run: exit code, wall seconds, peak RSS of the program itself, its stderr."""

    returncode: int
    seconds: float
    peak_rss_mib: float
    stderr: str


def run_measured(mode: str, target: str, args: list[str]) -> Measured:
    """Run ``python -m target args`` (mode "-m") or ``python -c target args`` (mode "-c")."""
    with tempfile.TemporaryDirectory() as scratch:
        peak_file = Path(scratch) / "peak"
        start = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "benchmarks.peak", str(peak_file), mode, target, *args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
        )
        seconds = time.perf_counter() - start
        peak = int(peak_file.read_text()) / 1024 if peak_file.exists() else float("nan")
    return Measured(done.returncode, seconds, peak, done.stderr)
