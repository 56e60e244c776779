"""Entities of real prose: institutions named by a head word, and people named again by surname."""

from __future__ import annotations

import pytest

from anonymizer_ml import detect_entities
from anonymizer_ml.detect.coref import surname_mentions
from anonymizer_ml.detect.patterns import Span


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


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("represented by Mr Cengiz Polat (“the applicant”)", "Mr Cengiz Polat"),
        ("represented by Mr E. Kanar, a lawyer", "Mr E. Kanar"),
        ("On 10 July 1985 Mr G.D. and the applicant signed", "Mr G.D."),
        ("against Mr G.D. She maintained that", "Mr G.D."),
        ("namely Mr. W. Ganshof van der Meersch, and others", "Mr. W. Ganshof van der Meersch"),
        ("by Ms Sabriye Akıncıbaşı on 24 April 2000", "Ms Sabriye Akıncıbaşı"),
        ("by Mr İbrahim Güler", "Mr İbrahim Güler"),
        ("Their Agent, Mr J. Wołąsiewicz of the Ministry", "Mr J. Wołąsiewicz"),
        ("Dr. Kyle Kuefer will see you", "Dr. Kyle Kuefer"),
        ("Mrs. M. O’Leary, Solicitor", "Mrs. M. O’Leary"),
    ],
)
def test_an_honorific_and_the_name_are_one_person(text: str, name: str) -> None:
    found = typed(text)
    assert (name, "PERSON") in found
    assert not any(kind == "TITLE" for _, kind in found)


@pytest.mark.parametrize(
    "text",
    ["Mr Justice Smith presided.", "Our Dr. will call you back.", "Mr. and Mrs. came late."],
)
def test_an_honorific_without_a_name_after_it_is_no_person(text: str) -> None:
    assert not any(
        value.startswith(("Mr", "Dr")) for value, kind in typed(text) if kind == "PERSON"
    )


def test_a_model_typing_the_name_otherwise_is_overruled_by_the_honorific() -> None:
    # The small model types this lawyer's name as an organisation; "Ms" says who it is.
    found = typed("The applicant was represented by Ms A. Pamukçu Yördem, a lawyer.", ner="auto")
    assert ("Ms A. Pamukçu Yördem", "PERSON") in found


def test_a_later_surname_of_someone_named_with_an_honorific() -> None:
    found = typed("Mr Cengiz Polat was arrested. Later, Polat was released.")
    assert {("Mr Cengiz Polat", "PERSON"), ("Polat", "PERSON")} <= found


def test_the_year_of_a_date_starts_no_street() -> None:
    found = typed(
        "On 7 May 2004 State Security Courts were abolished; May 3, 2001 Main Street too."
    )
    assert ("7 May 2004", "DATE_TIME") in found
    assert not any(kind == "STREET_ADDRESS" for _, kind in found)
    assert ("12 Oak Court", "STREET_ADDRESS") in typed("He lives at 12 Oak Court, Leeds.")


def test_a_numbered_chamber_belongs_to_its_court() -> None:
    text = (
        "On 31 May 1990 the 5th Chamber of the Ankara Civil Court of First Instance dismissed it."
    )
    assert ("5th Chamber of the Ankara Civil Court of First Instance", "ORGANIZATION") in typed(
        text
    )


@pytest.mark.parametrize("ner", ["none", "auto"])
@pytest.mark.parametrize(
    ("text", "date"),
    [
        ("On 16 January 1999 the applicant was arrested.", "16 January 1999"),
        ("The indictment was dated 5 April 1993.", "5 April 1993"),
        ("It happened on March 5th, 2004 in town.", "March 5th, 2004"),
        ("the 5th of November 2001", "5th of November 2001"),
        ("She was born in 1965 in Leeds.", "1965"),
        ("Since 1998 she has lived here.", "1998"),
        ("Music of the 1990s was loud.", "1990s"),
        ("Filed 2004-03-05 by the clerk.", "2004-03-05"),
        ("Dated 05/03/2004 and signed.", "05/03/2004"),
        ("He left on Monday, 3 May 2010.", "Monday, 3 May 2010"),
        ("The hearing was adjourned until 30 January.", "30 January"),
        ("Sept. 11, 2001 changed it.", "Sept. 11, 2001"),
    ],
)
def test_each_written_date_form_is_a_date_and_never_an_address(
    text: str, date: str, ner: str
) -> None:
    found = typed(text, ner)
    assert (date, "DATE_TIME") in found
    assert not any(kind == "STREET_ADDRESS" for _, kind in found)


@pytest.mark.parametrize(
    "text",
    ["The event was attended by 2000 people.", "Room 1965 is free.", "It may 5 times fail."],
)
def test_numbers_that_are_not_dates(text: str) -> None:
    assert not any(kind == "DATE_TIME" for _, kind in typed(text))
