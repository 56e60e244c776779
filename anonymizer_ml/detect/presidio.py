"""Presidio interoperability, both ways (presidio-analyzer comes with the ``presidio`` extra).

* ``AnonymizerRecognizer`` runs our pattern detectors inside a Presidio ``AnalyzerEngine``:
  ``registry.add_recognizer(AnonymizerRecognizer())``.
* ``UserRecognizers`` brings a user's Presidio configuration into our detection: recognizers
  from Presidio's YAML format, deny lists per entity and an allow list. They run on each text
  after our vectorised detectors, so they only cost what the user configures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from anonymizer_ml.detect.patterns import DETECTORS, SCANNERS, Span, spans_in
from anonymizer_ml.errors import PlanError


def _presidio() -> Any:
    try:
        import presidio_analyzer  # noqa: PLC0415 - optional (the presidio extra)
    except ImportError:
        raise PlanError(
            "Presidio recognizers need presidio-analyzer: pip install 'anonymizer-ml[presidio]'"
        ) from None
    return presidio_analyzer


def anonymizer_recognizer() -> Any:
    """A Presidio ``EntityRecognizer`` that runs our pattern detectors (validators included)
    and scanners (names, addresses, places)."""
    presidio = _presidio()
    base: Any = presidio.EntityRecognizer

    class AnonymizerRecognizer(base):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(
                supported_entities=sorted(
                    {d.entity for d in DETECTORS}.union(*(s.entities for s in SCANNERS))
                ),
                name="AnonymizerRecognizer",
                supported_language="en",
            )

        def load(self) -> None:
            """Nothing to load: the patterns are compiled on first use."""

        def analyze(self, text: str, entities: list[str], nlp_artifacts: Any = None) -> list[Any]:
            wanted = [d for d in DETECTORS if not entities or d.entity in entities]
            reading = [s for s in SCANNERS if not entities or s.entities & set(entities)]
            return [
                presidio.RecognizerResult(s.entity, s.start, s.end, s.score)
                for s in spans_in(text, wanted, reading)
                if not entities or s.entity in entities
            ]

    return AnonymizerRecognizer()


@dataclass(frozen=True)
class UserRecognizers:
    """A user's Presidio recognizers, deny lists and allow list, applied to our findings."""

    recognizers: tuple[Any, ...] = ()
    allow: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls,
        yaml_path: Path | None = None,
        deny_lists: Mapping[str, Sequence[str]] | None = None,
        allow_list: Sequence[str] = (),
    ) -> UserRecognizers:
        """Recognizers from Presidio YAML and deny lists; values in ``allow_list`` are kept."""
        found: list[Any] = []
        if yaml_path is not None or deny_lists:
            presidio = _presidio()
            if yaml_path is not None:
                if not yaml_path.is_file():
                    raise PlanError(f"{yaml_path}: Presidio recognizer file not found")
                registry = presidio.RecognizerRegistry()
                registry.recognizers = []
                try:
                    registry.add_recognizers_from_yaml(yaml_path)
                except Exception as exc:  # Presidio raises plain exceptions for bad YAML
                    kind = exc.__class__.__name__
                    raise PlanError(
                        f"{yaml_path}: not a valid Presidio recognizer file ({kind})"
                    ) from None
                found.extend(registry.recognizers)
            for entity, words in (deny_lists or {}).items():
                found.append(
                    presidio.PatternRecognizer(supported_entity=entity, deny_list=list(words))
                )
        return cls(tuple(found), frozenset(w.casefold() for w in allow_list))

    @property
    def active(self) -> bool:
        """Whether anything is configured."""
        return bool(self.recognizers or self.allow)

    def apply(self, text: str, spans: list[Span]) -> list[Span]:
        """Our spans plus the user's recognizers' findings, minus allowed values."""
        extra = [
            Span(r.start, r.end, r.entity_type, float(r.score))
            for recognizer in self.recognizers
            for r in recognizer.analyze(text, recognizer.supported_entities, None)
        ]
        merged = [*spans, *extra]
        return [s for s in merged if s.text(text).casefold() not in self.allow]
