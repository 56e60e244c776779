"""Fuzz campaign: generated policies and tables never reach a user as a traceback.

Policies (valid ones, and valid ones broken by random edits) either parse or raise PolicyError
whose every problem names the file and line. Random Arrow tables — every dtype family, nested,
dictionary-encoded, binary, decimals, time zones, nulls, empty strings, NUL bytes, right-to-left
and combining text, a multi-megabyte cell — go through every transform and ``detect``: each
either works (one output row per input row) or refuses with one AnonymizerError line naming the
column. ``make fuzz`` runs the same properties with many more examples
(``ANONYMIZER_FUZZ_EXAMPLES``).
"""

from __future__ import annotations

import datetime as dt
import decimal
import os
from pathlib import Path
from typing import Any

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from anonymizer_ml import anonymize_frame
from anonymizer_ml.crypto.keyset import generate_keyset
from anonymizer_ml.errors import AnonymizerError, PolicyError
from anonymizer_ml.policy.load import parse_policy
from anonymizer_ml.runners import local

EXAMPLES = int(os.environ.get("ANONYMIZER_FUZZ_EXAMPLES", "0")) or None
KEYS = generate_keyset()
SOURCE = "fuzz.yaml"

RULES: list[dict[str, Any]] = [
    {"action": "drop"},
    {"action": "keep"},
    {"action": "redact"},
    {"action": "redact", "value": "[X]"},
    {"action": "mask", "keep_last": 2},
    {"action": "mask", "keep_first": 1, "char": "#"},
    {"action": "hash_token"},
    {"action": "hash_token", "prefix": "t_", "length": 16},
    {"action": "surrogate", "kind": "name"},
    {"action": "surrogate", "kind": "email"},
    {"action": "generalize", "keep_prefix": 3},
    {"action": "generalize", "date_part": "year"},
    {"action": "generalize", "width": 10},
    {"action": "date_shift", "subject": "id", "max_days": 30},
    {"action": "encrypt"},
    {"action": "encrypt", "deterministic": True},
    {"action": "encrypt", "output": "base64", "row_key": "id"},
    {"action": "detect", "ner": "none"},
    {"action": "detect", "ner": "none", "default": "mask", "numbered": True},
]

TEXTS = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "",
            "mail ana@example.com\x00then more",
            "مرحبا John Smith، رقم 415-555-0132",  # right-to-left around a name and a number
            "Jose\u0301 Garci\u0301a",  # decomposed accents
            "\u202eevil\u202c ssn 123-45-6789",  # bidi override
            "a" * 2_000_000,  # a multi-megabyte cell
        ]
    ),
)


def _column(kind: str, rows: int, draw: st.DrawFn) -> pa.Array:
    """One Arrow column of ``kind`` with nulls sprinkled in."""

    def values(strategy: st.SearchStrategy[Any]) -> list[Any]:
        return draw(st.lists(st.one_of(st.none(), strategy), min_size=rows, max_size=rows))

    if kind == "int":
        return pa.array(values(st.integers(-(2**62), 2**62)), pa.int64())
    if kind == "float":
        return pa.array(values(st.floats(allow_nan=True)), pa.float64())
    if kind == "bool":
        return pa.array(values(st.booleans()), pa.bool_())
    if kind == "string":
        return pa.array(values(TEXTS), pa.string())
    if kind == "dictionary":
        return pa.array(values(st.sampled_from(["a", "b", "ü"])), pa.string()).dictionary_encode()
    if kind == "binary":
        return pa.array(values(st.binary(max_size=20)), pa.binary())
    if kind == "decimal":
        amounts = st.decimals(-(10**6), 10**6, places=2, allow_nan=False, allow_infinity=False)
        return pa.array(values(amounts), pa.decimal128(12, 2))
    if kind == "date":
        return pa.array(values(st.dates(dt.date(1900, 1, 1), dt.date(2100, 1, 1))), pa.date32())
    if kind == "datetime_tz":
        moments = st.datetimes(dt.datetime(1970, 1, 2), dt.datetime(2100, 1, 1))
        return pa.array(values(moments), pa.timestamp("us", tz="Europe/Warsaw"))
    if kind == "list":
        return pa.array(values(st.lists(st.integers(0, 9), max_size=3)), pa.list_(pa.int64()))
    if kind == "struct":
        structs = st.fixed_dictionaries({"x": st.integers(0, 9), "y": st.text(max_size=5)})
        return pa.array(values(structs), pa.struct([("x", pa.int64()), ("y", pa.string())]))
    return pa.nulls(rows, pa.string())


KINDS = [
    "int",
    "float",
    "bool",
    "string",
    "dictionary",
    "binary",
    "decimal",
    "date",
    "datetime_tz",
    "list",
    "struct",
    "null",
]


@st.composite
def tables(draw: st.DrawFn) -> pa.Table:
    """A table with an ``id`` column and one to three columns of random kinds."""
    rows = draw(st.integers(0, 6))
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=3))
    columns = {"id": pa.array([f"c{i}" for i in range(rows)], pa.string())}
    for n, kind in enumerate(kinds):
        columns[f"{kind}_{n}"] = _column(kind, rows, draw)
    return pa.table(columns)


def _refusal_is_one_line(exc: AnonymizerError, column: str) -> None:
    message = str(exc)
    assert "\n" not in message and "Traceback" not in message, message
    assert column in message or "policy" in message or "data" in message, message


@settings(
    max_examples=EXAMPLES or 80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(tables(), st.data())
def test_every_transform_on_random_tables_works_or_refuses_in_one_line(
    table: pa.Table, data: st.DataObject
) -> None:
    frame = pl.from_arrow(table)
    assert isinstance(frame, pl.DataFrame)
    for column in table.column_names[1:]:
        rule = data.draw(st.sampled_from(RULES))
        policy = parse_policy(
            yaml.safe_dump({"name": "fuzz", "unlisted_columns": "keep", "columns": {column: rule}}),
            SOURCE,
        )
        try:
            out = anonymize_frame(frame, policy, keyset=KEYS)
        except AnonymizerError as exc:
            _refusal_is_one_line(exc, column)
            continue
        assert out.height == frame.height


def _valid_policy(draw: st.DrawFn) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(["id", "email", "notes", "age"]), unique=True))
    return {
        "name": "fuzz",
        "unlisted_columns": draw(st.sampled_from(["drop", "keep", "error"])),
        "columns": {name: draw(st.sampled_from(RULES)) for name in names},
    }


@st.composite
def policy_texts(draw: st.DrawFn) -> str:
    """A valid policy's YAML, often broken by a few random edits."""
    text = yaml.safe_dump(_valid_policy(draw), sort_keys=False)
    for _ in range(draw(st.integers(0, 4))):
        at = draw(st.integers(0, max(len(text) - 1, 0)))
        edit = draw(st.sampled_from(["delete", "insert", "duplicate-line", "retype"]))
        if edit == "delete":
            text = text[:at] + text[at + 1 :]
        elif edit == "insert":
            text = text[:at] + draw(st.text(":{}[]-#'\"\t\n x9é\x00", max_size=3)) + text[at:]
        elif edit == "duplicate-line":
            lines = text.splitlines(keepends=True)
            if lines:
                pick = draw(st.integers(0, len(lines) - 1))
                text = "".join([*lines[: pick + 1], lines[pick], *lines[pick + 1 :]])
        else:
            text = text.replace("true", "maybe", 1).replace("30", "-3", 1)
    return text


@settings(max_examples=EXAMPLES or 300, deadline=None)
@given(policy_texts())
def test_generated_policies_parse_or_name_file_and_line(text: str) -> None:
    try:
        parse_policy(text, SOURCE)
    except PolicyError as exc:
        assert exc.problems
        for problem in exc.problems:
            assert problem.startswith(f"{SOURCE}:"), problem
            assert "Traceback" not in problem


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_and_rule_through_the_streaming_runner(kind: str, tmp_path: Path) -> None:
    """The file path (scan, plan, sink, residual scan, manifest) for every (dtype, rule) pair:
    an AnonymizerError is what the CLI prints as one line; anything else would be a traceback."""
    values = {
        "int": pa.array([1, None, 3, 4]),
        "float": pa.array([1.5, None, float("nan"), 0.0]),
        "bool": pa.array([True, None, False, True]),
        "string": pa.array(["a\x00b", None, "", "مرحبا Jose\u0301"]),
        "dictionary": pa.array(["a", "b", None, "a"]).dictionary_encode(),
        "binary": pa.array([b"\x00", None, b"", b"xy"]),
        "decimal": pa.array([decimal.Decimal("1.25"), None, None, None], pa.decimal128(5, 2)),
        "date": pa.array([dt.date(2000, 1, 1), None, None, None]),
        "datetime_tz": pa.array(
            [dt.datetime(2000, 1, 1), None, None, None], pa.timestamp("ms", "UTC")
        ),
        "list": pa.array([[1], None, [], [2, 3]]),
        "struct": pa.array([{"x": 1}, None, {"x": 2}, {"x": 3}]),
        "null": pa.nulls(4, pa.string()),
    }
    data = tmp_path / "t.parquet"
    pq.write_table(pa.table({"id": pa.array(["a", "b", "c", "d"]), "v": values[kind]}), data)
    failures = []
    for number, rule in enumerate(RULES):
        policy = parse_policy(yaml.safe_dump({"name": "f", "columns": {"id": "keep", "v": rule}}))
        out = tmp_path / f"out{number}"
        try:
            result = local.run(policy, SOURCE, str(data), out, KEYS)
        except AnonymizerError as exc:
            if "\n" in str(exc) or (out.exists() and any(out.iterdir())):
                failures.append((rule, f"refusal not clean: {exc}"))
            continue
        except Exception as exc:
            failures.append((rule, f"{exc.__class__.__name__}: {str(exc)[:200]}"))
            continue
        if result.rows != 4 or not (out / "t.parquet").is_file():
            failures.append((rule, "no output"))
    assert failures == []
