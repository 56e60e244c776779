"""A detect rule can only name entity types a detector emits; keeping by default is confirmed."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from anonymizer_ml import anonymize_frame
from anonymizer_ml.errors import PlanError, PolicyError
from anonymizer_ml.policy.load import parse_policy
from tests.conftest import run_cli

TYPO = """name: p
unlisted_columns: keep
columns:
  note:
    action: detect
    ner: none
    operators:
      EMAIL: replace
      PHONE_NUMBER: mask
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy(text, "p.yaml")
    return info.value.problems


def test_an_unknown_operator_type_is_refused_with_its_line_and_the_close_match() -> None:
    [problem] = problems_of(TYPO)
    assert problem.startswith("p.yaml:8: column 'note', field 'operators': ")
    assert "unknown entity type 'EMAIL'; did you mean 'EMAIL_ADDRESS'?" in problem
    assert "known types: AGE, CASE_NUMBER, CREDIT_CARD" in problem


def test_every_typo_is_listed_and_deny_list_types_are_known() -> None:
    text = TYPO.replace("PHONE_NUMBER", "PHONE") + "    deny_lists: {EMPLOYEE_ID: [E-1]}\n"
    assert len(problems_of(text)) == 2
    fixed = text.replace("EMAIL:", "EMAIL_ADDRESS:").replace("PHONE:", "EMPLOYEE_ID:")
    assert set(parse_policy(fixed).columns["note"].operators) == {  # type: ignore[union-attr]
        "EMAIL_ADDRESS",
        "EMPLOYEE_ID",
    }


def test_default_keep_needs_allow_keep() -> None:
    keep = TYPO.replace("EMAIL:", "EMAIL_ADDRESS:") + "    default: keep\n"
    [problem] = problems_of(keep)
    assert "default: keep" in problem and "allow_keep: true" in problem
    policy = parse_policy(keep + "    allow_keep: true\n")
    frame = pl.DataFrame({"note": ["mail ana@example.com or call +1 415 555 0132"]})
    out = anonymize_frame(frame, policy)["note"][0]
    assert "ana@example.com" not in out and "555" not in out


def test_validate_refuses_the_typo_that_used_to_leak(tmp_path: Path) -> None:
    policy = tmp_path / "p.yaml"
    policy.write_text(TYPO.replace("PHONE_NUMBER: mask", "PHONE_NUMBER: mask\n    default: keep"))
    result = run_cli(["validate", str(policy)])
    assert result.returncode == 1
    assert "unknown entity type 'EMAIL'" in result.stderr and "allow_keep" in result.stderr
    assert "Traceback" not in result.stderr


def test_recognizer_file_types_are_checked_when_the_plan_is_built(tmp_path: Path) -> None:
    recognizers = tmp_path / "recognizers.yaml"
    recognizers.write_text(
        "recognizers:\n"
        "  - name: employee\n"
        "    supported_language: en\n"
        "    supported_entity: EMPLOYEE_ID\n"
        "    patterns:\n"
        "      - {name: emp, regex: 'E-\\d{4}', score: 0.9}\n"
    )
    text = TYPO.replace("EMAIL:", "EMPLOYE_ID:") + f"    recognizers: {recognizers}\n"
    policy = parse_policy(text)  # the file is read when the plan is compiled
    frame = pl.DataFrame({"note": ["badge E-1234"]})
    with pytest.raises(PlanError, match="unknown entity type 'EMPLOYE_ID'; did you mean"):
        anonymize_frame(frame, policy)
    ok = parse_policy(text.replace("EMPLOYE_ID:", "EMPLOYEE_ID:"))
    assert anonymize_frame(frame, ok)["note"][0] == "badge <EMPLOYEE_ID>"


def test_detect_entities_refuses_an_unknown_type() -> None:
    from anonymizer_ml import detect_entities

    with pytest.raises(PlanError, match="did you mean 'PERSON'"):
        detect_entities(["Ana"], entities=["PERSONS"], ner="none")
