"""drop, keep, redact and mask: unit cases and property tests against the reference."""

from __future__ import annotations

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymizer_ml.crypto.keyset import Keyset
from anonymizer_ml.policy.compile import compile_plan
from anonymizer_ml.policy.load import parse_policy
from anonymizer_ml.policy.models import MaskRule
from anonymizer_ml.transforms.basic import mask_value
from tests.conftest import apply_rule


def test_drop_and_keep_and_unlisted_drop_by_default() -> None:
    frame = pl.DataFrame({"a": [1, 2], "b": ["x", "y"], "c": [True, False]})
    policy = parse_policy("name: p\ncolumns:\n  a: keep\n  b: drop\n")
    out = compile_plan(policy, frame.schema, None).apply(frame.lazy()).collect()
    assert out.columns == ["a"]
    assert out["a"].to_list() == [1, 2]


def test_unlisted_keep_keeps_input_order() -> None:
    frame = pl.DataFrame({"a": [1], "b": ["x"], "c": [2.0]})
    policy = parse_policy("name: p\nunlisted_columns: keep\ncolumns:\n  b: drop\n")
    plan = compile_plan(policy, frame.schema, None)
    assert plan.output_columns == ["a", "c"]
    assert [s["source"] for s in plan.describe()] == [
        "unlisted_columns",
        "policy",
        "unlisted_columns",
    ]


def test_redact_to_null_keeps_type_and_constant_keeps_nulls() -> None:
    frame = pl.DataFrame({"n": [1, None, 3], "s": ["a", None, "c"]})
    nulls = apply_rule(frame, "n", "redact", None)
    assert nulls.dtype == pl.Int64
    assert nulls.null_count() == 3
    const = apply_rule(frame, "s", "{action: redact, value: '[X]'}", None)
    assert const.to_list() == ["[X]", None, "[X]"]


def test_input_frame_is_not_mutated() -> None:
    frame = pl.DataFrame({"s": ["secret"]})
    apply_rule(frame, "s", "{action: mask}", None)
    assert frame["s"].to_list() == ["secret"]


def test_mask_examples() -> None:
    frame = pl.DataFrame(
        {"v": ["+1 (555) 123-4567", "4111111111111111", "ab", "jane.doe@example.com", None, ""]}
    )
    phone = apply_rule(frame, "v", "{action: mask, keep_last: 4}", None).to_list()
    assert phone[0] == "+* (***) ***-4567"
    assert phone[1] == "************1111"
    assert phone[2] == "**"  # shorter than what would be kept: nothing is revealed
    assert phone[3] == "****.***@*******.com"
    assert phone[4] is None
    assert phone[5] == ""
    card = apply_rule(
        frame,
        "v",
        "{action: mask, keep_first: 4, keep_last: 4, keep_separators: false, char: '#'}",
        None,
    ).to_list()
    assert card[1] == "4111########1111"
    assert card[0] == "+1 (#########4567"


def test_mask_integer_column_uses_its_text() -> None:
    frame = pl.DataFrame({"v": [123456789, None]})
    assert apply_rule(frame, "v", "{action: mask, keep_last: 2}", None).to_list() == [
        "*******89",
        None,
    ]


unicode_texts = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=40
)
# Mostly ASCII (the byte-table path), with some rows that are not (the regex path) and nulls.
texts = st.one_of(st.text(alphabet=st.characters(codec="ascii"), max_size=40), unicode_texts)


@settings(max_examples=300, deadline=None)
@given(
    values=st.lists(st.one_of(texts, st.none()), min_size=1, max_size=20),
    keep_first=st.integers(0, 5),
    keep_last=st.integers(0, 5),
    keep_separators=st.booleans(),
    char=st.sampled_from(["*", "#", "$", "\\", "x", "•"]),
    separators=st.sampled_from([" -.@()/+_:,", "-", "]^[\\", "ab", "·-"]),
)
def test_mask_expression_matches_reference(
    values: list[str],
    keep_first: int,
    keep_last: int,
    keep_separators: bool,
    char: str,
    separators: str,
) -> None:
    rule = MaskRule(
        action="mask",
        char=char,
        keep_first=keep_first,
        keep_last=keep_last,
        keep_separators=keep_separators,
        separators=separators,
    )
    frame = pl.DataFrame({"v": values}, schema={"v": pl.String})
    policy = parse_policy("name: p\n").model_copy(update={"columns": {"v": rule}})
    out = compile_plan(policy, frame.schema, None).apply(frame.lazy()).collect()["v"].to_list()
    expected = [None if v is None else mask_value(v, rule) for v in values]
    assert out == expected


def test_keyset_not_needed_for_unkeyed_actions(keyset: Keyset) -> None:
    frame = pl.DataFrame({"v": ["x"]})
    assert apply_rule(frame, "v", "{action: mask}", None).to_list() == ["*"]
