"""Decomposed Unicode and control characters: detection reads NFC, offsets come back exact."""

from __future__ import annotations

import unicodedata

import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymizer_ml import detect_entities, parse_policy
from anonymizer_ml.api import anonymize_frame
from anonymizer_ml.detect.normalize import prepare
from anonymizer_ml.detect.patterns import Span

POLICY = parse_policy(
    "name: t\nunlisted_columns: keep\ncolumns:\n  note: {action: detect, ner: none}\n"
)
FIRST = ["José", "María", "Zoë", "Chloé", "Renée", "Inês", "Agnès", "Anaïs", "Hélène"]
LAST = ["García", "Muñoz", "Pérez", "Brontë", "Müller", "Ibáñez", "Gonçalves", "Løvaas"]


def redact(text: str) -> str:
    out = anonymize_frame(pl.DataFrame({"note": [text]}), POLICY)["note"][0]
    assert isinstance(out, str)
    return out


def test_spans_map_back_to_whole_decomposed_letters() -> None:
    nfd = unicodedata.normalize("NFD", "Mr José García wrote")
    prepared = prepare(nfd)
    assert prepared.text == "Mr José García wrote" and len(nfd) == len(prepared.text) + 2
    span = prepared.original(Span(3, 14, "PERSON", 0.9))  # "José García" in NFC offsets
    assert nfd[span.start : span.end] == unicodedata.normalize("NFD", "José García")


def test_nfd_names_and_accented_emails_are_found_like_nfc() -> None:
    text = "Please contact Mr José García at josé.garcía@example.com today."
    for form in ("NFC", "NFD"):
        out = redact(unicodedata.normalize(form, text))
        assert "Garc" not in out and "example.com" not in out, (form, out)
        assert out.endswith(" today."), out


def test_a_nul_byte_never_extends_a_span() -> None:
    text = "mail ana@example.com\x00and the rest of the note stays"
    [span] = detect_entities([text], entities=["EMAIL_ADDRESS"], ner="none")[0]
    assert text[span["start"] : span["end"]] == "ana@example.com"
    assert redact(text) == "mail <EMAIL_ADDRESS>\x00and the rest of the note stays"
    after = "call 415 555 0132\x00\x00then the rest"
    [phone] = detect_entities([after], entities=["PHONE_NUMBER"], ner="none")[0]
    assert after[phone["start"] : phone["end"]] == "415 555 0132"


@settings(max_examples=60, deadline=None)
@given(
    first=st.sampled_from(FIRST),
    last=st.sampled_from(LAST),
    domain=st.sampled_from(["example.com", "bücher.de", "correo.es"]),
    filler=st.text(alphabet="abcdéèñü .,;\n", max_size=30),
)
def test_nfc_and_nfd_forms_redact_the_same_characters(
    first: str, last: str, domain: str, filler: str
) -> None:
    local = unicodedata.normalize("NFC", f"{first}.{last}").lower()
    text = f"{filler} Dear Ms {first} {last}, reply to {local}@{domain}.{filler}"
    composed = redact(unicodedata.normalize("NFC", text))
    decomposed = redact(unicodedata.normalize("NFD", text))
    assert unicodedata.normalize("NFC", decomposed) == composed
    assert last not in composed and last.lower() not in composed
