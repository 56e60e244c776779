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


def figure(
    value: float, unit: str, baseline: float | None = None, *, digits: int = 0
) -> dict[str, object]:
    """One results.json entry: value, unit, and the same-run baseline with the ratio to it (none
    where the baseline is zero: Presidio finding no span of a kind)."""

    def rounded(x: float) -> float:
        return round(x, digits) if digits else round(x)

    return {
        "value": rounded(value),
        "unit": unit,
        "baseline": None if baseline is None else rounded(baseline),
        "ratio": None if not baseline else float(f"{value / baseline:.3g}"),
    }


def measure(mode: str, target: str, args: list[str]) -> Measured:
    """Run one benchmarked program; stop the benchmark if it fails."""
    result = run_measured(mode, target, args)
    if result.returncode != 0:
        raise SystemExit(f"benchmark run failed: {target} {' '.join(args)}\n{result.stderr}")
    return result


COPY_CODE = (
    "import polars as pl, sys; "
    "pl.scan_parquet(sys.argv[1]).sink_parquet(sys.argv[2], engine='streaming')"
)


def copy_args(source: Path, target: Path) -> tuple[str, str, list[str]]:
    """The baseline: a plain streaming Parquet copy of the same file."""
    return "-c", COPY_CODE, [str(source), str(target)]


def run_args(policy: Path, keyset: Path, source: Path, out: Path) -> tuple[str, str, list[str]]:
    """Our CLI on the same file."""
    args = ["run", "-q", "--overwrite", "-p", str(policy), "-k", str(keyset), str(source), str(out)]
    return "-m", "anonymizer_ml", args
