"""Places NER misses: country names, and the place after a phrase that announces one."""

from __future__ import annotations

import pytest

from anonymizer_ml.detect.places import (
    country_names,
    country_spans,
    cued_place_spans,
    place_postcode_spans,
)


def _places(text: str) -> list[str]:
    return [text[a:b] for a, b in (*country_spans(text), *cued_place_spans(text))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("She moved here from Estonia last year", ["Estonia", "Estonia"]),
        ("Mr. Pavlović flew to STAXROITH on Monday morning.", ["STAXROITH"]),
        ("I'm Abelardo, originally from PORT O' WARREN, and 58", ["PORT O' WARREN"]),
        ("Where: Unionville Country Club.", ["Unionville Country Club"]),
        ("a sunday before labor day we returned to kiel by helicopter.", ["kiel"]),
        ("i'm originally from switzerland", ["switzerland", "switzerland"]),
        ("Carry Me Back To Canada, a song", ["Canada"]),
    ],
)
def test_finds_places(text: str, expected: list[str]) -> None:
    assert _places(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "He lives in a small house.",  # an everyday word is no place
        "we moved to the next item",
        "The georgia peach is sweet",  # a state in lower case inside a cased text
        "Nothing to report.",
    ],
)
def test_does_not_find_places(text: str) -> None:
    assert _places(text) == []


def test_every_country_is_found_whole_and_the_longest_name_wins() -> None:
    for name in country_names():
        text = f"We saw {name} today"
        assert (7, 7 + len(name)) in country_spans(text), name
    text = "Guinea-Bissau, the Netherlands Antilles, Niger and Nigeria"
    found = [text[a:b] for a, b in country_spans(text)]
    assert found == ["Guinea-Bissau", "Netherlands Antilles", "Niger", "Nigeria"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("to support Allianz in Acquapendente 1021 in its", ["Acquapendente", "1021"]),
        ("an office in ÖVERTURINGEN 840 24 opened", ["ÖVERTURINGEN", "840 24"]),
        ("support foursquare in barra de carrasco 15000 now", ["barra de carrasco", "15000"]),
        ("We met in Paris 2024.", []),  # a year, not a postcode
        ("It is in Room 101.", []),  # an everyday word
        ("It was in Pune 41100-5 at", []),  # not a postcode's shape
    ],
)
def test_a_place_and_its_postcode(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b, _ in place_postcode_spans(text)] == expected
