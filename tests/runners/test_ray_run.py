"""The Ray engine runs the same Plan as the local runner: equal output file by file (tokens,
surrogates, shifted dates, generalised values, the k-anonymous recoding) and manifests that
verify with the same trust file.

One local Ray (2 CPUs) serves the module (test_ray_faults.py runs without one).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest
import ray

from anonymizer_ml.cli_common import optional_keyset
from anonymizer_ml.lineage.outcome import RunResult
from anonymizer_ml.pending import TMP_MARKER
from anonymizer_ml.policy.load import load_policy
from anonymizer_ml.runners import local
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

FILES, ROWS_PER_FILE = 8, 250_000  # the scale: >= 8 files, >= 2 M rows


@pytest.fixture(scope="module")
def cluster() -> Iterator[None]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.ERROR)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return keyset_and_trust(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def many_files(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Eight Parquet files, 2 M customer-like rows, in a Hive tree (part=0, part=1)."""
    return customer_files(tmp_path_factory.mktemp("many"), FILES, ROWS_PER_FILE, hive=True)


def both(
    policy_path: Path, data: Path, out: Path, keyset: Path, **ray_options: object
) -> tuple[RunResult, RunResult]:
    policy, keys = load_policy(policy_path), optional_keyset(keyset)
    here = local.run(policy, str(policy_path), str(data), out / "local", keys)
    there = ray_runner.run(policy, str(policy_path), str(data), out / "ray", keys, **ray_options)  # type: ignore[arg-type]
    return here, there


def same_record(mine: object, theirs: object) -> bool:
    """Equal records, floats equal to 1e-12 (sums over group-by output in another order)."""
    if isinstance(mine, float) or isinstance(theirs, float):
        assert isinstance(mine, int | float) and isinstance(theirs, int | float)
        return math.isclose(mine, theirs, rel_tol=1e-12, abs_tol=1e-15)
    if isinstance(mine, dict) and isinstance(theirs, dict):
        return mine.keys() == theirs.keys() and all(same_record(mine[k], theirs[k]) for k in mine)
    if isinstance(mine, list) and isinstance(theirs, list):
        return len(mine) == len(theirs) and all(map(same_record, mine, theirs))
    return mine == theirs


def assert_same_files(out: Path, *, ordered: bool = True) -> None:
    names = sorted(p.relative_to(out / "local") for p in (out / "local").rglob("*.parquet"))
    assert names == sorted(p.relative_to(out / "ray") for p in (out / "ray").rglob("*.parquet"))
    for name in names:
        mine, theirs = pl.read_parquet(out / "local" / name), pl.read_parquet(out / "ray" / name)
        if not ordered:
            mine, theirs = mine.sort(mine.columns), theirs.sort(theirs.columns)
        assert mine.equals(theirs), name


def assert_verifies(out: Path, trust: Path) -> None:
    for engine in ("local", "ray"):
        checked = run_cli(["verify", str(out / engine), "--trust", str(trust)])
        assert checked.returncode == 0, checked.stderr
    assert not list(out.rglob(f"{TMP_MARKER}*"))


def test_the_fixture_comes_out_equal_and_both_manifests_verify(
    cluster: None, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    here, there = both(CUSTOMERS_POLICY, FIXTURE, tmp_path, keys[0], workers=2)
    assert_same_files(tmp_path)
    assert_verifies(tmp_path, keys[1])
    engine = there.manifest.tool.engine
    assert (engine["runner"], engine["workers"], engine["ray"]) == ("ray", "2", ray.__version__)
    assert there.manifest.plan == here.manifest.plan
    assert [o.rows for o in there.manifest.outputs] == [o.rows for o in here.manifest.outputs]


def test_eight_files_of_two_million_rows_come_out_equal_file_by_file(
    cluster: None, keys: tuple[Path, Path], many_files: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "large.yaml"
    policy.write_text(LARGE_POLICY.replace("unlisted_columns: error", "unlisted_columns: keep"))
    here, there = both(policy, many_files, tmp_path, keys[0])
    assert there.rows == here.rows == FILES * ROWS_PER_FILE
    assert len(there.manifest.outputs) == FILES
    assert_same_files(tmp_path)
    assert_verifies(tmp_path, keys[1])
    assert there.manifest.tool.engine["workers"] == "2"  # the cluster's CPUs


def test_a_file_cut_into_pieces_comes_out_whole_and_equal(
    cluster: None, keys: tuple[Path, Path], many_files: Path, tmp_path: Path
) -> None:
    """One file of 5 row groups over 2 workers is cut into pieces that are joined in order."""
    source = many_files / "part=1" / "customers-1.parquet"
    assert ray_runner.units([ROWS_PER_FILE], [[50_000] * 5], 2) == [
        {"file": 0, "piece": 0, "pieces": 3, "offset": 0, "rows": 100_000},
        {"file": 0, "piece": 1, "pieces": 3, "offset": 100_000, "rows": 100_000},
        {"file": 0, "piece": 2, "pieces": 3, "offset": 200_000, "rows": 50_000},
    ]
    data = tmp_path / "one"
    data.mkdir()
    (data / source.name).write_bytes(source.read_bytes())
    policy = tmp_path / "large.yaml"
    policy.write_text(LARGE_POLICY.replace("unlisted_columns: error", "unlisted_columns: keep"))
    here, there = both(policy, data, tmp_path / "out", keys[0], workers=2)
    assert there.rows == here.rows == ROWS_PER_FILE
    assert_same_files(tmp_path / "out")
    assert_verifies(tmp_path / "out", keys[1])


def test_a_column_named_path_runs(cluster: None, keys: tuple[Path, Path], tmp_path: Path) -> None:
    """Rows are read by the actors, not by Ray Data's reader, which once claimed that name."""
    data = tmp_path / "paths"
    data.mkdir()
    pl.DataFrame({"path": ["/etc", "/home"], "n": [1, 2]}).write_parquet(data / "p.parquet")
    policy = tmp_path / "keep.yaml"
    policy.write_text("name: k\nunlisted_columns: keep\ncolumns:\n  path: {action: hash_token}\n")
    both(policy, data, tmp_path / "out", keys[0], workers=1)
    assert_same_files(tmp_path / "out")


def test_the_k_anonymous_recoding_is_the_local_one(
    cluster: None, keys: tuple[Path, Path], tmp_path: Path
) -> None:
    adult = pl.read_csv(ROOT / "fixtures" / "adult" / "adult.csv", separator=";")
    data = tmp_path / "adult"
    data.mkdir()
    for n, chunk in enumerate(adult.iter_slices(4_000)):  # 8 files: k holds over all of them
        chunk.write_parquet(data / f"adult-{n}.parquet")
    policy = tmp_path / "adult-k5.yaml"
    policy.write_text((ROOT / "rules" / "adult-k5.yaml").read_text())
    (tmp_path / "hierarchies").symlink_to(ROOT / "rules" / "hierarchies")
    here, there = both(policy, data, tmp_path / "out", keys[0])
    mine, theirs = here.manifest.privacy, there.manifest.privacy
    assert mine is not None and theirs is not None
    assert theirs["levels"] == mine["levels"]
    assert theirs["records_suppressed"] == mine["records_suppressed"] > 0
    assert theirs["classes"] == mine["classes"]
    # Equal but for the last bits of sums taken over the histogram in another order.
    assert same_record(theirs, mine)
    assert_same_files(tmp_path / "out")
    assert_verifies(tmp_path / "out", keys[1])


def test_encrypted_cells_open_and_are_counted_once(
    cluster: None, keys: tuple[Path, Path], many_files: Path, tmp_path: Path
) -> None:
    policy = tmp_path / "vault.yaml"
    policy.write_text(
        "name: vault\nunlisted_columns: keep\ncolumns:\n"
        "  email: {action: encrypt}\n  customer_id: {action: hash_token}\n"
    )
    source = many_files / "part=0" / "customers-0.parquet"
    keyset = keys[0]
    result = ray_runner.run(
        load_policy(policy), str(policy), str(source), tmp_path / "out", optional_keyset(keyset)
    )
    entries = [e for e in result.manifest.encryption if e["column"] == "email"]
    assert sum(int(e["encrypted"]) for e in entries) == ROWS_PER_FILE
    assert len({e["salt"] for e in entries}) == len(entries)  # one salt per worker and file
    opened = run_cli(
        ["decrypt", "-p", str(policy), "-k", str(keyset), "--columns", "email",
         str(tmp_path / "out" / source.name), str(tmp_path / "plain.parquet")]
    )  # fmt: skip
    assert opened.returncode == 0, opened.stderr
    plain = pl.read_parquet(tmp_path / "plain.parquet")
    assert plain["email"].equals(pl.read_parquet(source)["email"])


def test_a_worker_error_is_one_line_without_ray_colours(cluster: None) -> None:
    @ray.remote
    def fails() -> None:
        raise ValueError("first line\nthe line that says what went wrong")

    with pytest.raises(Exception) as caught:
        ray.get(fails.remote())
    error = ray_runner._error(caught.value)
    assert str(error) == (
        "a Ray worker failed (the line that says what went wrong); nothing was written. "
        "Run again, or with --engine local"
    )
