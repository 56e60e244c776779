"""Group ``scale``: the customers-style policy on the local runner and on Ray (1 and 2 workers).

The same generated dataset (8 files) for all three, each run a whole CLI process; rows/s is
reported against the local runner's in the same run, and the driver's own peak RSS at two data
sizes shows whether it stays flat (the actors are other processes: their memory is Ray's).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from benchmarks.measure import figure, measure, run_args

FILES = 8
MAKE_FILES = (
    "import sys; from pathlib import Path; from fixtures.make_large import large_frame\n"
    "root, files, rows = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])\n"
    "root.mkdir(parents=True, exist_ok=True)\n"
    "for n in range(files):\n"
    "    large_frame(rows, offset=n * rows).sink_parquet("
    "root / f'customers-{n}.parquet', row_group_size=100_000)\n"
)


def dataset(data: Path, rows: int) -> Path:
    """``rows`` customer-like rows in ``FILES`` files (made once, in a subprocess)."""
    root = data / f"scale-{rows // 1_000_000}m"
    if not root.exists():
        per_file = str(rows // FILES)
        subprocess.run(
            [sys.executable, "-c", MAKE_FILES, str(root), str(FILES), per_file], check=True
        )
    return root


def scale_figures(
    data: Path, policy: Path, keyset: Path, sizes: list[int]
) -> dict[str, dict[str, object]]:
    """Rows/s and driver peak RSS: local, Ray with 1 worker, Ray with 2, at each size."""
    results: dict[str, dict[str, object]] = {}
    driver_rss: dict[int, float] = {}
    for rows in sizes:
        source, tag = dataset(data, rows), f"{rows // 1_000_000}m"
        mode, target, args = run_args(policy, keyset, source, data / "out-scale-local")
        local = measure(mode, target, args)
        local_rate = rows / local.seconds
        results[f"scale_{tag}_local_rows_per_s"] = figure(local_rate, "rows/s")
        results[f"scale_{tag}_local_peak_rss"] = figure(local.peak_rss_mib, "MiB")
        for workers in (1, 2):
            out = data / f"out-scale-ray{workers}"
            mode, target, args = run_args(policy, keyset, source, out)
            ray_args = [*args[:-2], "--engine", "ray", "--workers", str(workers), *args[-2:]]
            ran = measure(mode, target, ray_args)
            name = f"scale_{tag}_ray_{workers}w"
            unit = f"rows/s (vs local, {FILES} files)"
            results[f"{name}_rows_per_s"] = figure(rows / ran.seconds, unit, local_rate)
            results[f"{name}_driver_peak_rss"] = figure(ran.peak_rss_mib, "MiB", local.peak_rss_mib)
            if workers == 2:
                driver_rss[rows] = ran.peak_rss_mib
    if len(driver_rss) > 1:
        small, large = min(driver_rss), max(driver_rss)
        name = f"scale_driver_rss_growth_{large // 1_000_000}m_vs_{small // 1_000_000}m"
        results[name] = figure(driver_rss[large], "MiB", driver_rss[small])
    return results
