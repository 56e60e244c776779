"""detect: findings inside free text rewritten per entity type."""

from __future__ import annotations

import re

import polars as pl
import pytest

from anonymizer_ml.crypto.keyset import Keyset, generate_keyset
from anonymizer_ml.errors import SchemaMismatchError
from anonymizer_ml.policy.compile import compile_plan
from anonymizer_ml.policy.load import parse_policy
from tests.conftest import apply_rule

TEXTS = pl.DataFrame(
    {
        "t": [
            "Mail ann@example.com or bob@example.org, again ann@example.com; call (415) 555-2671",
            "card 4111 1111 1111 1111; ssn 078-05-1120",
            None,
            "nothing to see",
        ]
    }
)


def test_replace_and_numbered_placeholders() -> None:
    plain = apply_rule(TEXTS, "t", "{action: detect}", None).to_list()
    assert plain[0] == (
        "Mail <EMAIL_ADDRESS> or <EMAIL_ADDRESS>, again <EMAIL_ADDRESS>; call <PHONE_NUMBER>"
    )
    assert plain[1] == "card <CREDIT_CARD>; ssn <US_SSN>"
    assert plain[2] is None and plain[3] == "nothing to see"
    numbered = apply_rule(TEXTS, "t", "{action: detect, numbered: true}", None).to_list()
    assert numbered[0] == (
        "Mail <EMAIL_ADDRESS_1> or <EMAIL_ADDRESS_2>, again <EMAIL_ADDRESS_1>; "
        "call <PHONE_NUMBER_1>"
    )


def test_operators_per_entity(keyset: Keyset) -> None:
    rule = (
        "{action: detect, operators: {EMAIL_ADDRESS: surrogate, PHONE_NUMBER: mask, "
        "US_SSN: hash_token, CREDIT_CARD: keep}}"
    )
    out = apply_rule(TEXTS, "t", rule, keyset).to_list()
    emails = re.findall(r"[a-z]+\.[a-z]+\d\d@example\.(?:com|net|org)", out[0])
    assert len(emails) == 3 and emails[0] == emails[2] != emails[1]  # consistent fakes
    assert "ann@example.com" not in out[0] and "(***) ***-****" in out[0]
    assert "4111 1111 1111 1111" in out[1]
    assert re.search(r"ssn <US_SSN:[0-9a-f]{16}>$", out[1])
    again = apply_rule(TEXTS, "t", rule, keyset).to_list()
    other_key = apply_rule(TEXTS, "t", rule, generate_keyset()).to_list()
    assert again == out and other_key[1] != out[1]


def test_surrogate_without_a_kind_falls_back_to_a_token(keyset: Keyset) -> None:
    out = apply_rule(TEXTS, "t", "{action: detect, default: surrogate}", keyset).to_list()
    assert re.search(r"card <CREDIT_CARD:[0-9a-f]{16}>", out[1])
    assert "078-05-1120" not in out[1] and re.search(r"ssn 9\d\d-\d\d-\d{4}$", out[1])


def test_non_text_column_is_refused() -> None:
    with pytest.raises(SchemaMismatchError, match="detect needs a text column"):
        apply_rule(pl.DataFrame({"n": [1]}), "n", "{action: detect}", None)


def test_address_components_take_their_own_operators(keyset: Keyset) -> None:
    frame = pl.DataFrame({"t": ["Ship to 590 Edington Drive, Toronto, Canada 27539 today."]})
    rule = (
        "{action: detect, ner: none, operators: {LOCATION: keep, STREET_ADDRESS: surrogate, "
        "ZIP_CODE: replace}}"
    )
    out = apply_rule(frame, "t", rule, keyset).to_list()[0]
    assert "Edington" not in out and "27539" not in out
    assert out.startswith("Ship to ") and out.endswith(", Toronto, Canada <ZIP_CODE> today.")
    assert re.match(r"Ship to \d+ \w", out)  # a fake street, not a token
    assert apply_rule(frame, "t", rule, keyset).to_list()[0] == out  # consistent


def test_a_written_out_address_is_replaced_whole_when_its_parts_share_an_operator(
    keyset: Keyset,
) -> None:
    frame = pl.DataFrame({"t": ["Ship to 590 Edington Drive, Toronto, ON, Canada today."]})
    out = apply_rule(frame, "t", "{action: detect, ner: none}", keyset).to_list()[0]
    assert out == "Ship to <STREET_ADDRESS> today."  # the province code goes with it
    rule = "{action: detect, ner: none, default: surrogate}"
    fake = apply_rule(frame, "t", rule, keyset).to_list()[0]
    # A whole fake address ("street, city, ST 12345") in place of the whole address.
    assert re.fullmatch(r"Ship to \d+ [^,]+, [^,]+, [A-Z]{2} \d{5} today\.", fake), fake


def test_the_plan_counts_findings_per_entity_type_over_all_batches() -> None:
    policy = parse_policy("name: t\nunlisted_columns: keep\ncolumns:\n  t: {action: detect}\n")
    plan = compile_plan(policy, TEXTS.schema, None)
    frames = [TEXTS.slice(0, 2), TEXTS.slice(2, 2)]
    for frame in frames:  # two runs of the query: the counts add up
        plan.apply(frame.lazy()).collect()
    (record,) = plan.detections()
    assert record == {
        "column": "t",
        "texts": 3,
        "texts_with_findings": 2,
        "entities": {"CREDIT_CARD": 1, "EMAIL_ADDRESS": 3, "PHONE_NUMBER": 1, "US_SSN": 1},
    }
