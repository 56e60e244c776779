"""Entities of real prose: institutions named by a head word, and people named again by surname."""

from __future__ import annotations

import pytest

from anonymizer import detect_entities
from anonymizer.detect.coref import surname_mentions
from anonymizer.detect.patterns import Span


def typed(text: str, ner: str = "none") -> set[tuple[str, str]]:
    [spans] = detect_entities([text], ner=ner)
    return {(text[s["start"] : s["end"]], s["entity_type"]) for s in spans}


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("The Warsaw District Court ruled against him.", "Warsaw District Court"),
        ("An appeal to the High Court failed.", "High Court"),
        ("A letter from the Ministry of Justice arrived.", "Ministry of Justice"),
        ("He was held in Wandsworth prison for a year.", "Wandsworth prison"),
        ("She was taken to Cook County Hospital.", "Cook County Hospital"),
        ("He joined the Chicago Police Department.", "Chicago Police Department"),
        ("She studied at Jagiellonian University.", "Jagiellonian University"),
    ],
)
def test_institutions_named_by_a_head_word_are_organisations(text: str, name: str) -> None:
    assert (name, "ORGANIZATION") in typed(text)


@pytest.mark.parametrize(
    "text",
    [
        "The Court notes that the applicant complained.",
        "The Ministry replied in writing.",
        "The Police came at dawn.",
        "She went to the hospital and then to prison.",
    ],
)
def test_a_bare_head_word_names_no_institution(text: str) -> None:
    assert not any(kind == "ORGANIZATION" for _, kind in typed(text))


def test_a_later_bare_surname_is_the_same_person() -> None:
    text = "John Kowalski was arrested. Later, Kowalski told the court; Kowalski's lawyer agreed."
    spans = [Span(0, 13, "PERSON", 0.85)]
    later = surname_mentions(text, spans)
    assert [text[s.start : s.end] for s in later] == ["Kowalski", "Kowalski"]
    assert all(s.entity == "PERSON" for s in later)
    found = typed(text)
    assert ("John Kowalski", "PERSON") in found and ("Kowalski", "PERSON") in found


def test_surnames_that_are_everyday_words_or_short_are_not_followed() -> None:
    text = "Will Brown came. The brown dog and May Ng left; Ng stayed, and Will went."
    spans = [Span(0, 10, "PERSON", 0.85), Span(38, 43, "PERSON", 0.85)]
    assert surname_mentions(text, spans) == []  # "Brown" only capitalised counts; "Ng" short
    assert surname_mentions("Anna Nowak met him.", [Span(0, 10, "PERSON", 0.85)]) == []


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("In application no. 12345/04 the applicant complained.", "12345/04"),
        ("He lodged it (no. 54321/08) in 2008.", "54321/08"),
        ("See Case C-123/05 on that point.", "C-123/05"),
        ("The docket no. 21-1234 was closed.", "21-1234"),
        ("Filed as 1:21-cv-00123 in Illinois.", "1:21-cv-00123"),
    ],
)
def test_case_and_application_numbers(text: str, number: str) -> None:
    assert (number, "CASE_NUMBER") in typed(text)


@pytest.mark.parametrize(
    "text", ["Page no. 5 of 12", "Mix 3/4 cup.", "Call no. 415/555", "Case closed."]
)
def test_not_case_numbers(text: str) -> None:
    assert not any(kind == "CASE_NUMBER" for _, kind in typed(text))
