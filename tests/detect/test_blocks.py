"""Contact blocks: the organisation and job title lines between a name and an address."""

from __future__ import annotations

from anonymizer_ml.detect.blocks import contact_block_spans
from anonymizer_ml.detect.patterns import Span


def _found(text: str, spans: list[Span]) -> list[tuple[str, str]]:
    return [(text[s.start : s.end], s.entity) for s in contact_block_spans(text, spans)]


def _span(text: str, part: str, entity: str) -> Span:
    start = text.index(part)
    return Span(start, start + len(part), entity, 0.8)


def test_the_line_above_the_address_is_the_organisation_and_the_one_above_it_the_job() -> None:
    text = "Olga Krylova\nCable line installer\nHere\n1610 ul. Zakrzowska 92"
    spans = [_span(text, "Olga Krylova", "PERSON"), _span(text, "1610", "STREET_ADDRESS")]
    assert _found(text, spans) == [("Here", "ORGANIZATION"), ("Cable line installer", "TITLE")]


def test_a_repeated_name_closes_a_label_and_marks_are_not_part_of_lines() -> None:
    text = ">Ella H. Snider\n>Otc Markets\n>Ella H. Snider\n>228 Ringvej 144"
    spans = [_span(text, "Ella H. Snider", "PERSON")]
    assert _found(text, spans) == [("Otc Markets", "ORGANIZATION")]
    windows = text.replace("\n", "\r\n")  # Windows line ends are not part of a line
    spans = [_span(windows, "Ella H. Snider", "PERSON")]
    assert _found(windows, spans) == [("Otc Markets", "ORGANIZATION")]


def test_a_section_heading_closes_a_cv_header_of_job_titles() -> None:
    text = "Layla Gairbekov\n\nAccountant\n\nPersonal Info:\nPhone: 555 0100"
    spans = [_span(text, "Layla Gairbekov", "PERSON")]
    assert _found(text, spans) == [("Accountant", "TITLE")]


def test_nothing_without_a_name_line_a_closing_line_or_short_phrases() -> None:
    address = "\n1610 ul. Zakrzowska 92"
    text = "Dear Olga Krylova\nHere" + address  # the name is not the whole line
    spans = [_span(text, "Olga Krylova", "PERSON"), _span(text, "1610", "STREET_ADDRESS")]
    assert _found(text, spans) == []
    text = "Olga Krylova\nHere\nand more text after it"  # nothing closes the block
    assert _found(text, [_span(text, "Olga Krylova", "PERSON")]) == []
    text = "Olga Krylova\nRoom 12, call 555 0100" + address  # digits: not a firm's name
    spans = [_span(text, "Olga Krylova", "PERSON"), _span(text, "1610", "STREET_ADDRESS")]
    assert _found(text, spans) == []
    text = "Olga Krylova\nA\nB\nC" + address  # more than two lines between
    spans = [_span(text, "Olga Krylova", "PERSON"), _span(text, "1610", "STREET_ADDRESS")]
    assert _found(text, spans) == []


def test_detect_entities_reads_contact_blocks() -> None:
    from anonymizer_ml import detect_entities

    text = "Katrina Mota\nKnowledge Agency\n55470 72 Acheron Road"
    found = detect_entities([text], ner="none")[0]
    assert (text.index("Knowledge"), text.index("\n55470"), "ORGANIZATION") in {
        (d["start"], d["end"], d["entity_type"]) for d in found
    }
