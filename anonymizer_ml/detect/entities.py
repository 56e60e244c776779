"""All detectors together: vectorised patterns, NER when a model is installed, overlaps resolved.

``detect_entities`` is the public entry point; the ``detect`` transform and the scanners use
``find_spans`` on batches.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import gc
import warnings
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, NoReturn

import polars as pl

from anonymizer_ml.detect.blocks import contact_block_spans
from anonymizer_ml.detect.coref import surname_mentions
from anonymizer_ml.detect.names import first_names
from anonymizer_ml.detect.ner import DEFAULT_MODEL, ENTITIES, NerModel, load_ner, ner_spans
from anonymizer_ml.detect.normalize import prepare
from anonymizer_ml.detect.patterns import (
    ADDRESS_PARTS,
    ADDRESSES,
    DETECTORS,
    SCANNERS,
    Span,
    detect_texts,
    resolve_overlaps,
)
from anonymizer_ml.detect.pool import pooled_spans
from anonymizer_ml.detect.presidio import UserRecognizers
from anonymizer_ml.errors import PlanError
from anonymizer_ml.policy.models import DetectRule

PATTERNS_VERSION = "6"
NO_NER_WARNING = (
    "no NER model is installed, so names, places and organisations are NOT detected "
    "(pattern detectors still run); install it with: pip install 'anonymizer-ml[ner]'"
)


def _pattern_entity_types() -> set[str]:
    return {d.entity for d in DETECTORS}.union(*(s.entities for s in SCANNERS))


def builtin_entity_types() -> frozenset[str]:
    """Every entity type the built-in detectors emit: patterns, scanners and NER labels."""
    return frozenset(_pattern_entity_types().union(ENTITIES))


def unknown_entity_types(names: Iterable[str], known: Iterable[str]) -> list[str]:
    """One line per name that no detector emits, with the closest known type and the list."""
    choices = sorted(known)
    lines = []
    for name in names:
        if name in choices:
            continue
        close = difflib.get_close_matches(name.upper(), choices, n=1, cutoff=0.5)
        hint = f"did you mean {close[0]!r}? " if close else ""
        lines.append(f"unknown entity type {name!r}; {hint}known types: {', '.join(choices)}")
    return lines


def resolve_ner(choice: str = "auto") -> NerModel | None:
    """``auto``: the default model if installed; ``none``: off; else that installed model, or
    the spaCy pipeline directory at that path."""
    if choice == "none":
        return None
    model = load_ner(DEFAULT_MODEL if choice == "auto" else choice)
    if model is None and choice != "auto":
        raise PlanError(
            f"spaCy model {choice!r} is not installed (nor a pipeline directory with a "
            "meta.json); install its package or copy the directory (nothing is downloaded at "
            "run time), or use ner: auto"
        )
    return model


def detection_record(model: NerModel | None, user: UserRecognizers | None = None) -> dict[str, Any]:
    """What ran: the pattern detectors' version, the NER model (or ``none``), user recognizers."""
    record: dict[str, Any] = {
        "patterns": {
            "version": PATTERNS_VERSION,
            "entities": sorted(_pattern_entity_types()),
            "first_names": len(first_names()),
        },
        "ner": model.record() if model is not None else "none",
    }
    if user is not None and user.recognizers:
        record["presidio_recognizers"] = sorted(r.name for r in user.recognizers)
    return record


def user_recognizers(rule: DetectRule) -> UserRecognizers | None:
    """The rule's Presidio configuration, if it names any (built once per configuration and
    recognizer-file version: compiling a plan asks for it to check, build and record it)."""
    if rule.recognizers is None and not rule.deny_lists and not rule.allow_list:
        return None
    path = Path(rule.recognizers) if rule.recognizers is not None else None
    stamp = path.stat().st_mtime_ns if path is not None and path.is_file() else None
    deny = tuple((entity, tuple(words)) for entity, words in sorted(rule.deny_lists.items()))
    return _user_recognizers(path, stamp, deny, tuple(rule.allow_list))


@functools.lru_cache(maxsize=16)
def _user_recognizers(
    path: Path | None,
    stamp: int | None,
    deny: tuple[tuple[str, tuple[str, ...]], ...],
    allow: tuple[str, ...],
) -> UserRecognizers:
    return UserRecognizers.build(path, dict(deny), allow)


def find_spans(
    texts: pl.Series | Sequence[str | None],
    model: NerModel | None,
    entities: Iterable[str] | None = None,
    user: UserRecognizers | None = None,
    *,
    processes: int = 1,
    address_parts: bool = False,
) -> list[list[Span]]:
    """Pattern, NER and user-recognizer spans per text; overlapping findings merged. Repeated
    texts are analysed once; with ``processes`` above one, long batches in worker processes.
    A written-out address is one span, or with ``address_parts`` its components."""
    with _cyclic_gc_paused():
        values, found = _spans_by_distinct_text(
            texts, model, entities, user, processes, address_parts
        )
        return [list(found[value]) for value in values]


def _spans_by_distinct_text(
    texts: pl.Series | Sequence[str | None],
    model: NerModel | None,
    entities: Iterable[str] | None,
    user: UserRecognizers | None,
    processes: int,
    address_parts: bool,
) -> tuple[list[str | None], dict[str | None, list[Span]]]:
    """The texts as a list, and the spans of each distinct text by text."""
    values = texts.cast(pl.String).to_list() if isinstance(texts, pl.Series) else list(texts)
    distinct = list(dict.fromkeys(values))
    # Detectors read NFC text without control characters; spans come back in original offsets.
    prepared = [None if text is None else prepare(text) for text in distinct]
    seen = [None if p is None else p.text for p in prepared]
    wanted = tuple(entities) if entities is not None else None
    found = None
    if user is None or not user.active:  # Presidio recognizers stay in this process
        found = pooled_spans(seen, model, wanted, processes, address_parts)
    if found is None:
        found = distinct_spans(seen, model, wanted, user, processes, address_parts)
    mapped = [
        spans if p is None or p.starts is None else resolve_overlaps(map(p.original, spans))
        for p, spans in zip(prepared, found, strict=True)
    ]
    return values, dict(zip(distinct, mapped, strict=True))


def distinct_spans(
    values: list[str | None],
    model: NerModel | None,
    entities: Iterable[str] | None,
    user: UserRecognizers | None,
    processes: int,
    address_parts: bool,
) -> list[list[Span]]:
    """Each text's spans (the texts distinct and prepared), in this process; NER in
    ``processes`` spaCy worker processes."""
    wanted = set(entities) if entities is not None else None
    detectors = [d for d in DETECTORS if wanted is None or d.entity in wanted]
    scanners = [
        ADDRESS_PARTS if address_parts and s is ADDRESSES else s
        for s in SCANNERS
        if wanted is None or s.entities & wanted
    ]
    pattern_spans = detect_texts(pl.Series(values, dtype=pl.String), detectors, scanners)
    named = (
        ner_spans(model, values, processes=processes) if model is not None else [[] for _ in values]
    )
    found = []
    for text, patterns, names in zip(values, pattern_spans, named, strict=True):
        later = surname_mentions(text, [*patterns, *names]) if text else []
        if not names and not later and wanted is None and (text is None or "\n" not in text):
            found.append(patterns)  # nothing joins the (resolved) pattern spans
            continue
        spans = [*patterns, *names, *later]
        if text is not None and "\n" in text:
            spans.extend(contact_block_spans(text, spans))
        joined = len(spans) > len(patterns)  # the pattern spans come resolved
        if wanted is not None:
            spans = [s for s in spans if s.entity in wanted]
        found.append(resolve_overlaps(spans) if joined else spans)
    if user is not None and user.active:
        found = [
            resolve_overlaps(user.apply(t, f)) if t else f
            for t, f in zip(values, found, strict=True)
        ]
    return found


def detect_entities(
    texts: Sequence[str | None],
    entities: Sequence[str] | None = None,
    language: str = "en",
    *,
    ner: str = "auto",
    processes: int = 1,
    address_parts: bool = False,
) -> list[DetectedSpans]:
    """Per text, the PII spans found, each a read-only dict: ``start``, ``end`` (exclusive),
    ``entity_type``, ``score``. Each text's spans come as a read-only list, shared by the texts
    equal to it (repeated texts cost no copies); ``list(spans)`` is a copy to change.

    ``entities`` restricts the types; ``ner`` is ``auto`` (the installed default model),
    ``none`` or an installed spaCy model's name. Each distinct text is analysed once; with
    ``processes`` above one, long batches are shared among that many worker processes (same
    spans, every core busy). Without a model a warning says that names and places are not
    detected. An address written out as one (a region code after the city, lines that start
    inside a sentence, a unit and then the city, or commas and a country) is one
    ``STREET_ADDRESS`` span; ``address_parts`` splits it into street, unit, city, country and
    postcode like any other address.
    """
    if language != "en":
        raise PlanError(f"language {language!r} is not supported yet; use 'en'")
    if entities is not None and (unknown := unknown_entity_types(entities, builtin_entity_types())):
        raise PlanError(f"entities: {unknown[0]}")
    model = resolve_ner(ner)
    if model is None and ner == "auto":
        warnings.warn(NO_NER_WARNING, stacklevel=2)
    with _cyclic_gc_paused():
        values, found = _spans_by_distinct_text(
            texts, model, entities, None, processes, address_parts
        )
        made = {text: DetectedSpans(map(DetectedSpan, spans)) for text, spans in found.items()}
        return [made[value] for value in values]


class DetectedSpan(dict[str, Any]):
    """One finding as a read-only dict: ``start``, ``end`` (exclusive), ``entity_type``,
    ``score``. Rows with the same text share it, so it cannot be changed in place; ``dict(span)``
    is a copy to change. JSON-serialisable like any dict."""

    __slots__ = ()

    def __init__(self, span: Span) -> None:
        super().__init__(start=span.start, end=span.end, entity_type=span.entity, score=span.score)

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled as a plain dict's items (unpickling must not call the blocked __setitem__).
        return (_detected_span, (dict(self),))

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError("a detected span is read-only (equal texts share it); dict(span) copies it")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _read_only
    __ior__ = _read_only


class DetectedSpans(list[DetectedSpan]):
    """One text's findings as a read-only list: texts equal to it share it, so it cannot be
    changed in place; ``list(spans)`` is a copy to change. JSON-serialisable like any list."""

    __slots__ = ()

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled from its items (unpickling must not call the blocked append or extend).
        return (DetectedSpans, (list(self),))

    def _read_only(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise TypeError(
            "a text's detected spans are read-only (equal texts share them); list(spans) copies"
        )

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _read_only
    append = extend = insert = pop = remove = clear = sort = reverse = _read_only


def _detected_span(items: dict[str, Any]) -> DetectedSpan:
    return DetectedSpan(Span(items["start"], items["end"], items["entity_type"], items["score"]))


@contextlib.contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building millions of small acyclic objects:
    every collection it would trigger walks the caller's whole heap (measured 2.6x slower
    next to a large live heap). Reference counting still frees everything at once."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
