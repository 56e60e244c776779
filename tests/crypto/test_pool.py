"""The crypto pool: pooled and single-process sealing write the same cells, a dead worker is one
clear error (and the next batch gets a fresh one), and a user's script needs no main guard."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pytest

from anonymizer_ml.crypto import pool
from anonymizer_ml.crypto.field import FieldDecryptor, FieldEncryptor
from anonymizer_ml.crypto.keyset import generate_keyset
from anonymizer_ml.errors import DecryptionError, InputError

KEYS = generate_keyset(["encrypt"])
KEY = KEYS.for_purpose("encrypt")
ROWS = 3 * pool.MIN_POOLED_VALUES + 17  # pooled, in slices of unequal null counts
SALT = bytes(range(16))


def texts() -> pa.Array:
    values = [None if i % 7 == 3 else f"name {i} · ü{i % 13}" for i in range(ROWS)]
    return pa.array(values, pa.large_string())


@pytest.fixture
def workers(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv(pool.WORKERS_VARIABLE, "2")
    yield
    pool.shutdown()


def sealed(values: pa.Array, deterministic: bool = False) -> pa.Array:
    encryptor = FieldEncryptor(KEY, dataset="d", column="c", salt=SALT, deterministic=deterministic)
    encryptor.encrypt_array(values.slice(0, 5))  # the pooled batch starts at counter 6
    return encryptor.encrypt_array(values)


@pytest.mark.parametrize("deterministic", [False, True])
def test_pooled_cells_equal_single_process_cells(
    workers: None, monkeypatch: pytest.MonkeyPatch, deterministic: bool
) -> None:
    pooled = sealed(texts(), deterministic)
    assert pool._POOLS and pool._POOLS[0]._workers  # it did go through the workers
    monkeypatch.setenv(pool.WORKERS_VARIABLE, "1")
    single = sealed(texts(), deterministic)
    assert pooled.equals(single)
    assert pooled.null_count == texts().null_count
    one_by_one = FieldEncryptor(
        KEY, dataset="d", column="c", salt=SALT, deterministic=deterministic
    )
    for value in texts().slice(0, 5).to_pylist():
        if value is not None:
            one_by_one.encrypt(value)
    assert [None if v is None else one_by_one.encrypt(v) for v in texts().to_pylist()] == (
        single.to_pylist()
    )


def test_pooled_cells_open_pooled_and_one_by_one(workers: None) -> None:
    cells = sealed(texts())
    decryptor = FieldDecryptor(KEYS, dataset="d", column="c")
    assert decryptor.decrypt_array(cells, text=True).to_pylist() == texts().to_pylist()
    assert [None if c is None else decryptor.decrypt(c) for c in cells.to_pylist()] == (
        texts().to_pylist()
    )


def test_a_tampered_cell_fails_the_pooled_batch_opaquely(workers: None) -> None:
    cells = sealed(texts()).to_pylist()
    cells[ROWS - 2] = cells[ROWS - 2][:-1] + bytes([cells[ROWS - 2][-1] ^ 1])
    decryptor = FieldDecryptor(KEYS, dataset="d", column="c")
    with pytest.raises(DecryptionError) as caught:
        decryptor.decrypt_array(pa.array(cells, pa.large_binary()), text=True)
    assert str(caught.value) == "decryption failed"
    other_column = FieldDecryptor(KEYS, dataset="d", column="other")
    with pytest.raises(DecryptionError):
        other_column.decrypt_array(sealed(texts()), text=True)
    with pytest.raises(DecryptionError):  # text cells asked for as bytes
        decryptor.decrypt_array(sealed(texts()), text=False)


def test_a_killed_worker_is_one_error_and_the_next_batch_gets_a_fresh_one(
    workers: None,
) -> None:
    sealed(texts())
    (running,) = pool._POOLS
    for worker in running._workers:
        os.kill(worker._process.pid, signal.SIGKILL)
        worker._process.wait()
    with pytest.raises(pool.WorkerError, match=pool.WORKERS_VARIABLE):
        sealed(texts())
    assert sealed(texts()).equals(sealed(texts()))


def test_a_bad_worker_count_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(pool.WORKERS_VARIABLE, "two")
    with pytest.raises(InputError, match="whole number"):
        sealed(texts())


def test_a_script_without_a_main_guard_uses_the_pool(tmp_path: Path) -> None:
    script = tmp_path / "etl.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import pyarrow as pa
            from anonymizer_ml.crypto import pool
            from anonymizer_ml.crypto.field import FieldEncryptor
            from anonymizer_ml.crypto.keyset import generate_keyset
            key = generate_keyset(["encrypt"]).for_purpose("encrypt")
            values = pa.array([str(i) for i in range({ROWS})], pa.large_string())
            cells = FieldEncryptor(key, dataset="d", column="c").encrypt_array(values)
            print(len(cells), len(pool._POOLS[0]._workers))
            """
        )
    )
    env = {**os.environ, pool.WORKERS_VARIABLE: "2"}
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, env=env, check=True
    )
    assert done.stdout.split() == [str(ROWS), "2"]
