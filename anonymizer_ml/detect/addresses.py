"""Postal addresses: whole where written out as one, else as their components.

An address starts at a street: a street-type word before the name ("Via Roma 131",
"ul. Słowicza 10", "Rue de Tanger 29"), after it ("24 Clarke Avenue", "Wesselényi u. 94."), or
fused into it in the languages that write it so ("Feldstrasse 42", "Nybyvägen 65",
"Kiannonkatu 98"); a name and a number without a street word ("Allika 46") counts only with a
building number before it. From the street, the components that follow on the next lines or
after commas are read while each looks like one (a unit, a postcode, a known country, a short
capitalised place name, a region code; on the same line as a unit, the city after it); the first
thing that does not — a sentence, a "Phone:" label — ends the address. US military addresses
(PSC / Unit … Box …, APO/FPO/DPO) and street intersections are matched whole.

An address written out as one — with a region code after the city ("Springfield, IL 62704"),
over lines that start inside a sentence ("send it to 12 Main St\nSuite 5\nSpringfield"), on one
line with a unit and then the city, or with commas and a country — is one STREET_ADDRESS span:
the whole address is the one thing named, and a region code is replaced with it. Otherwise, and
always with ``parts``, each component is its own span (street, building number and unit:
STREET_ADDRESS; city and country: LOCATION; postcode: ZIP_CODE), so a policy can treat them
apart (keep the country, replace the street) and a replacement keeps the address's layout.

Countries and US states come from Faker's English address provider (a core dependency), loaded
from the installed package.
"""

from __future__ import annotations

import functools
import re
from itertools import pairwise

from anonymizer_ml.detect.names import everyday_words
from anonymizer_ml.detect.places import CAPITAL, country_alternation

STREET = "STREET_ADDRESS"
PLACE = "LOCATION"
POSTCODE = "ZIP_CODE"
ENTITIES = frozenset({STREET, PLACE, POSTCODE})
# A parsed street outranks NER's place (0.85) where they overlap: the merged span is the address,
# so an operator that keeps places ("LOCATION: keep") never keeps a street with them.
SCORES = {STREET: 0.9, PLACE: 0.6, POSTCODE: 0.6}

_L = r"[^\W\d_]"  # a letter, any script
_UP = CAPITAL
_NAME = rf"{_L}[\w'’\-]*\.?"
_CAPITALISED = rf"{_UP}[\w'’\-]*\.?"
_PARTICLE = (
    r"(?:de|del|della|la|le|les|du|des|da|do|dos|van|von|der|nad|pod|an|am|im|sur|upon|on|u|i|"
    r"al|el)\b"
)
_NUMBER = r"\d{1,5}[A-Za-z]?\b\.?"
_PREFIX_WORDS = (
    *("ul.", "ulica", "al.", "aleja", "via", "viale", "vicolo", "piazza", "piazzale", "corso"),
    *("largo", "rua", "avenida", "avda.", "av.", "calle", "c/", "paseo", "plaza", "carrer", "rúa"),
    *("travessa", "praça", "rue", "avenue", "boulevard", "chemin", "allée", "impasse", "quai"),
    *("strada", "trg", "λεωφόρος", "λ.", "οδός", "πλατεία"),
)
_PREFIX = f"(?i:{'|'.join(re.escape(word) for word in _PREFIX_WORDS)})"
_SUFFIX = (
    # Not "Court": "The High Court", "Warsaw District Court" are courts of law; "12 Regency
    # Court" is still a street, by the building number (USPS suffixes).
    r"(?:Street|Road|Avenue|Lane|Drive|Boulevard|Place|Way|Terrace|Close|Crescent|Square|"
    r"Parkway|Highway|Circle|Row|Mews|Strasse|Straße|Weg|Gasse|Platz|Allee|gate|vei|vej|út|utca|"
    r"tér|kapu|körút|köz|sor|tee|iela|ulica|cesta)"
)
# Abbreviations ("St", "Dr", "u.") mark a street only next to a number: "We Visit St Louis".
_ABBREVIATION = r"(?:St|Rd|Ave|Ln|Dr|Blvd|Ct|Pl|Sq|Hwy|Str|u)"
_FUSED = (
    r"(?:strasse|straße|str\.|weg|gasse|platz|gatan|gata|vägen|veien|vegen|vej|"
    r"gade|vegur|braut|katu|tie|kuja|polku|laan|straat|gracht|plein|kade|stræde|gränd|väg|torget|"
    r"allee|gässli|steig)"
)
# Words that a headline capitalises ("5 Musicians Of The 70s") and no street name holds alone,
# and month and day names: "16 January 1999" and "on 5 April 1993" are dates, not streets.
_TITLE_WORD = (
    r"(?:Of|The|And|In|On|For|To|At|By|With|From|A|An|Is|Are|You|Your|My"
    r"|January|February|March|April|May|June|July|August|September|October|November|December"
    r"|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
    r"|Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)\b"
)
_INTERSECTION = re.compile(
    rf"\b(?:the |The )?corner of [^\n,;]{{2,60}}? (?:and|&) {_NAME}(?: {_CAPITALISED}){{0,3}}"
)


@functools.lru_cache(maxsize=1)
def _streets() -> re.Pattern[str]:
    """The street regex (the four forms named as groups). Headline words ("5 Musicians Of The
    70s") never start a bare street name."""
    usps = _usps_suffixes()
    firsts = "".join(sorted({word[0] for word in _PREFIX_WORDS}))
    return re.compile(
        # Every form starts at a word boundary with a digit, a capital or a prefix word's first
        # letter: testing that once, first, spares trying every form at every position
        # (measured 40% faster).
        rf"\b(?=\d|{_UP}|(?i:[{firsts}]))"
        rf"(?:(?P<prefixed>{_PREFIX} (?:{_NAME} ){{0,4}}?{_NUMBER}"
        rf"|\d{{1,5}}[A-Za-z]? {_PREFIX}(?: (?:{_PARTICLE} )*{_CAPITALISED}){{1,4}}"
        rf"(?: {_NUMBER})?)"
        rf"|(?P<suffixed>(?:\d{{1,5}}[A-Za-z]? )?(?:{_CAPITALISED} ){{1,4}}{_SUFFIX}\b\.?"
        rf"(?: {_NUMBER})?"
        rf"|\d{{1,5}}[A-Za-z]? (?:{_CAPITALISED} ){{1,4}}(?:{usps}|{_ABBREVIATION})\b\.?"
        rf"(?: {_NUMBER})?"
        rf"|(?:{_CAPITALISED} ){{1,4}}{_ABBREVIATION}\b\.? {_NUMBER})"
        rf"|(?P<fused>{_UP}[\w\-]+{_FUSED} {_NUMBER})"
        # A bare name between numbers is never a month or a country ("Spain 3 Chile 1").
        rf"|(?P<bare>\d{{1,5}} (?:(?!{_TITLE_WORD}|(?i:{country_alternation()})\b)"
        rf"{_UP}[\w'’\-]* ){{1,3}}{_NUMBER}))"
    )


@functools.lru_cache(maxsize=1)
def _usps_suffixes() -> str:
    """USPS Publication 28 street suffixes ("Coves", "Forges", "Prairie") as an alternation:
    many are everyday words, so they mark a street only after a building number."""
    from faker.providers.address import en_US  # noqa: PLC0415 - loaded on first use only

    return "|".join(sorted({re.escape(s) for s in en_US.Provider.street_suffixes}))


_BUILDING = re.compile(r"(?<![\w.\-])(\d{1,5}) $")
# A month name (and a day) right before a number: the number is a year, not a building ("On 7
# May 2004 State Security Courts were abolished").
_YEAR_OF_DATE = re.compile(
    r"(?i)\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
    r"(?: \d{1,2}(?:st|nd|rd|th)?,?)? $"
)
_LEADING_NUMBER = re.compile(r"(\d{1,5}) (?=\D)")
_MILITARY = re.compile(
    r"(?i)\b(?:(?:PSC|Unit) \d{3,5},? Box \d{3,5}|(?:USNS|USNV|USS|USCGC) [A-Z][a-z]+)"
    r"\s*\n\s*[A-Z]PO A[AEP] \d{5}\b"
)


@functools.lru_cache(maxsize=1)
def prefilter() -> str:
    """Routes rows to the Python scan: a native regex true wherever a street, a military address
    or an intersection starts. Each branch is a looser form of one street form (any non-space
    run for a word; of a run of words, the last one before the street word), so it lets every
    address through and runs three times faster than the street regex itself (whose Unicode
    word classes and look-ahead Rust either runs slowly or cannot run)."""
    word = r"[^\s]"
    return "|".join(
        (
            rf"{_PREFIX} (?:{word}+ ){{0,4}}\d",
            rf"\d[A-Za-z]? {_PREFIX} ",
            rf"{_UP}{word}* {_SUFFIX}",
            rf"\d[A-Za-z]? (?:{_UP}{word}* ){{1,4}}(?:{_usps_suffixes()}|{_ABBREVIATION})",
            rf"{_UP}{word}* {_ABBREVIATION}\.? \d",
            rf"{_UP}{word}+{_FUSED} \d",
            rf"\d {_UP}{word}* (?:{word}+ ){{0,2}}\d",
            r"(?i:(?:PSC|Unit) \d{3,5},? Box|(?:USNS|USNV|USS|USCGC) [a-z])",
            r"corner of ",
        )
    )


_SEPARATOR = re.compile(r"[ \t\r]*(?:[,\n][\s>?•|*]*)*")  # \r: Windows line ends
_UNIT = re.compile(r"(?i)(?:apt\.?|apartment|suite|unit|flat|box|postbox|p\.?o\.? box) ?\d{1,5}\b")
_POSTCODE = re.compile(
    r"(?:\d{5}(?:-\d{3,4})?|\d{4}(?: ?[A-Z]{2})?|\d{3} \d{2}|\d{2}-\d{3}|\d{4}-\d{3}"
    r"|[A-Z]\d[A-Z] ?\d[A-Z]\d|[A-Z]{1,2}\d[A-Z\d]? ?\d[A-Z]{2})\b"
)
_CODE = re.compile(r"[A-Z]{2,3}\b(?! ?\d)")
_PLACE = re.compile(
    rf"{_UP}[\w'’\-]*"
    rf"(?: (?:{_PARTICLE}|"
    rf"{_UP}[\w'’\-]*|\(\w+\))){{0,3}}"
)
_LABELS = frozenset(
    {"phone", "mobile", "tel", "telephone", "fax", "email", "e-mail", "office", "home", "work"}
    | {"cell", "address", "billing", "shipping", "website", "web", "name", "date", "when"}
    | {"where", "contact"}
)
_MAX_PARTS = 6


@functools.lru_cache(maxsize=1)
def _countries() -> re.Pattern[str]:
    return re.compile(rf"(?i:{country_alternation()})\b(?: \(\w+\))?")


def _place(text: str, at: int, newline: bool, after_unit: bool = False) -> int:
    """End of a place name starting at ``at`` (0 when there is none). Right after a unit on
    the same line ("Apt. 678 Velenje"), any capitalised words but everyday ones are the city."""
    match = _PLACE.match(text, at)
    if match is None:
        return 0
    words = match.group().split()
    if words[0].lower().strip(":") in _LABELS or text.startswith(":", match.end()):
        return 0
    if after_unit:
        return 0 if words[0].lower() in everyday_words() else match.end()
    if not newline and not match.group().isupper():
        return 0  # a place after a space on the same line only when written in capitals
    end = match.end()
    if end < len(text) and text[end] not in "\r\n,;)":
        # A place name ends its line, or is followed by a postcode or a country.
        follows = text[end] == " " and (
            _POSTCODE.match(text, end + 1) or _countries().match(text, end + 1)
        )
        if not follows:
            return 0
    return end


def _components(text: str, at: int) -> tuple[list[tuple[int, int, str]], int]:
    """The address components after a street ending at ``at``, and where they end."""
    found: list[tuple[int, int, str]] = []
    for _ in range(_MAX_PARTS):
        gap = _SEPARATOR.match(text, at)
        start = gap.end() if gap is not None else at
        between = text[at:start]
        newline = "\n" in between or "," in between
        if start >= len(text) or (not newline and between not in {" ", ""}):
            break
        if unit := _UNIT.match(text, start):
            found.append((start, unit.end(), STREET))
            at = unit.end()
        elif country := _countries().match(text, start):
            found.append((start, country.end(), PLACE))
            at = country.end()
        elif postcode := _POSTCODE.match(text, start):
            found.append((start, postcode.end(), POSTCODE))
            at = postcode.end()
        elif code := _CODE.match(text, start) if newline else None:
            at = code.end()
        elif end := _place(text, start, newline, not newline and _is_unit(text, found)):
            found.append((start, end, PLACE))
            at = end
        else:
            break
    return found, at


def _is_unit(text: str, found: list[tuple[int, int, str]]) -> bool:
    """Whether the last component found is a unit ("Apt. 946")."""
    return bool(found) and _UNIT.fullmatch(text, found[-1][0], found[-1][1]) is not None


_REGION = re.compile(r",[ \t]*[A-Z]{2,3}\b")


def _numbered(street: str) -> bool:
    return street.rstrip(".")[-1:].isdigit()


def _written_out(text: str, block: list[tuple[int, int, str]], street_end: int) -> bool:
    """Whether the components from a street on are one address written out whole: with a
    region code after the city ("Springfield, IL 62704"); over lines that start inside a
    sentence ("send it to 12 Main St\nSuite 5\nSpringfield"); on one line, a unit and then the
    city ("12 Main St Apt. 5 Springfield"), or commas and a country."""
    start, end = block[0][0], block[-1][1]
    if _REGION.search(text, street_end, end):
        return True
    if "\n" in text[start:end]:
        # Lines of an address that starts inside a sentence ("send it to 12 Main St\n…").
        before = text[text.rfind("\n", 0, start) + 1 : start].rstrip()
        return any(c.isalpha() for c in before) and not before.endswith(":")
    if any(e == PLACE and _UNIT.fullmatch(text, a, b) for (a, b, _), (_, _, e) in pairwise(block)):
        return True  # "9721 Dalmatinova 43 Apt. 678 Velenje": unit, then city, on one line
    return "," in text[street_end:end] and any(
        _countries().fullmatch(text, a, b) for a, b, _ in block
    )


def address_spans(text: str, *, parts: bool = False) -> list[tuple[int, int, str]]:
    """[start, end, entity] of every address in ``text``: as one span where it is written out
    in full, else as its components; with ``parts``, always as its components."""
    spans: list[tuple[int, int, str]] = []
    # Plain substring tests first: scanning for either pattern costs as much as both tests.
    if "\n" in text and "po a" in text.lower():
        spans.extend((m.start(), m.end(), STREET) for m in _MILITARY.finditer(text))
    if "corner of" in text:
        spans.extend((m.start(), m.end(), STREET) for m in _INTERSECTION.finditer(text))
    spans.sort()
    taken = max((end for _, end, _ in spans), default=0)
    for match in _streets().finditer(text):
        start, end = match.span()
        if start < taken or _YEAR_OF_DATE.search(text, max(0, start - 16), start):
            continue
        block: list[tuple[int, int, str]] = []
        kind = match.lastgroup
        if kind == "bare":
            building = match.group().partition(" ")[0]
            block.append((start, start + len(building), STREET))
            start += len(building) + 1
        elif building_match := _BUILDING.search(text, max(0, start - 7), start):
            block.append((building_match.start(1), building_match.end(1), STREET))
        elif (leading := _LEADING_NUMBER.match(text, start, end)) and _numbered(text[start:end]):
            block.append((start, leading.end(1), STREET))  # "12 Main St 5": building, then street
            start = leading.end()
        following, taken = _components(text, end)
        block.append((start, end, STREET))
        block.extend(following)
        whole = not parts and _written_out(text, block, end)
        spans.extend([(block[0][0], taken, STREET)] if whole else block)
    return spans
