"""The batch kernel: batches of a file through its Plan give the rows the whole file gives, and
the ledger deltas it reports add up to the counts of one pass over the whole file."""

from __future__ import annotations

import polars as pl
import pyarrow as pa

from anonymizer_ml.crypto.keyset import generate_keyset
from anonymizer_ml.policy.compile import compile_plan
from anonymizer_ml.policy.load import parse_policy
from anonymizer_ml.policy.run_plan import InputSchema, compile_run
from anonymizer_ml.runners.kernel import BatchKernel, add_counts

POLICY = parse_policy(
    "name: k\nunlisted_columns: keep\ncolumns:\n"
    "  note: {action: detect, ner: none}\n"
    "  email: {action: encrypt}\n"
    "  id: {action: hash_token}\n"
)
NOTES = [
    "call 212-555-0147 or write to ann@example.com",
    None,
    "nothing here",
    "card 4111 1111 1111 1111, IBAN DE89 3704 0044 0532 0130 00",
]


def frame() -> pl.DataFrame:
    rows = 40
    return pl.DataFrame(
        {
            "id": list(range(rows)),
            "note": [NOTES[i % len(NOTES)] for i in range(rows)],
            "email": [None if i % 3 == 0 else f"user{i}@example.com" for i in range(rows)],
        }
    )


def test_batches_give_the_whole_files_rows_and_counts() -> None:
    keys = generate_keyset()
    data = frame()
    run = compile_run(POLICY, "k.yaml", [InputSchema("data.parquet", data.schema)], keys)
    kernel = BatchKernel(run.for_workers())
    outputs, encrypted, found = [], 0, None
    for batch in data.to_arrow().to_batches(max_chunksize=7):
        outputs.append(kernel.apply(0, pa.Table.from_batches([batch])))
        ledgers = kernel.ledgers(0)
        encrypted += sum(int(e["encrypted"]) for e in ledgers["encryption"])
        for entry in ledgers["detections"]:
            found = add_counts(found, entry)
    whole = compile_plan(POLICY, data.schema, keys, data_name="data.parquet")
    expected = whole.apply(data.lazy()).collect()
    got = pl.concat(outputs)
    assert got.drop("email").equals(expected.drop("email"))  # cells carry random salts
    assert got["email"].null_count() == expected["email"].null_count()
    assert encrypted == data["email"].drop_nulls().len()
    (entry,) = whole.detections()
    assert found == entry
    assert found["texts"] == 30 and found["entities"]  # the counts are not trivially empty
    assert kernel.ledgers(0)["encryption"][0]["encrypted"] == 0  # nothing new since the last
