"""Field encryption: round trips, tamper and move detection, nonce counting, opaque errors."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymizer_ml.crypto.envelope import Envelope
from anonymizer_ml.crypto.field import FieldDecryptor, FieldEncryptor
from anonymizer_ml.crypto.keyset import generate_keyset
from anonymizer_ml.errors import DecryptionError, EncryptionLimitError

KEYS = generate_keyset(["encrypt"])
KEY = KEYS.for_purpose("encrypt")
values = st.one_of(st.text(max_size=60), st.binary(max_size=60))


def pair(
    column: str = "c", dataset: str = "d", deterministic: bool = False
) -> tuple[FieldEncryptor, FieldDecryptor]:
    return (
        FieldEncryptor(KEY, dataset=dataset, column=column, deterministic=deterministic),
        FieldDecryptor(KEYS, dataset=dataset, column=column),
    )


@settings(max_examples=200, deadline=None)
@given(
    value=values, deterministic=st.booleans(), row_key=st.one_of(st.none(), st.binary(max_size=8))
)
def test_round_trip_keeps_value_and_type(
    value: str | bytes, deterministic: bool, row_key: bytes | None
) -> None:
    encryptor, decryptor = pair(deterministic=deterministic)
    assert decryptor.decrypt(encryptor.encrypt(value, row_key), row_key) == value


@settings(max_examples=100, deadline=None)
@given(value=values, data=st.data())
def test_flipping_any_byte_fails(value: str | bytes, data: st.DataObject) -> None:
    encryptor, decryptor = pair()
    cell = bytearray(encryptor.encrypt(value))
    position = data.draw(st.integers(0, len(cell) - 1))
    cell[position] ^= data.draw(st.integers(1, 255))
    with pytest.raises(DecryptionError) as info:
        decryptor.decrypt(bytes(cell))
    assert str(info.value) == "decryption failed"


def test_cell_moved_to_another_column_dataset_or_row_fails() -> None:
    encryptor, _ = pair()
    cell = encryptor.encrypt("secret", b"row-1")
    for column, dataset, row in (
        ("other", "d", b"row-1"),
        ("c", "other", b"row-1"),
        ("c", "d", b"row-2"),
    ):
        with pytest.raises(DecryptionError):
            FieldDecryptor(KEYS, dataset=dataset, column=column).decrypt(cell, row)
    assert FieldDecryptor(KEYS, dataset="d", column="c").decrypt(cell, b"row-1") == "secret"


def test_wrong_key_and_truncated_cells_fail_the_same_way() -> None:
    encryptor, _ = pair()
    cell = encryptor.encrypt("secret")
    other = FieldDecryptor(generate_keyset(["encrypt"]), dataset="d", column="c")
    failures = []
    for attempt in (
        lambda: other.decrypt(cell),
        lambda: pair()[1].decrypt(cell[:10]),
        lambda: pair()[1].decrypt(b""),
    ):
        with pytest.raises(DecryptionError) as info:
            attempt()
        failures.append(str(info.value))
    assert set(failures) == {"decryption failed"}


def test_random_mode_uses_fresh_salts_and_counted_nonces() -> None:
    first, second = pair()[0], pair()[0]
    assert first.salt != second.salt
    cells = [Envelope.parse(first.encrypt("same")) for _ in range(5)]
    assert [int.from_bytes(c.nonce, "big") for c in cells] == [1, 2, 3, 4, 5]
    assert len({c.sealed for c in cells}) == 5
    assert first.encrypted == 5


def test_deterministic_mode_is_equal_within_a_column_only() -> None:
    a, _ = pair(deterministic=True)
    b, _ = pair(deterministic=True)
    other_column, _ = pair(column="x", deterministic=True)
    assert a.encrypt("join-me") == b.encrypt("join-me")
    assert a.encrypt("join-me") != a.encrypt("join-you")
    assert Envelope.parse(a.encrypt("v")).sealed != Envelope.parse(other_column.encrypt("v")).sealed


def test_ceiling_refuses_further_encryptions() -> None:
    encryptor = FieldEncryptor(KEY, dataset="d", column="c", ceiling=3)
    for _ in range(3):
        encryptor.encrypt("x")
    with pytest.raises(EncryptionLimitError, match="split the file"):
        encryptor.encrypt("x")


def test_reprs_hold_no_key() -> None:
    encryptor, decryptor = pair()
    for text in (repr(encryptor), repr(decryptor)):
        assert KEY.material.hex() not in text
        assert repr(KEY.material) not in text


def test_batches_and_single_values_share_one_nonce_sequence() -> None:
    encryptor, decryptor = pair()
    single = encryptor.encrypt("first")
    batch = encryptor.encrypt_batch(["a", None, "b", ""])
    mixed = encryptor.encrypt_batch(["text", b"bytes"])  # falls back to one by one
    cells = [single, *(c for c in (*batch, *mixed) if c is not None)]
    nonces = [int.from_bytes(Envelope.parse(c).nonce, "big") for c in cells]
    assert nonces == [1, 2, 3, 4, 5, 6]
    assert batch[1] is None
    assert [decryptor.decrypt(c) for c in cells] == ["first", "a", "b", "", "text", b"bytes"]
    assert encryptor.encrypted == 6


def test_batch_decryption_agrees_with_single_and_checks_every_cell() -> None:
    gcm, decryptor = pair()
    siv, _ = pair(deterministic=True)
    cells = [gcm.encrypt("a"), None, siv.encrypt("b"), gcm.encrypt("")]
    assert decryptor.decrypt_batch(cells, text=True) == ["a", None, "b", ""]
    tampered = bytearray(cells[3])  # type: ignore[arg-type]
    tampered[-3] ^= 0x10
    with pytest.raises(DecryptionError):
        decryptor.decrypt_batch([cells[0], bytes(tampered)], text=True)
    with pytest.raises(DecryptionError):
        decryptor.decrypt_batch([gcm.encrypt(b"raw")], text=True)  # bytes where text expected
    with pytest.raises(DecryptionError):
        pair(column="other")[1].decrypt_batch([cells[0]], text=True)
    assert decryptor.decrypt_batch([gcm.encrypt(b"raw")], text=False) == [b"raw"]
