"""Policy loading: valid files parse; every mistake names file, line, where and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from anonymizer_ml.errors import PolicyError
from anonymizer_ml.policy.load import load_policy, parse_policy, policy_digest
from anonymizer_ml.policy.models import DropRule, GeneralizeRule, HashTokenRule, Policy
from tests.conftest import CUSTOMERS_POLICY


def problems_of(text: str, source: str = "p.yaml") -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, source)
    return info.value.problems


def test_shipped_customers_policy_loads() -> None:
    policy = load_policy(CUSTOMERS_POLICY)
    assert policy.name == "customers"
    assert policy.unlisted_columns == "drop"
    assert isinstance(policy.columns["customer_id"], HashTokenRule)
    assert policy.columns["customer_id"].prefix == "cus_"


def test_defaults_minimise_data_and_shorthand_expands() -> None:
    policy = parse_policy("name: p\ncolumns:\n  a: drop\n")
    assert policy.unlisted_columns == "drop"
    assert policy.columns == {"a": DropRule(action="drop")}


def test_policy_is_frozen() -> None:
    policy = parse_policy("name: p\n")
    with pytest.raises(ValueError, match="frozen"):
        policy.name = "other"  # type: ignore[misc]


def test_unknown_action_names_line_column_and_choices() -> None:
    [problem] = problems_of("name: p\ncolumns:\n  a: keep\n  email: {action: hashh}\n")
    assert problem.startswith("p.yaml:4: column 'email'")
    assert "unknown action 'hashh'" in problem
    assert "hash_token" in problem


def test_unknown_field_lists_allowed_fields() -> None:
    [problem] = problems_of("name: p\ncolumns:\n  a:\n    action: mask\n    kep_first: 2\n")
    assert problem.startswith("p.yaml:5: column 'a', field 'kep_first'")
    assert "keep_first" in problem


def test_all_problems_are_listed_at_once() -> None:
    text = (
        "name: p\n"
        "extra_top: 1\n"
        "columns:\n"
        "  a: {action: nope}\n"
        "  b: {action: generalize, width: 10, date_part: year}\n"
        "  c: {action: surrogate}\n"
        "  d: {action: date_shift, subject: a, max_days: 0}\n"
    )
    problems = problems_of(text)
    assert len(problems) == 5
    lines = sorted(int(p.split(":")[1]) for p in problems)
    assert lines == [2, 4, 5, 6, 7]
    assert any("exactly one of width, edges, date_part, keep_prefix" in p for p in problems)
    assert any("required field 'kind'" in p for p in problems)


def test_duplicate_column_is_an_error_not_a_silent_overwrite() -> None:
    [problem] = problems_of("name: p\ncolumns:\n  a: drop\n  a: keep\n")
    assert problem.startswith("p.yaml:4:")
    assert "given twice (first on line 3)" in problem


@pytest.mark.parametrize(
    ("text", "line"),
    [("name: p\ncolumns:\n  a: [drop\n", 4), ("name: p\n  bad: indent\n", 2), ("\t- x", 1)],
)
def test_malformed_yaml_is_one_line_with_location(text: str, line: int) -> None:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "bad.yaml")
    message = str(info.value)
    assert message.startswith("bad.yaml:")
    assert "malformed YAML" in message or "mapping" in message
    assert "\n" not in message


def test_non_mapping_policy_is_rejected() -> None:
    assert "must be a YAML mapping" in problems_of("- a\n- b\n")[0]


def test_missing_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="policy file not found"):
        load_policy(tmp_path / "absent.yaml")


def test_generalize_validators() -> None:
    assert (
        "top/bottom coding only applies"
        in problems_of("name: p\ncolumns:\n  a: {action: generalize, date_part: year, top: 3}\n")[0]
    )
    assert (
        "strictly increasing"
        in problems_of("name: p\ncolumns:\n  a: {action: generalize, edges: [3, 1]}\n")[0]
    )
    assert (
        "bottom must be below top"
        in problems_of(
            "name: p\ncolumns:\n  a: {action: generalize, width: 5, bottom: 10, top: 1}\n"
        )[0]
    )
    rule = parse_policy("name: p\ncolumns:\n  a: {action: generalize, edges: [0, 18, 65]}\n")
    assert isinstance(rule.columns["a"], GeneralizeRule)
    assert rule.columns["a"].mode == "edges"


def test_digest_ignores_layout_but_not_content() -> None:
    a = parse_policy("name: p\ncolumns:\n  a: drop\n  b: {action: mask, keep_last: 2}\n")
    b = parse_policy(
        "# comment\nname: p\ncolumns:\n  b:\n    action: mask\n    keep_last: 2\n  a: drop\n"
    )
    c = parse_policy("name: p\ncolumns:\n  a: drop\n  b: {action: mask, keep_last: 3}\n")
    assert policy_digest(a) == policy_digest(b)
    assert policy_digest(a) != policy_digest(c)
    assert policy_digest(a).startswith("sha256:")


def test_version_accepts_numbers() -> None:
    assert parse_policy("name: p\nversion: 2\n").version == "2"
    assert isinstance(parse_policy("name: p\n"), Policy)
