"""The address parser: components as separate spans, where an address starts and where it ends."""

from __future__ import annotations

import pytest

from anonymizer_ml import detect_entities
from anonymizer_ml.detect.addresses import address_spans


def _found(text: str) -> list[tuple[str, str]]:
    return [(text[a:b], entity) for a, b, entity in address_spans(text)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "3037 ul. Północna 73\n Apt. 946\n Suwałki\n\n Poland 11248",
            [
                ("3037", "STREET_ADDRESS"),
                ("ul. Północna 73", "STREET_ADDRESS"),
                ("Apt. 946", "STREET_ADDRESS"),
                ("Suwałki", "LOCATION"),
                ("Poland", "LOCATION"),
                ("11248", "ZIP_CODE"),
            ],
        ),
        ("Ciset lives on Rua Mina 50 street.", [("Rua Mina 50", "STREET_ADDRESS")]),
        ("bei Feldstrasse 42 klingeln", [("Feldstrasse 42", "STREET_ADDRESS")]),
        (
            "06 Wesselényi u. 94. is hers",
            [("06", "STREET_ADDRESS"), ("Wesselényi u. 94.", "STREET_ADDRESS")],
        ),
        (
            "lives at 846 31 Rue Al Imam Al Bakri, Cite Merzgui",
            [
                ("846", "STREET_ADDRESS"),
                ("31 Rue Al Imam Al Bakri", "STREET_ADDRESS"),
                ("Cite Merzgui", "LOCATION"),
            ],
        ),
        (
            "20789 Allika 46\n Suite 501\n Riisa\nPhone: 555 0100",
            [
                ("20789", "STREET_ADDRESS"),
                ("Allika 46", "STREET_ADDRESS"),
                ("Suite 501", "STREET_ADDRESS"),
                ("Riisa", "LOCATION"),
            ],
        ),
        (
            "PSC 4095, Box 8316\nAPO AE 85103 is my address",
            [("PSC 4095, Box 8316\nAPO AE 85103", "STREET_ADDRESS")],
        ),
    ],
)
def test_address_components(text: str, expected: list[tuple[str, str]]) -> None:
    assert _found(text) == expected


@pytest.mark.parametrize(
    ("text", "address"),
    [
        (
            "Ship to 590 Edington Drive, Toronto, ON, Canada. Thanks!",
            "590 Edington Drive, Toronto, ON, Canada",
        ),
        (
            "send it to 56539 Rua Cyro Schmutzer Franco 1213\nGRASSE, PA 39551 please",
            "56539 Rua Cyro Schmutzer Franco 1213\nGRASSE, PA 39551",
        ),
        (
            "at 30866 Ránargata 87 Apt. 652, Tallinn, Estonia 02151.",
            "30866 Ránargata 87 Apt. 652, Tallinn, Estonia 02151",
        ),
        (
            "please send a new one to 1987 74 Diakou Street\n Suite 680\n Kissousa\n Cyprus 36903?",
            "1987 74 Diakou Street\n Suite 680\n Kissousa\n Cyprus 36903",
        ),
        (
            "The letter arrived at 9721 Dalmatinova 43 Apt. 678 Velenje last night.",
            "9721 Dalmatinova 43 Apt. 678 Velenje",
        ),
    ],
)
def test_an_address_written_out_in_full_is_one_span(text: str, address: str) -> None:
    assert _found(text) == [(address, "STREET_ADDRESS")]


def test_a_written_out_address_as_its_parts() -> None:
    text = "Ship to 590 Edington Drive, Toronto, ON, Canada. Thanks!"
    found = [(text[a:b], entity) for a, b, entity in address_spans(text, parts=True)]
    assert found == [
        ("590 Edington Drive", "STREET_ADDRESS"),
        ("Toronto", "LOCATION"),
        ("Canada", "LOCATION"),
    ]


def test_usps_suffixes_need_a_building_number_and_intersections_are_one_span() -> None:
    assert _found("ship to 3744 Retreat Coves today") == [("3744 Retreat Coves", "STREET_ADDRESS")]
    assert _found("a walk in Central Park today") == []  # "Park" alone is an everyday word
    text = "meet at the corner of 3744 Retreat Avenue and Władysława Route, then"
    assert _found(text) == [
        ("the corner of 3744 Retreat Avenue and Władysława Route", "STREET_ADDRESS")
    ]


@pytest.mark.parametrize(
    "text",
    [
        "In 2014 Apple sold 5 million phones",
        "During 1971 the company grew",  # not a street ending in "-ring"
        "See Chapter 3 and Table 4 of the report",
        "Gate 12 boards at noon",
        "We Visit St Louis each year",  # an abbreviation needs a number beside it
        "version 2 of the Street Fighter game",
        "Guilty Pleasures: 5 Musicians Of The 70s You're Supposed To Hate",  # a headline
    ],
)
def test_prose_is_not_an_address(text: str) -> None:
    assert address_spans(text) == []


def test_an_address_ends_at_the_first_line_that_is_not_part_of_it() -> None:
    text = "12 Main Street\nSpringfield\nWe will discuss the invoice tomorrow morning."
    assert _found(text) == [("12 Main Street", "STREET_ADDRESS"), ("Springfield", "LOCATION")]


@pytest.mark.parametrize(
    "text",
    [
        "3037 ul. Północna 73\n Apt. 946\n Suwałki\n\n Poland 11248",
        "send it to 56539 Rua Cyro Schmutzer Franco 1213\nGRASSE, PA 39551 please",
        "20789 Allika 46\n Suite 501\n Riisa\nPhone: 555 0100",
    ],
)
def test_windows_line_ends_read_like_unix_ones(text: str) -> None:
    windows = text.replace("\n", "\r\n")
    assert [(s.replace("\r", ""), e) for s, e in _found(windows)] == _found(text)


@pytest.mark.parametrize(
    ("text", "found", "entity"),
    [
        ("The applicant was born on 16 January 1999 in Łódź.", "16 January 1999", "DATE_TIME"),
        ("He was arrested on 5 April 1993.", "5 April 1993", "DATE_TIME"),
        ("The hearing of 3 March 2004 was adjourned.", "3 March 2004", "DATE_TIME"),
    ],
)
def test_prose_dates_are_dates_not_streets(text: str, found: str, entity: str) -> None:
    [spans] = detect_entities([text], ner="none")
    typed = {(text[s["start"] : s["end"]], s["entity_type"]) for s in spans}
    assert (found, entity) in typed
    assert not any(kind == "STREET_ADDRESS" for _, kind in typed), typed


@pytest.mark.parametrize(
    "text",
    [
        "The High Court dismissed the appeal.",
        "The Warsaw District Court ruled against him.",
        "Spain 3 Chile 1 in the final.",
        "It ended 2 Brazil 0 after extra time.",
    ],
)
def test_courts_and_scores_are_not_addresses(text: str) -> None:
    [spans] = detect_entities([text], ner="none")
    assert not any(s["entity_type"] == "STREET_ADDRESS" for s in spans), spans


@pytest.mark.parametrize(
    ("text", "street"),
    [
        ("Send it to 12 Regency Court, London.", "12 Regency Court"),
        ("Meet me at 221 Baker Street tomorrow", "221 Baker Street"),
        ("I live at 5 Allika 46 in Tallinn", "Allika 46"),
    ],
)
def test_streets_next_to_those_words_still_are(text: str, street: str) -> None:
    [spans] = detect_entities([text], ner="none")
    assert any(
        text[s["start"] : s["end"]] == street and s["entity_type"] == "STREET_ADDRESS"
        for s in spans
    ), spans
