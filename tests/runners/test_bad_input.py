"""Every bad-input path: one clear error line, non-zero exit, no output, input untouched."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from anonymizer_ml.lineage.manifest import sha256_file
from tests.conftest import CUSTOMERS_POLICY, FIXTURE, run_cli

GOOD_POLICY = CUSTOMERS_POLICY.read_text()


def _missing_file(tmp: Path) -> tuple[str, str]:
    return str(tmp / "in" / "absent.parquet"), "no such file or directory"


def _not_parquet(tmp: Path) -> tuple[str, str]:
    path = tmp / "in" / "notes.parquet"
    path.write_text("id,name\n1,Ann\n")
    return str(path), "not a readable Parquet file"


def _truncated(tmp: Path) -> tuple[str, str]:
    path = tmp / "in" / "customers.parquet"
    data = FIXTURE.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return str(path), "not a readable Parquet file"


def _empty_dir(tmp: Path) -> tuple[str, str]:
    return str(tmp / "in"), "holds no .parquet files"


INPUT_CASES: dict[str, Callable[[Path], tuple[str, str]]] = {
    "missing file": _missing_file,
    "non-Parquet file": _not_parquet,
    "truncated Parquet": _truncated,
    "empty directory": _empty_dir,
}

POLICY_CASES = {
    "policy naming a missing column": (
        GOOD_POLICY.replace("  segment: keep", "  segmnt: keep"),
        "column 'segmnt' named in the policy is not in the data",
    ),
    "unknown action": (
        GOOD_POLICY.replace("action: hash_token", "action: hashtoken"),
        "unknown action 'hashtoken'",
    ),
    "malformed YAML": (
        GOOD_POLICY.replace("\ncolumns:\n", "\ncolumns:\n  x: [\n", 1),
        "malformed YAML",
    ),
    "wrong type for the action": (
        GOOD_POLICY.replace(
            "zip: {action: generalize, keep_prefix: 3}", "zip: {action: generalize, width: 5}"
        ),
        "width needs a numeric column",
    ),
}


def _snapshot(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): sha256_file(p) for p in root.rglob("*") if p.is_file()}


def _assert_clean_failure(result_stderr: str, returncode: int, expected: str, out: Path) -> None:
    assert returncode == 1, result_stderr
    lines = result_stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ") and expected in lines[0], lines[0]
    assert "Traceback" not in result_stderr
    assert not out.exists() or not any(p.is_file() for p in out.rglob("*"))


@pytest.mark.parametrize("case", sorted(INPUT_CASES))
def test_bad_input_file(case: str, tmp_path: Path, keyset_file: Path) -> None:
    (tmp_path / "in").mkdir()
    source, expected = INPUT_CASES[case](tmp_path)
    before = _snapshot(tmp_path / "in")
    out = tmp_path / "out"
    result = run_cli(["run", "-p", str(CUSTOMERS_POLICY), "-k", str(keyset_file), source, str(out)])
    _assert_clean_failure(result.stderr, result.returncode, expected, out)
    assert source in result.stderr or case == "empty directory"
    assert _snapshot(tmp_path / "in") == before


@pytest.mark.parametrize("case", sorted(POLICY_CASES))
def test_bad_policy(case: str, tmp_path: Path, keyset_file: Path) -> None:
    text, expected = POLICY_CASES[case]
    policy = tmp_path / "policy.yaml"
    policy.write_text(text)
    data = tmp_path / "in" / "customers.parquet"
    data.parent.mkdir()
    shutil.copy(FIXTURE, data)
    out = tmp_path / "out"
    result = run_cli(["run", "-p", str(policy), "-k", str(keyset_file), str(data), str(out)])
    _assert_clean_failure(result.stderr, result.returncode, expected, out)
    assert sha256_file(data) == sha256_file(FIXTURE)


def test_missing_keyset(tmp_path: Path) -> None:
    out = tmp_path / "out"
    absent = tmp_path / "absent.json"
    result = run_cli(
        ["run", "-p", str(CUSTOMERS_POLICY), "-k", str(absent), str(FIXTURE), str(out)]
    )
    _assert_clean_failure(result.stderr, result.returncode, "keyset not found", out)
    assert str(absent) in result.stderr


def test_no_keyset_at_all_for_keyed_policy(tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(["run", "-p", str(CUSTOMERS_POLICY), str(FIXTURE), str(out)])
    _assert_clean_failure(result.stderr, result.returncode, "needs a keyset", out)


def test_keyset_from_environment(tmp_path: Path, keyset_file: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(
        ["run", "-q", "-p", str(CUSTOMERS_POLICY), str(FIXTURE), str(out)],
        env={"ANONYMIZER_KEYSET": str(keyset_file)},
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert (out / "customers.parquet").is_file()


def test_missing_policy_file(tmp_path: Path, keyset_file: Path) -> None:
    out = tmp_path / "out"
    result = run_cli(
        ["run", "-p", str(tmp_path / "nope.yaml"), "-k", str(keyset_file), str(FIXTURE), str(out)]
    )
    _assert_clean_failure(result.stderr, result.returncode, "policy file not found", out)


def test_usage_error_exits_2() -> None:
    result = run_cli(["run"])
    assert result.returncode == 2


def test_validate_lists_all_problems_and_exits_1(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text("name: p\ncolumns:\n  a: {action: nope}\n  b: {action: mask, x: 1}\n")
    result = run_cli(["validate", str(policy)])
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"error: {policy}:3:") and lines[1].startswith(f"error: {policy}:4:")


def test_validate_against_data(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(
        "name: p\nunlisted_columns: error\ncolumns:\n  nme: drop\n  salary: {action: mask}\n"
        "  email: {action: generalize, width: 3}\n"
    )
    result = run_cli(["validate", str(policy), "--against", str(FIXTURE)])
    assert result.returncode == 1
    text = result.stderr
    assert "'nme' named in the policy is not in the data" in text
    assert "column 'full_name' is not in the policy and unlisted_columns is 'error'" in text
    assert "width needs a numeric column" in text
    good = run_cli(["validate", str(CUSTOMERS_POLICY), "--against", str(FIXTURE)])
    assert good.returncode == 0 and "valid" in good.stdout


def test_plan_explains_each_column(keyset_file: Path) -> None:
    result = run_cli(["plan", str(CUSTOMERS_POLICY), str(FIXTURE), "-k", str(keyset_file)])
    assert result.returncode == 0, result.stderr
    for column in ("customer_id", "hash_token", "city", "drop (unlisted)"):
        assert column in result.stdout
