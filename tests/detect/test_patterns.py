"""Pattern detectors: positives and negatives per entity, validators, overlaps, routing."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

import phonenumbers
import polars as pl
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from anonymizer_ml.detect.patterns import Span, detect_texts, resolve_overlaps, spans_in
from anonymizer_ml.detect.validators import (
    PHONE_REGIONS,
    card_ok,
    iban_ok,
    ip_ok,
    luhn_ok,
    phone_ok,
    ssn_ok,
)

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures"

POSITIVES = [
    (
        "write to jane.doe+tag@mail.example.co.uk today",
        "EMAIL_ADDRESS",
        "jane.doe+tag@mail.example.co.uk",
    ),
    ("card 4111-1111-1111-1111 expires", "CREDIT_CARD", "4111-1111-1111-1111"),
    ("IBAN DE89 3704 0044 0532 0130 00 please", "IBAN_CODE", "DE89 3704 0044 0532 0130 00"),
    ("ssn 078-05-1120.", "US_SSN", "078-05-1120"),
    ("from 10.0.0.254 at noon", "IP_ADDRESS", "10.0.0.254"),
    ("v6 2001:db8:85a3::8a2e:370:7334 ok", "IP_ADDRESS", "2001:db8:85a3::8a2e:370:7334"),
    ("nic 00:1A:2B:3C:4D:5E up", "MAC_ADDRESS", "00:1A:2B:3C:4D:5E"),
    ("see https://example.org/a?b=1 now", "URL", "https://example.org/a?b=1"),
    ("ring +44 20 7946 0958 after 5", "PHONE_NUMBER", "+44 20 7946 0958"),
    ("call (415) 555-2671 now", "PHONE_NUMBER", "(415) 555-2671"),
    ("reach her by phone at 3593603685.", "PHONE_NUMBER", "3593603685"),
    # Not valid in any numbering plan, but labelled as a phone number.
    ("Phone:\n434 14 557\n\nE-mail:", "PHONE_NUMBER", "434 14 557"),
    ("Can someone call me on 450 0840? thanks", "PHONE_NUMBER", "450 0840"),
    ("085 175 7641-Office", "PHONE_NUMBER", "085 175 7641"),
    ("born 5/24/1946 in", "DATE_TIME", "5/24/1946"),
    ("since 3rd of March 2019", "DATE_TIME", "3rd of March 2019"),
    ("seen on 1992-11-12 07:04:41 at", "DATE_TIME", "1992-11-12 07:04:41"),
    ("Patient is a 84-year-old male", "AGE", "84"),
    ("retired at the age of 71", "AGE", "71"),
    ("and i'm 26 y/o.", "AGE", "26"),
    ("My brother just turned 32", "AGE", "32"),
    ("My zip code is 90010-170", "ZIP_CODE", "90010-170"),
    ("ZIP: B0J 2H0", "ZIP_CODE", "B0J 2H0"),
    ("shares in Gradiant Research LLC rose", "ORGANIZATION", "Gradiant Research LLC"),
    ("Ms. Amber Quinn", "PERSON", "Ms. Amber Quinn"),
    ("Our Dr. will call you back.", "TITLE", "Dr."),
]

NEGATIVES = [
    "order 4111-1111-1111-1112 failed",  # fails Luhn
    "IBAN DE89 3704 0044 0532 0130 01",  # fails mod-97
    "ssn 666-12-3456 and 900-12-3456 and 123-00-4567",  # never-issued ranges
    "version 999.1.1.1 of the public licence",  # not an IP; 'lic' inside 'public' is not context
    "quantity 12345 shipped on 2021",
    "invoice 3593603685 paid in full",  # ten digits, but nothing says it is a phone
    "order 434 14 557 shipped",  # digit groups no numbering plan accepts, with no label
    "rates rose 5.3 percent to 12.5",  # decimals are not dates
    "turned 3 pages of the 2nd edition",
    "",
]


@pytest.mark.parametrize(("text", "entity", "value"), POSITIVES)
def test_detects(text: str, entity: str, value: str) -> None:
    found = [(s.entity, s.text(text)) for s in spans_in(text)]
    assert (entity, value) in found


@pytest.mark.parametrize("text", NEGATIVES)
def test_does_not_detect(text: str) -> None:
    assert spans_in(text) == []


def test_validators() -> None:
    assert luhn_ok("4539 1488 0343 6467") and not luhn_ok("4539 1488 0343 6468")
    assert card_ok("3782 822463 10005") and not card_ok("3704 0044 0532 0130 01")  # Amex is 15
    assert iban_ok("GB82WEST12345698765432") and not iban_ok("GB82WEST12345698765433")
    # Letters a case-blind regex takes for I and K are not an IBAN's (they once raised).
    assert not iban_ok("İT60 X054 2811 1010 0000 0123 456")
    assert not iban_ok("\u212aT60 X054 2811 1010 0000 0123 456")
    assert spans_in("IBAN İT60 X054 2811 1010 0000 0123 456") == []
    assert ssn_ok("078-05-1120") and not ssn_ok("000-12-3456") and not ssn_ok("111-11-1111")
    assert phone_ok("+1 415 555 2671") and not phone_ok("+1 000 000 0000")
    assert ip_ok("::1") and not ip_ok("256.1.1.1")


_PHONE_LEADS = ["", "0", "1", "11", "111", "011", "44", "044", "49", "049", "0490", "33", "39"]
_PHONE_LEADS += ["039", "34", "31", "32", "41", "46", "358", "0358", "61", "91", "55", "00"]
_PHONE_LEADS += ["180020", "0180020"]  # Britain's second national prefix


@given(
    st.sampled_from(_PHONE_LEADS),
    st.text("0123456789", min_size=4, max_size=14),
    st.sampled_from(["US", *PHONE_REGIONS]),
)
@example("49", "00201000000000", "DE")  # found by this test: two national prefixes stripped
@settings(max_examples=400, deadline=None)
def test_the_length_check_before_parsing_never_drops_a_valid_number(
    lead: str, rest: str, region: str
) -> None:
    """A number that ``phonenumbers`` accepts in a region always passes the cheap length check
    that comes before its parse there."""
    from anonymizer_ml.detect.validators import _may_be_valid_in

    digits = lead + rest
    try:
        valid = phonenumbers.is_valid_number(phonenumbers.parse(digits, region))
    except phonenumbers.NumberParseException:
        valid = False
    assert _may_be_valid_in(region, digits) or not valid


def test_valid_numbers_of_every_region_and_type_pass_the_length_check() -> None:
    from anonymizer_ml.detect.validators import _may_be_valid_in

    checked = 0
    for region in ("US", *PHONE_REGIONS):
        for kind in vars(phonenumbers.PhoneNumberType).values():
            example = isinstance(kind, int) and phonenumbers.example_number_for_type(region, kind)
            if not example:
                continue
            national = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.NATIONAL)
            digits = "".join(c for c in national if c.isdigit())
            assert _may_be_valid_in(region, digits), (region, national)
            assert phone_ok(national, region) or len(digits) < 7, (region, national)
            checked += 1
    assert checked > 100


def test_overlaps_merge_into_one_span_typed_by_the_stronger() -> None:
    spans = [
        Span(0, 10, "PHONE_NUMBER", 0.75),
        Span(0, 19, "CREDIT_CARD", 0.95),
        Span(25, 30, "URL", 0.6),
        Span(40, 50, "PERSON", 0.8),  # "Iain Franklin" after an honorific
        Span(45, 50, "PERSON", 0.85),  # the model found only "Franklin"
    ]
    assert resolve_overlaps(spans) == [
        Span(0, 19, "CREDIT_CARD", 0.95),
        Span(25, 30, "URL", 0.6),
        Span(40, 50, "PERSON", 0.85),
    ]


_SPANS = st.builds(
    lambda start, length, entity, score: Span(start, start + length, entity, score),
    st.integers(0, 40),
    st.integers(0, 8),  # empty spans too: a user's recognizer may report one
    st.sampled_from(["PERSON", "URL", "PHONE_NUMBER"]),
    st.sampled_from([0.6, 0.75, 0.9]),
)


@given(st.lists(_SPANS, max_size=8), st.randoms())
def test_resolved_spans_never_overlap_cover_every_finding_and_ignore_arrival_order(
    spans: list[Span], shuffle: object
) -> None:
    resolved = resolve_overlaps(spans)
    shuffled = list(spans)
    shuffle.shuffle(shuffled)  # type: ignore[attr-defined]
    assert resolve_overlaps(shuffled) == resolved
    assert all(a.end <= b.start for a, b in itertools.pairwise(resolved))
    for span in spans:  # every finding lies within one resolved span
        assert any(r.start <= span.start and span.end <= r.end for r in resolved)
    # An empty finding inside a longer one starting where it does merges into it.
    assert resolve_overlaps([Span(5, 5, "URL", 0.9), Span(5, 9, "PERSON", 0.6)]) == [
        Span(5, 9, "URL", 0.9)
    ]


def test_detect_texts_routes_and_keeps_order() -> None:
    texts = pl.Series(["nothing here", None, "mail a@b.io", "two: a@b.io and 10.1.1.1"])
    spans = detect_texts(texts)
    assert spans[0] == [] and spans[1] == []
    assert [s.entity for s in spans[2]] == ["EMAIL_ADDRESS"]
    assert [s.entity for s in spans[3]] == ["EMAIL_ADDRESS", "IP_ADDRESS"]


def test_gazetteer_names_need_a_known_first_name_and_a_capitalised_surname() -> None:
    from anonymizer_ml.detect.names import first_names, lower_case_name_spans, name_spans

    assert len(first_names()) > 10_000  # Faker's first names across its locales
    # The name scan reads only words that start like some first name ("anne" does not).
    assert name_spans("the anne Terence met") == [(9, 16)]
    text = "Customer Terence Skinner called; Ashleigh Jones-Baxter too. Customer Service said no."
    assert [text[a:b] for a, b in name_spans(text)] == ["Terence Skinner", "Ashleigh Jones-Baxter"]
    # In lower case only a known first name and a known surname together, neither a common word.
    lower = "call naomi ryan today"
    assert [lower[a:b] for a, b in lower_case_name_spans(lower)] == ["naomi ryan"]
    assert name_spans(lower) == []  # the capitalised rule does not read lower case
    assert lower_case_name_spans("terence called") == []
    middle = "ask anna j. smith or naomi k ryan."
    found = [middle[a:b] for a, b in lower_case_name_spans(middle)]
    assert found == ["anna j. smith", "naomi k ryan"]  # a middle initial between them
    assert lower_case_name_spans("you will park here") == []  # common words
    assert name_spans("Terence today.") == []  # at a sentence's start any word is capitalised
    assert name_spans("Terence called") == [(0, 7)]  # unless what follows is what people do
    assert name_spans("Hope is all.") == []  # but never an everyday word
    said = "I'm so jealous! said Gladys to Logan"
    assert [said[a:b] for a, b in name_spans(said)] == ["Gladys", "Logan"]  # inside a sentence
    assert name_spans("Ella: What a wife.") == [(0, 4)]  # a speaker's label
    # First names that are everyday words are not names on their own.
    assert name_spans("the Christian community met on Sunday with the Doctor in Spring") == []
    assert name_spans("Alice J. Smith") == [(0, 14)]  # a middle initial joins


SNIPPETS = [
    "Phone: 434 14 557",
    "card 4111-1111-1111-1111",
    "3037 ul. Północna 73\n Apt. 946\n Suwałki\n Poland 11248",
    "call naomi ryan",
    "Ms. Amber Quinn",
    "mail jane@example.org",
    "turned 32.",
    "nothing at all",
    "Feldstrasse 42",
    "1992-11-12",
    "moved here from Estonia",
    "flew to OSLO on",
    # The looser native routes (phone digits, streets, cues) must still let these through.
    "+44 (20) 7946 0958",
    "Niue +683 7012",  # seven digits, the fewest a valid number has
    "0044 20 7946 0958",
    "(212) 555-0142 ext 7",
    "Via Roma 131",
    "24 Clarke Avenue,\nSpringfield, IL 62704",
    "ul. Słowicza 10",
    "12 Main St 5",
    "9 Elm Coves",
    "uss nimitz\nfpo ap 96601",
    "PSC 1234, Box 5678\nAPO AE 09876",
    "at the corner of Main St and Elm Street",
    "originally from Ljubljana",
    "she is in lower mill",
    "Jacob lives here",  # a first name at a sentence's start, before what people do
    "და ნიკა მოვიდა",  # and in scripts without capitals (Georgian, Japanese)
    "we saw さゆり there",
    "naomi j ryan",  # a middle initial between lower-case names
    # Letters Python's case-blind matching takes for i, s and k, and Rust's does not.
    "İtaly",
    "mobıle 0161 496 0000",
    "we went to \u212aenya",
]


@given(st.lists(st.lists(st.sampled_from(SNIPPETS), max_size=4).map(" ".join), max_size=12))
@settings(max_examples=60, deadline=None)
def test_native_routing_finds_exactly_what_a_full_scan_finds(texts: list[str]) -> None:
    """Each detector runs only on the rows its own regex matched natively: never a difference."""
    assert detect_texts(pl.Series(texts, dtype=pl.String)) == [spans_in(t) for t in texts]


def test_long_documents_give_what_a_full_python_scan_gives() -> None:
    """Judgments (Turkish names hold letters only Python folds, which send a row to every
    case-blind detector) come out as a full Python scan of each document finds them."""
    texts = [
        json.loads(line)["text"]
        for line in (FIXTURES / "tab" / "echr_dev_sample.jsonl").read_text().splitlines()
    ]
    found = detect_texts(pl.Series(texts, dtype=pl.String))
    assert found == [spans_in(t) for t in texts]
    assert sum(map(len, found)) > 100  # the documents do hold findings to compare


def test_names_the_scan_finds_are_never_routed_away() -> None:
    """A first name that opens a sentence before a verb, or is written in a script without
    capitals, reaches the name scan (the routing once needed two capitalised words or one
    inside a sentence, and missed these); so does a lower-case name with a middle initial."""
    texts = ["Jacob lives here", "და ნიკა მოვიდა", "we saw さゆり there", "naomi j ryan"]
    found = detect_texts(pl.Series(texts))
    assert found == [spans_in(t) for t in texts]
    assert [[t[s.start : s.end] for s in spans] for t, spans in zip(texts, found, strict=True)] == [
        ["Jacob"],
        ["ნიკა"],
        ["さゆり"],
        ["naomi j ryan"],
    ]


def test_letters_only_python_folds_send_a_row_to_every_detector() -> None:
    texts = ["İtaly is nice", "ZıP code 94016", "AGED 34 and zip code 9\u212a1"]
    found = detect_texts(pl.Series(texts))
    assert found == [spans_in(t) for t in texts]
    assert [t[s.start : s.end] for t, f in zip(texts, found, strict=True) for s in f][:2] == [
        "İtaly",
        "94016",
    ]


def test_countries_read_at_their_located_offsets_are_the_ones_a_full_scan_finds() -> None:
    from anonymizer_ml.detect.places import countries_located, country_spans, country_spans_at

    texts = [
        "We flew from Papua New Guinea to Niger and then NIGERIA.",
        "guinea-bissau, equatorial guinea and the United States (USA)",
        "not a country: Nigerian, Omaha, Chadwick",
        "Côte d'Ivoire and France",  # not ASCII: read whole
        "we went to İtaly",
    ]
    located = pl.DataFrame({"t": texts}).select(countries_located(pl.col("t")))["t"].to_list()
    for text, offsets in zip(texts, located, strict=True):
        assert country_spans_at(text, offsets) == country_spans(text), text
    assert [texts[0][a:b] for a, b in country_spans(texts[0])] == [
        "Papua New Guinea",
        "Niger",
        "NIGERIA",
    ]


def test_repeated_texts_are_analysed_once_and_get_their_own_lists(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from anonymizer_ml.detect import entities

    seen: list[int] = []
    original = entities.detect_texts

    def counting(series: pl.Series, *args: object) -> list[list[Span]]:
        seen.append(len(series))
        return original(series, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(entities, "detect_texts", counting)
    found = entities.find_spans(["mail a@b.io"] * 3 + [None, "x"], None)
    assert seen == [3]  # three distinct values: the text, None and "x"
    assert found[0] == found[1] == found[2] and found[0] is not found[1]
    assert found[3] == [] and found[4] == []


def test_equal_texts_share_read_only_spans_that_serialise_like_dicts() -> None:
    import copy
    import json
    import pickle

    from anonymizer_ml import detect_entities

    rows = detect_entities(["mail a@b.io"] * 2 + ["nothing"], ner="none")
    assert rows[0] is rows[1] and isinstance(rows[0], list)  # one read-only list, shared
    assert rows[2] == [] and rows[2] is not rows[0]
    for change in (
        lambda spans: spans.append(None),
        lambda spans: spans.sort(),
        lambda spans: spans.__setitem__(0, None),
        lambda spans: spans.__iadd__([None]),
        lambda spans: spans.clear(),
    ):
        with pytest.raises(TypeError, match="read-only"):
            change(rows[0])
    mine = list(rows[0])
    mine.append(None)  # a copy is an ordinary list
    assert len(rows[1]) == 1
    span = rows[0][0]
    assert span == {"start": 5, "end": 11, "entity_type": "EMAIL_ADDRESS", "score": 0.95}
    with pytest.raises(TypeError, match="read-only"):
        span["start"] = 0
    with pytest.raises(TypeError, match="read-only"):
        span.update(start=0)
    mine = dict(span)
    mine["text"] = "a@b.io"  # a copy is an ordinary dict
    assert "text" not in rows[1][0]
    assert json.loads(json.dumps(rows)) == rows
    assert pickle.loads(pickle.dumps(rows)) == rows == copy.deepcopy(rows)
    assert type(pickle.loads(pickle.dumps(rows))[0]) is type(rows[0])


def test_names_after_a_phrase_that_introduces_one() -> None:
    from anonymizer_ml.detect.names import cued_name_spans

    def found(text: str) -> list[str]:
        return [text[a:b] for a, b in cued_name_spans(text)]

    assert found("Hi! My name is Ruth R Montez.") == ["Ruth R Montez"]
    assert found("Name:    Abby M. Laidla\nAddress: …") == ["Abby M. Laidla"]
    assert found("What's your last name? Nielsen") == ["Nielsen"]
    assert found("sometimes people call me naomi") == ["naomi"]  # a known name, in lower case
    assert found("my name is vitoria") == ["vitoria"]  # after "name is", the clause's end
    assert found("hi\r\nmy name is vitoria\r\nbye") == ["vitoria"]
    assert found("call me tomorrow please") == []  # lower case, neither
    assert found("he called the police") == []  # an everyday word


def test_a_possessive_ends_a_name_and_people_act() -> None:
    from anonymizer_ml.detect.names import name_spans

    text = "verses from Emmie Ström's Cautionary Tales"
    assert [text[a:b] for a, b in name_spans(text)] == ["Emmie Ström"]
    text = "Jacob lives on Main Street. Dexter went home."
    assert [text[a:b] for a, b in name_spans(text)] == ["Jacob", "Dexter"]


def test_a_job_after_working_for_a_firm() -> None:
    def jobs(text: str) -> list[str]:
        return [text[s.start : s.end] for s in spans_in(text) if s.entity == "TITLE"]

    assert jobs("I used to work for NATO as Passenger booking clerk, but quit") == [
        "Passenger booking clerk"
    ]
    assert jobs("I worked for Deloitte as a midwife.") == ["midwife"]
    assert jobs("I work at Google as well.") == []
    assert jobs("We worked for Acme as part of the team.") == []
