"""Crypto-shredding: forgetting a subject makes exactly that subject's cells unrecoverable."""

from __future__ import annotations

import json
import re
import stat
import subprocess
from pathlib import Path

import polars as pl
import pytest

from anonymizer_ml import decrypt_frame, load_keyset, parse_policy
from anonymizer_ml.crypto.subjects import SubjectKeyStore
from anonymizer_ml.errors import DecryptionError
from tests.conftest import FIXTURE, run_cli, run_policy

POLICY = """
name: erasable
columns:
  customer_id: {action: hash_token}
  email: {action: encrypt, subject: customer_id}
  phone: {action: encrypt, subject: customer_id, output: base64}
"""
FORGOTTEN = 100_003


@pytest.fixture
def shredded(tmp_path: Path, keyset_file: Path) -> tuple[pl.DataFrame, Path, Path]:
    policy = tmp_path / "erasable.yaml"
    policy.write_text(POLICY)
    store = tmp_path / "subjects.json"
    result = run_policy(
        keyset_file, FIXTURE, tmp_path / "out", "--subject-keys", str(store), policy=policy
    )
    assert result.returncode == 0, result.stderr
    return pl.read_parquet(tmp_path / "out" / FIXTURE.name), policy, store


def test_store_is_private_and_holds_no_identifier(
    shredded: tuple[pl.DataFrame, Path, Path],
) -> None:
    _, _, store = shredded
    assert stat.S_IMODE(store.stat().st_mode) == 0o600
    doc = json.loads(store.read_text())
    entries = doc["entries"]
    assert len(entries) == 5000  # one key per customer
    # Filed under keyed tokens: no customer id appears as a name (random hex may contain digits).
    assert all(re.fullmatch(r"[0-9a-f]{32}", name) for name in entries)
    assert not {str(100_000 + i) for i in range(5000)} & set(entries)
    assert f'"{FORGOTTEN}"' not in store.read_text()


def test_forget_shreds_one_subject_only(
    shredded: tuple[pl.DataFrame, Path, Path], keyset_file: Path
) -> None:
    data, policy_path, store_path = shredded
    source = pl.read_parquet(FIXTURE)
    policy, keyset = parse_policy(policy_path.read_text()), load_keyset(keyset_file)
    before = decrypt_frame(
        data, policy, keyset, ["email", "phone"], subjects=SubjectKeyStore(store_path, keyset)
    )
    assert before["email"].to_list() == source["email"].to_list()

    result = run_cli(
        [
            "keys",
            "forget",
            str(FORGOTTEN),
            "-k",
            str(keyset_file),
            "--subject-keys",
            str(store_path),
        ]
    )
    assert result.returncode == 0, result.stderr
    store = SubjectKeyStore(store_path, keyset)
    gone = source["customer_id"] == FORGOTTEN
    others = data.filter(~gone)
    after = decrypt_frame(others, policy, keyset, ["email", "phone"], subjects=store)
    assert after["email"].to_list() == source.filter(~gone)["email"].to_list()
    # The erased subject's cells open to null; without the tombstone they would be refused.
    erased = decrypt_frame(data.filter(gone), policy, keyset, ["email", "phone"], subjects=store)
    assert erased["email"].to_list() == [None] and erased["phone"].to_list() == [None]
    with pytest.raises(DecryptionError):
        decrypt_frame(data.filter(gone), policy, keyset, ["email"])  # no store: unknown key

    again = run_cli(
        [
            "keys",
            "forget",
            str(FORGOTTEN),
            "-k",
            str(keyset_file),
            "--subject-keys",
            str(store_path),
        ]
    )
    assert again.returncode == 1 and "that subject was already erased (20" in again.stderr


def test_per_subject_policy_needs_a_store(tmp_path: Path, keyset_file: Path) -> None:
    policy = tmp_path / "erasable.yaml"
    policy.write_text(POLICY)
    result = run_policy(keyset_file, FIXTURE, tmp_path / "out", policy=policy)
    assert result.returncode == 1
    assert "pass --subject-keys PATH" in result.stderr
    assert not (tmp_path / "out" / FIXTURE.name).exists()


def test_store_bound_to_its_keyset(
    shredded: tuple[pl.DataFrame, Path, Path], tmp_path: Path
) -> None:
    _, _, store = shredded
    other = tmp_path / "other.json"
    assert run_cli(["keys", "init", str(other)]).returncode == 0
    result = run_cli(["keys", "forget", "1", "-k", str(other), "--subject-keys", str(store)])
    assert result.returncode == 1 and "use the keyset the store was made with" in result.stderr


def _cli(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return run_cli([str(a) for a in args])


def test_erasure_end_to_end_find_forget_decrypt_and_verify(
    shredded: tuple[pl.DataFrame, Path, Path], keyset_file: Path, tmp_path: Path
) -> None:
    _, policy, store = shredded
    out = tmp_path / "out"
    keys = ("-k", keyset_file, "--subject-keys", store)
    found = _cli("subjects", "find", FORGOTTEN, out, "-p", policy, *keys, "--json")
    assert found.returncode == 0, found.stderr
    report = json.loads(found.stdout)
    assert report["cells"] == {f"{FIXTURE.name}:email": 1, f"{FIXTURE.name}:phone": 1}
    assert report["token_rows"] == {f"{FIXTURE.name}:customer_id": 1}  # its hash_token
    assert report["erased_at"] is None and str(FORGOTTEN) not in found.stdout

    forget = _cli("keys", "forget", FORGOTTEN, *keys, "--record", out, "-p", policy)
    assert forget.returncode == 0, forget.stderr
    assert "erasure recorded (2 cell(s) shredded)" in forget.stdout
    assert str(FORGOTTEN) not in (out / "anonymizer-erasures.json").read_text()

    plain = tmp_path / "plain.parquet"
    opened = _cli(
        "decrypt", "-p", policy, *keys, "--columns", "email,phone", out / FIXTURE.name, plain
    )
    assert opened.returncode == 0, opened.stderr
    assert "cells of erased subjects are null (email: 1, phone: 1)" in opened.stdout
    source, result = pl.read_parquet(FIXTURE), pl.read_parquet(plain)
    gone = source["customer_id"] == FORGOTTEN
    assert result.filter(~gone)["email"].to_list() == source.filter(~gone)["email"].to_list()
    assert result.filter(gone)["email"].to_list() == [None]

    trust = tmp_path / "trust.yaml"
    trust.write_text(_cli("keys", "export-public", "-k", keyset_file).stdout)
    verified = _cli("verify", out, "--trust", trust)
    assert verified.returncode == 0, verified.stderr
    assert f"erased: subject {report['subject_key_id']} at 20" in verified.stdout
    assert "(2 cell(s) shredded, signed)" in verified.stdout

    log = out / "anonymizer-erasures.json"
    entries = json.loads(log.read_text())
    entries[0]["payload"] = entries[0]["payload"][:-8] + "AAAAAAA="
    log.write_text(json.dumps(entries))
    refused = _cli("verify", out, "--trust", trust)
    assert refused.returncode == 1 and "erasure record 1 is not signed by a trusted key" in (
        refused.stderr
    )


def test_find_needs_a_per_subject_policy(
    shredded: tuple[pl.DataFrame, Path, Path], keyset_file: Path, tmp_path: Path
) -> None:
    _, _, store = shredded
    plain = tmp_path / "plain.yaml"
    plain.write_text("name: plain\ncolumns:\n  email: {action: encrypt}\n")
    args = ("-p", plain, "-k", keyset_file, "--subject-keys", store)
    result = _cli("subjects", "find", FORGOTTEN, tmp_path / "out", *args)
    assert result.returncode == 1 and "encrypts no column per subject" in result.stderr
