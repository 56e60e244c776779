"""How the model's raw entity spans are cleaned (needs no model: spans are given)."""

from __future__ import annotations

import pytest

from anonymizer_ml.detect.ner import names_one, tidy


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


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("the Court decided", "Court"),
        ("assigned to the Fourth Section of the Court", "Fourth Section"),
        ("the Government each filed", "Government"),
        (
            "section 76 of the Police and Criminal Evidence Act 1984.",
            "Police and Criminal Evidence Act 1984",
        ),
        ("accusing them, inter alia, of membership", "inter alia"),
        ("Dated 05/03/2004 and signed.", "Dated 05/03/2004"),
        ("observations.\n\nTHE FACTS\n\nI. THE CIRCUMSTANCES", "THE FACTS"),
    ],
)
def test_names_of_no_one_body_are_not_organisations(text: str, value: str) -> None:
    start = text.index(value)
    assert not names_one(text, start, start + len(value))


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("before the Istanbul State Security Court.", "Istanbul State Security Court"),
        ("the Court of Cassation quashed", "Court of Cassation"),
        ("officers of the Siverek Security Directorate", "Siverek Security Directorate"),
        (
            "REPORT BY THE MINISTRY OF JUSTICE OF THE REPUBLIC OF POLAND ON THE EVENTS OF 1994",
            "MINISTRY OF JUSTICE",
        ),
    ],
)
def test_names_of_one_body_are_kept(text: str, value: str) -> None:
    start = text.index(value)
    assert names_one(text, start, start + len(value))
