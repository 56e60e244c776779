"""detect: transform PII inside free text, span by span, with per-entity operators.

Per batch: rows that no pattern can match are passed through natively untouched; the others are
searched in Python for spans (validators on candidates only). With an NER model (``ner``),
names, places and organisations are found too, each distinct text analysed once. Keyed
replacements (tokens, surrogates) for all spans of the batch are computed together by the same
native expressions the column transforms use (one HMAC per distinct finding; fakes are the first
draw of the same templates, tokens read `<TYPE:16 hex>`).
Overlapping findings: the higher-scoring span wins, then the longer, then the earlier.
"""

from __future__ import annotations

import threading
from collections import Counter

import polars as pl

from anonymizer_ml.detect.addresses import ENTITIES as ADDRESS_ENTITIES
from anonymizer_ml.detect.entities import (
    builtin_entity_types,
    find_spans,
    resolve_ner,
    unknown_entity_types,
    user_recognizers,
)
from anonymizer_ml.detect.patterns import Span
from anonymizer_ml.policy.models import DetectRule
from anonymizer_ml.transforms.base import BuildContext, Transform, TransformSpec, is_text, need
from anonymizer_ml.transforms.keyed import hmac_hex
from anonymizer_ml.transforms.surrogate import fake_values

SURROGATE_KINDS = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "US_SSN": "ssn",
    "PERSON": "name",
    "LOCATION": "city",
    "ORGANIZATION": "company",
    "STREET_ADDRESS": "street_address",
    "ZIP_CODE": "zipcode",
}


def _by_shape(kind: str, spans: list[tuple[str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Spans by the surrogate kind that fits them: a whole written-out address (over lines or
    commas) gets a whole fake address, a street alone a fake street."""
    if kind != "street_address":
        return {kind: spans}
    shapes: dict[str, list[tuple[str, str]]] = {"address": [], kind: []}
    for span in spans:
        shapes["address" if "\n" in span[1] or "," in span[1] else kind].append(span)
    return shapes


class FindingsCounter:
    """Findings per entity type in one column, summed over the batches (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entities: Counter[str] = Counter()
        self._texts = 0
        self._with_findings = 0

    def add(self, texts: int, spans: list[list[Span]]) -> None:
        """Record one batch: its non-null texts and each text's spans."""
        batch = Counter(span.entity for found in spans for span in found)
        with self._lock:
            self._texts += texts
            self._with_findings += sum(1 for found in spans if found)
            self._entities.update(batch)

    def ledger(self) -> dict[str, object]:
        """Texts scanned, texts with a finding, and findings per entity type (sorted)."""
        with self._lock:
            return {
                "texts": self._texts,
                "texts_with_findings": self._with_findings,
                "entities": dict(sorted(self._entities.items())),
            }


def _mask(value: str) -> str:
    return "".join(c if c in " -.@()/+_:," else "*" for c in value)


class DetectText(Transform[DetectRule]):
    """Rewrite each finding inside a text column according to its entity's operator."""

    spec = TransformSpec("detect", "1", True, True, False, True, False)

    def check(
        self, rule: DetectRule, column: str, dtype: pl.DataType, schema: pl.Schema
    ) -> list[str]:
        """Free-text detection needs a text column; operators must name types that are found."""
        problems = need(is_text(dtype), column, f"detect needs a text column, not {dtype}")
        user = user_recognizers(rule) if rule.recognizers is not None else None
        if user is not None:
            known = builtin_entity_types() | {
                entity for r in user.recognizers for entity in r.supported_entities
            }
            problems += [
                f"column {column!r}: operators: {line}"
                for line in unknown_entity_types(rule.operators, known)
            ]
        return problems

    def expression(self, rule: DetectRule, ctx: BuildContext) -> pl.Expr:
        """An elementwise batch function over the column."""
        operators = {**dict.fromkeys(SURROGATE_KINDS, rule.default), **rule.operators}
        model = resolve_ner(rule.ner)
        user = user_recognizers(rule)
        keyed = {rule.default, *operators.values()} & {"hash_token", "surrogate"}
        token_key = ctx.key(rule.key, "detect") if keyed else None
        fake_key = ctx.key(rule.surrogate_key, "detect") if "surrogate" in keyed else None

        def keyed_values(spans: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
            """Token or fake for every (entity, text) needing one, computed natively at once."""
            result: dict[tuple[str, str], str] = {}
            for entity, kind in SURROGATE_KINDS.items():
                wanted = [s for s in spans if s[0] == entity and operators[entity] == "surrogate"]
                for shape, group in _by_shape(kind, wanted).items():
                    if group and fake_key is not None:
                        texts = pl.Series([t for _, t in group], dtype=pl.String)
                        hexes = pl.select(hmac_hex(pl.lit(texts), fake_key)).to_series()
                        made = fake_values(shape, hexes).to_list()
                        result.update(zip(group, made, strict=True))
            # hash_token, and surrogate for entities without a surrogate kind, become tokens.
            tokens = [
                s for s in spans if s not in result and operators.get(s[0], rule.default) in keyed
            ]
            if tokens and token_key is not None:
                texts = pl.Series([t for _, t in tokens], dtype=pl.String)
                macs = pl.select(hmac_hex(pl.lit(texts), token_key)).to_series().to_list()
                result.update({s: f"<{s[0]}:{m[:16]}>" for s, m in zip(tokens, macs, strict=True)})
            return result

        def rewrite(text: str, spans: list[Span], keyed_map: dict[tuple[str, str], str]) -> str:
            numbers: dict[tuple[str, str], int] = {}
            out, last = [], 0
            for span in spans:
                found = span.text(text)
                op = operators.get(span.entity, rule.default)
                if op == "keep":
                    continue
                if op == "mask":
                    new = _mask(found)
                elif op in ("hash_token", "surrogate"):
                    new = keyed_map[(span.entity, found)]
                elif rule.numbered:
                    n = numbers.setdefault(
                        (span.entity, found), 1 + sum(1 for e, _ in numbers if e == span.entity)
                    )
                    new = f"<{span.entity}_{n}>"
                else:
                    new = f"<{span.entity}>"
                out += [text[last : span.start], new]
                last = span.end
            out.append(text[last:])
            return "".join(out)

        # A written-out address stays one span unless the policy treats its parts apart.
        address_parts = len({operators[e] for e in ADDRESS_ENTITIES}) > 1
        counter = FindingsCounter()
        ctx.register_findings(counter.ledger)

        def scrub(series: pl.Series) -> pl.Series:
            texts = series.to_list()
            all_spans = find_spans(
                series, model, user=user, processes=rule.ner_processes, address_parts=address_parts
            )
            counter.add(len(series) - series.null_count(), all_spans)
            needed = sorted(
                {
                    (s.entity, s.text(t))
                    for t, ss in zip(texts, all_spans, strict=True)
                    if t is not None
                    for s in ss
                }
            )
            keyed_map = keyed_values(needed)
            out = [
                t if t is None or not ss else rewrite(t, ss, keyed_map)
                for t, ss in zip(texts, all_spans, strict=True)
            ]
            return pl.Series(series.name, out, dtype=pl.String)

        return (
            pl.col(ctx.column)
            .cast(pl.String)
            .map_batches(scrub, return_dtype=pl.String, is_elementwise=True)
        )
