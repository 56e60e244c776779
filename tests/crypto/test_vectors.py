"""Known-answer tests through our own primitive wrappers and envelope code path.

Wycheproof (fixtures/vectors/wycheproof, Apache-2.0): every valid case must reproduce, every
invalid case must be rejected. Our golden envelope vectors pin the cell format byte for byte.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from anonymizer_ml.crypto.envelope import Envelope
from anonymizer_ml.crypto.field import FieldDecryptor, FieldEncryptor
from anonymizer_ml.crypto.keyset import Key, Keyset
from anonymizer_ml.crypto.primitives import Gcm, Siv, derive_key
from anonymizer_ml.errors import DecryptionError

VECTORS = Path(__file__).resolve().parents[2] / "fixtures" / "vectors"


def cases(name: str, keep: Any) -> list[dict[str, Any]]:
    data = json.loads((VECTORS / "wycheproof" / name).read_text())
    found = [
        {**test, "_group": group}
        for group in data["testGroups"]
        if keep(group)
        for test in group["tests"]
    ]
    assert found, name
    return found


GCM_CASES = cases(
    "aes_gcm_test.json",
    lambda g: g["keySize"] == 256 and g["ivSize"] == 96 and g["tagSize"] == 128,
)
SIV_CASES = cases("aes_siv_cmac_test.json", lambda g: g["keySize"] == 512)
HKDF_CASES = cases("hkdf_sha256_test.json", lambda g: True)


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [f"tc{c['tcId']}-{c['result']}" for c in items]


@pytest.mark.parametrize("case", GCM_CASES, ids=ids(GCM_CASES))
def test_wycheproof_aes_256_gcm(case: dict[str, Any]) -> None:
    key, nonce, aad = (bytes.fromhex(case[k]) for k in ("key", "iv", "aad"))
    msg, sealed = bytes.fromhex(case["msg"]), bytes.fromhex(case["ct"] + case["tag"])
    cipher = Gcm(key)
    if case["result"] == "invalid":
        with pytest.raises(DecryptionError):
            cipher.open(nonce, sealed, aad)
        return
    assert cipher.seal(nonce, msg, aad) == sealed
    assert cipher.open(nonce, sealed, aad) == msg


@pytest.mark.parametrize("case", SIV_CASES, ids=ids(SIV_CASES))
def test_wycheproof_aes_siv(case: dict[str, Any]) -> None:
    key, aad = bytes.fromhex(case["key"]), bytes.fromhex(case["aad"])
    msg, sealed = bytes.fromhex(case["msg"]), bytes.fromhex(case["ct"])
    cipher = Siv(key)
    if case["result"] == "invalid":
        with pytest.raises(DecryptionError):
            cipher.open(sealed, aad)
        return
    assert cipher.seal(msg, aad) == sealed
    assert cipher.open(sealed, aad) == msg


@pytest.mark.parametrize("case", HKDF_CASES, ids=ids(HKDF_CASES))
def test_wycheproof_hkdf_sha256(case: dict[str, Any]) -> None:
    ikm, salt, info = (bytes.fromhex(case[k]) for k in ("ikm", "salt", "info"))
    if case["result"] == "invalid":
        with pytest.raises(ValueError):
            derive_key(ikm, salt=salt, info=info, length=case["size"])
        return
    assert derive_key(ikm, salt=salt, info=info, length=case["size"]).hex() == case["okm"]


GOLDEN = json.loads((VECTORS / "envelope_v1.json").read_text())
GOLDEN_KEY = Key(GOLDEN["key_id"], "encrypt", "", bytes.fromhex(GOLDEN["key"]))


@pytest.mark.parametrize("vector", GOLDEN["vectors"])
def test_golden_envelopes_decrypt_and_reproduce(vector: dict[str, Any]) -> None:
    plaintext = bytes.fromhex(vector["value"]) if vector.get("bytes") else vector["value"]
    row_key = None if vector["row_key"] is None else vector["row_key"].encode()
    cell = bytes.fromhex(vector["cell"])
    decryptor = FieldDecryptor(
        Keyset(keys=(GOLDEN_KEY,)), dataset=vector["dataset"], column=vector["column"]
    )
    assert decryptor.decrypt(cell, row_key) == plaintext
    encryptor = FieldEncryptor(
        GOLDEN_KEY,
        dataset=vector["dataset"],
        column=vector["column"],
        deterministic=vector["deterministic"],
        salt=bytes.fromhex(GOLDEN["salt"]),
    )
    assert encryptor.encrypt(plaintext, row_key) == cell
    envelope = Envelope.parse(cell)
    assert envelope.key_id == GOLDEN["key_id"]
    assert envelope.to_bytes() == cell
