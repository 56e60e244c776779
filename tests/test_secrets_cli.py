"""Secrets scan: every CLI path, failing or not, and every file it writes holds no key bytes."""

from __future__ import annotations

import base64
from pathlib import Path

from anonymizer_ml.crypto.keyset import load_keyset
from tests.conftest import FIXTURE, run_cli

POLICY = """
name: scan
columns:
  customer_id: {action: hash_token}
  full_name: {action: surrogate, kind: name}
  email: {action: encrypt}
  phone: {action: encrypt, subject: customer_id}
  signup_date: {action: date_shift, subject: customer_id, max_days: 9}
"""


def forms(material: bytes) -> list[bytes]:
    return [
        material,
        material.hex().encode(),
        base64.b64encode(material),
        base64.urlsafe_b64encode(material),
        repr(material).encode(),
    ]


def test_no_key_bytes_anywhere(tmp_path: Path) -> None:
    keyset, other = tmp_path / "keys.json", tmp_path / "other.json"
    policy = tmp_path / "scan.yaml"
    policy.write_text(POLICY)
    bad_policy = tmp_path / "bad.yaml"
    bad_policy.write_text(POLICY.replace("full_name", "ful_name"))
    store = tmp_path / "subjects.json"
    out = tmp_path / "out"
    data = out / FIXTURE.name
    base = ["-k", str(keyset)]
    commands = [
        ["keys", "init", str(keyset)],
        ["keys", "init", str(other)],
        ["keys", "init", str(keyset)],  # refuses to overwrite
        ["run", "-p", str(policy), *base, "--subject-keys", str(store), str(FIXTURE), str(out)],
        ["run", "-p", str(policy), *base, str(FIXTURE), str(tmp_path / "no-store")],
        ["run", "-p", str(bad_policy), *base, str(FIXTURE), str(tmp_path / "bad")],
        ["run", "-p", str(policy), *base, str(tmp_path / "missing.parquet"), str(tmp_path / "x")],
        ["plan", str(policy), str(FIXTURE), *base],
        [
            "decrypt",
            "-p",
            str(policy),
            *base,
            "--subject-keys",
            str(store),
            "--columns",
            "email,phone",
            str(data),
            str(tmp_path / "plain.parquet"),
        ],
        [
            "decrypt",
            "-p",
            str(policy),
            "-k",
            str(other),
            "--columns",
            "email",
            str(data),
            str(tmp_path / "wrong.parquet"),
        ],
        [
            "decrypt",
            "-p",
            str(policy),
            *base,
            "--columns",
            "customer_id",
            str(data),
            str(tmp_path / "x.parquet"),
        ],
        ["keys", "rotate", str(keyset), "--purpose", "nope"],
        ["keys", "forget", "100001", *base, "--subject-keys", str(store)],
        ["keys", "forget", "100001", *base, "--subject-keys", str(store)],
        ["keys", "forget", "1", "-k", str(other), "--subject-keys", str(store)],
    ]
    transcript = b""
    for args in commands:
        result = run_cli(args)
        transcript += (result.stdout + result.stderr).encode("utf-8", "surrogateescape")
    assert b"Traceback" not in transcript
    written = b"".join(
        p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p not in (keyset, other)
    )
    secrets = [k.material for path in (keyset, other) for k in load_keyset(path).keys]
    for material in secrets:
        for form in forms(material):
            assert form not in transcript
            assert form not in written
    assert (tmp_path / "plain.parquet").is_file()  # the success paths really ran
