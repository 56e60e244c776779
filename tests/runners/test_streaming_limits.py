"""Bounded memory and crash safety of real runs, in subprocesses on a generated large file."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from anonymizer_ml.lineage.manifest import MANIFEST_NAME, sha256_file
from benchmarks.measure import run_measured
from fixtures.make_large import write_large

ROWS = 6_000_000  # ~135 MB of Parquet, ~1 GB as an in-memory frame
# Measured: a streaming run of this file peaks at ~0.53 GB RSS (a plain copy: ~0.45 GB), while
# materialising it (read_parquet + anonymize_frame + write_parquet) peaks near 2.9 GB. The cap
# sits between. (Surrogates staged as struct fields once peaked at 1.7 GB; see test_pipeline.)
RSS_CAP_BYTES = 1_500 * 1024 * 1024

POLICY = """
name: limits
columns:
  customer_id: {action: hash_token}
  full_name: {action: surrogate, kind: name}
  email: {action: hash_token}
  phone: {action: mask, keep_last: 2}
  zip: {action: generalize, keep_prefix: 3}
  birth_date: {action: generalize, date_part: year}
  salary: {action: generalize, width: 10000, top: 200000}
  support_notes: keep
"""


@pytest.fixture(scope="module")
def large(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, Path]:
    base = tmp_path_factory.mktemp("large")
    data = write_large(base / "data" / "large.parquet", ROWS)
    policy = base / "policy.yaml"
    policy.write_text(POLICY)
    keyset = base / "keyset.json"
    subprocess.run(
        [sys.executable, "-m", "anonymizer_ml", "keys", "init", str(keyset)],
        check=True,
        capture_output=True,
    )
    return data, policy, keyset


def _start(large: tuple[Path, Path, Path], out: Path) -> subprocess.Popen[bytes]:
    data, policy, keyset = large
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "anonymizer_ml",
            "run",
            "-q",
            "-p",
            str(policy),
            "-k",
            str(keyset),
            str(data),
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.fixture(scope="module")
def released(
    large: tuple[Path, Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, float]:
    """The large file run once under measurement: the output directory and the peak RSS."""
    data, policy, keyset = large
    out = tmp_path_factory.mktemp("released") / "out"
    args = ["run", "-q", "-p", str(policy), "-k", str(keyset), str(data), str(out)]
    result = run_measured("-m", "anonymizer_ml", args)
    assert result.returncode == 0, result.stderr
    return out, result.peak_rss_mib * 2**20


@pytest.mark.slow
def test_streaming_run_stays_under_memory_cap(released: tuple[Path, float]) -> None:
    out, peak = released
    assert peak < RSS_CAP_BYTES, f"peak RSS {peak / 2**20:.0f} MiB: the run materialised data"
    assert (out / "large.parquet").is_file()


# Opening the release and streaming every column through a null count: measured ~0.3 GB here;
# reading the verified files into memory (the earlier open_dataset) needs the ~1 GB frame.
READ_CAP_BYTES = 700 * 1024 * 1024
STREAM_ALL = """
import sys
import polars as pl
from anonymizer_ml.hooks import open_dataset
frame = open_dataset(sys.argv[1], trust=sys.argv[2])
counts = frame.select(pl.all().null_count(), rows=pl.len()).collect(engine="streaming")
assert counts["rows"][0] == int(sys.argv[3]), counts
"""


@pytest.mark.slow
def test_open_dataset_streams_under_memory_cap(
    released: tuple[Path, float], large: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    out, _ = released
    trust = tmp_path / "trust.yaml"
    exported = subprocess.run(
        [sys.executable, "-m", "anonymizer_ml", "keys", "export-public", "-k", str(large[2])],
        capture_output=True,
        text=True,
        check=True,
    )
    trust.write_text(exported.stdout)
    result = run_measured("-c", STREAM_ALL, [str(out), str(trust), str(ROWS)])
    assert result.returncode == 0, result.stderr
    peak = result.peak_rss_mib * 2**20
    assert peak < READ_CAP_BYTES, f"peak RSS {peak / 2**20:.0f} MiB: the reader materialised data"


@pytest.mark.slow
def test_sigkill_mid_run_leaves_no_partial_output(
    large: tuple[Path, Path, Path], tmp_path: Path
) -> None:
    data = large[0]
    before = sha256_file(data)
    out = tmp_path / "out"
    process = _start(large, out)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and any(p.name.startswith(".anonymizer-tmp-") for p in out.iterdir()):
            break
        time.sleep(0.05)
    assert process.poll() is None, "the run finished before it could be killed"
    time.sleep(0.5)  # let it write part of the temporary file
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert not (out / "large.parquet").exists()
    assert not (out / MANIFEST_NAME).exists()
    assert sha256_file(data) == before
