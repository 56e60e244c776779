"""The Ray engine's refusals and faults: bad input refused before any worker starts (Ray is
never started), a missing Ray named in one line, and a worker killed mid-run that never leaves a
committed partial output or a part behind. No Ray runs in this module's process.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
import ray

from anonymizer_ml.cli_common import optional_keyset
from anonymizer_ml.errors import PlanError
from anonymizer_ml.lineage.manifest import MANIFEST_NAME
from anonymizer_ml.pending import TMP_MARKER
from anonymizer_ml.policy.load import parse_policy
from anonymizer_ml.runners import ray as ray_runner
from fixtures.make_large import LARGE_POLICY
from tests.conftest import (
    CUSTOMERS_POLICY,
    FIXTURE,
    ROOT,
    customer_files,
    keyset_and_trust,
    run_cli,
)

FILES, ROWS_PER_FILE = 8, 150_000


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return keyset_and_trust(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def many_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return customer_files(tmp_path_factory.mktemp("many"), FILES, ROWS_PER_FILE)


def test_bad_input_is_refused_before_any_worker_starts(
    keys: tuple[Path, Path], tmp_path: Path
) -> None:
    assert not ray.is_initialized()  # nothing below may start Ray
    keyset = optional_keyset(keys[0])
    wrong = parse_policy("name: w\ncolumns:\n  no_such_column: drop\n")
    with pytest.raises(Exception, match="no_such_column"):
        ray_runner.run(wrong, "w.yaml", str(FIXTURE), tmp_path / "a", keyset)
    at_rest = parse_policy(
        "name: r\nunlisted_columns: keep\ncolumns: {}\nat_rest: {columns: [email]}\n"
    )
    with pytest.raises(PlanError, match="--engine local"):
        ray_runner.run(at_rest, "r.yaml", str(FIXTURE), tmp_path / "b", keyset)
    assert not ray.is_initialized()
    assert not any((tmp_path / name).exists() for name in "ab")


def test_a_missing_ray_is_one_line_naming_the_extra(
    keys: tuple[Path, Path], tmp_path: Path
) -> None:
    code = (
        "import sys; sys.modules['ray'] = None\n"
        "from anonymizer_ml.cli import entrypoint; entrypoint()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, "run", "-p", str(CUSTOMERS_POLICY), "-k", str(keys[0]),
         "--engine", "ray", str(FIXTURE), str(tmp_path / "out")],
        check=False, capture_output=True, text=True, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "error: the ray engine needs Ray Data, which is not installed; "
        "pip install 'anonymizer-ml[ray]' (or run with --engine local)"
    ]
    assert not (tmp_path / "out").exists()


def _actor_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if b"UnitWriter" in title:
                pids.append(int(entry.name))
    return pids


def test_a_killed_worker_leaves_no_partial_output(
    keys: tuple[Path, Path], many_files: Path, tmp_path: Path
) -> None:
    assert not ray.is_initialized()  # this run's Ray is the CLI's own
    out = tmp_path / "out"
    policy = tmp_path / "large.yaml"
    policy.write_text(LARGE_POLICY.replace("unlisted_columns: error", "unlisted_columns: keep"))
    run = subprocess.Popen(
        [sys.executable, "-m", "anonymizer_ml", "run", "-q", "-p", str(policy), "-k", str(keys[0]),
         "--engine", "ray", str(many_files), str(out)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    deadline, killed = time.monotonic() + 120, None
    while killed is None and run.poll() is None and time.monotonic() < deadline:
        pids = _actor_pids()
        if pids:
            time.sleep(1.0)  # let it write some parts first
            killed = pids[0]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    _, stderr = run.communicate(timeout=300)
    assert killed is not None, "no Ray actor was seen to kill"
    leftovers = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    if run.returncode == 0:  # Ray restarted the actor and retried its batches: a whole release
        checked = run_cli(["verify", str(out), "--trust", str(keys[1])])
        assert checked.returncode == 0, checked.stderr
        reference = tmp_path / "local"
        ran = run_cli(["run", "-q", "-p", str(policy), "-k", str(keys[0]), str(many_files),
                       str(reference)])  # fmt: skip
        assert ran.returncode == 0, ran.stderr
        for n in range(FILES):  # every row once: none lost with the actor, none written twice
            name = f"customers-{n}.parquet"
            assert pl.read_parquet(out / name).equals(pl.read_parquet(reference / name)), name
    else:  # or the run failed: one error line, nothing committed, no part left
        assert run.returncode == 1
        errors = [line for line in stderr.splitlines() if line.startswith("error:")]
        assert len(errors) == 1, stderr
        assert "Traceback" not in stderr
        assert leftovers == []
    assert not list(out.rglob(f"{TMP_MARKER}*")) if out.exists() else True
    assert not (out / MANIFEST_NAME).exists() or run.returncode == 0
