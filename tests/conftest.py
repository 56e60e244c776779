"""Shared fixtures: fresh keysets (tests make their own keys), paths, a CLI runner."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import polars as pl
import pytest

from anonymizer_ml.crypto.keyset import DEFAULT_PURPOSES, Key, Keyset, generate_keyset, write_keyset
from anonymizer_ml.policy.compile import compile_plan
from anonymizer_ml.policy.load import parse_policy
from fixtures.make_large import large_frame

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "fixtures" / "customers.parquet"
CUSTOMERS_POLICY = ROOT / "rules" / "customers.yaml"


@pytest.fixture
def keyset() -> Keyset:
    return generate_keyset()


@pytest.fixture
def keyset_file(tmp_path: Path) -> Path:
    path = tmp_path / "keys" / "keyset.json"
    write_keyset(generate_keyset(), path)
    return path


def seeded_keyset_file(path: Path, seed: str) -> Path:
    """A keyset whose keys derive from ``seed``: reproducible, so key-change tests cannot flake."""
    keys = tuple(
        Key(
            key_id=f"{purpose}-{seed}",
            purpose=purpose,
            created="2026-01-01T00:00:00+00:00",
            material=hashlib.sha256(f"{seed}/{purpose}".encode()).digest(),
        )
        for purpose in DEFAULT_PURPOSES
    )
    write_keyset(Keyset(keys=keys), path)
    return path


def apply_rule(
    frame: pl.DataFrame, column: str, rule_yaml: str, keyset: Keyset | None
) -> pl.Series:
    """Apply a one-column policy (other columns kept) and return the transformed column."""
    policy = parse_policy(f"name: t\nunlisted_columns: keep\ncolumns:\n  {column}: {rule_yaml}\n")
    plan = compile_plan(policy, frame.schema, keyset)
    return plan.apply(frame.lazy()).collect()[column]


def run_cli(
    args: Sequence[str], env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run the real console entry point in a subprocess (no tty, like CI)."""
    full_env = {k: v for k, v in os.environ.items() if k != "ANONYMIZER_KEYSET"}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "anonymizer_ml", *args],
        capture_output=True,
        text=True,
        env=full_env,
        check=False,
        timeout=300,
    )


def run_policy(
    keyset_file: Path,
    source: Path | str,
    out: Path | str,
    *extra: str,
    policy: Path = CUSTOMERS_POLICY,
) -> subprocess.CompletedProcess[str]:
    """``anonymizer run`` with a policy (the customers one by default) and a keyset file."""
    return run_cli(
        ["run", "-p", str(policy), "-k", str(keyset_file), *extra, str(source), str(out)]
    )


def keyset_and_trust(base: Path) -> tuple[Path, Path]:
    """A fresh keyset file and the trust file of its public sign key, under ``base``."""
    keyset, trust = base / "keyset.json", base / "trust.yaml"
    assert run_cli(["keys", "init", str(keyset)]).returncode == 0
    exported = run_cli(["keys", "export-public", "-k", str(keyset)])
    assert exported.returncode == 0, exported.stderr
    trust.write_text(exported.stdout)
    return keyset, trust


def customer_files(root: Path, files: int, rows: int, *, hive: bool = False) -> Path:
    """``files`` generated customer-like Parquet files of ``rows`` rows each under ``root``
    (in ``part=0`` / ``part=1`` folders with ``hive``)."""
    for n in range(files):
        folder = root / f"part={n % 2}" if hive else root
        folder.mkdir(parents=True, exist_ok=True)
        frame = large_frame(rows, offset=n * rows)
        frame.sink_parquet(folder / f"customers-{n}.parquet", row_group_size=50_000)
    return root
