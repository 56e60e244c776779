"""How the model's raw entity spans are cleaned (needs no model: spans are given)."""

from __future__ import annotations

import pytest

from anonymizer.detect.ner import tidy


@pytest.mark.parametrize(
    ("text", "label", "pieces"),
    [
        ("Anđa Tomić\nAddress", "PERSON", ["Anđa Tomić", "Address"]),
        ("Usamov and Bowers", "PERSON", ["Usamov", "Bowers"]),
        ("Yuri Bulgakov's Cautionary", "PERSON", ["Yuri Bulgakov"]),
        ('Heather:"I', "PERSON", ["Heather", "I"]),
        ("Cindy Holinka Apt. 117", "PERSON", ["Cindy Holinka"]),
        ("the United States", "GPE", ["United States"]),
        ("Southern Italy", "GPE", ["Italy"]),  # the country is the place named
        ("Western Sahara", "GPE", ["Western Sahara"]),  # a name of its own
        ("The Clean Power Finance", "ORG", ["Clean Power Finance"]),
        ("Dobrosław Tomaszewski of", "PERSON", ["Dobrosław Tomaszewski"]),
        ("04494", "ORG", []),  # no letter: not an organisation
        ("IBAN", "ORG", []),  # a kind of data, not a firm
        ("ATM", "ORG", []),
        ("I'm Melvin", "PERSON", ["Melvin"]),
        ("ex-Zombie Ryhänen", "PERSON", ["Ryhänen"]),
        ("Producer Robinette Dennis", "PERSON", ["Robinette Dennis"]),
        ("1977", "DATE", ["1977"]),
        ("Monday", "DATE", ["Monday"]),
        ("next week", "DATE", []),  # names no point in time
        ("33 years old", "DATE", []),  # an age: the AGE pattern's
    ],
)
def test_tidy(text: str, label: str, pieces: list[str]) -> None:
    assert [text[a:b] for a, b in tidy(text, 0, len(text), label)] == pieces


def test_offsets_stay_in_the_source_text() -> None:
    text = "Met Usamov and Bowers today"
    assert [text[a:b] for a, b in tidy(text, 4, 21, "PERSON")] == ["Usamov", "Bowers"]
