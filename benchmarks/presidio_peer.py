"""Stock Presidio, the detection benchmark's peer: built over an installed spaCy model (or a blank
pipeline) with nothing downloaded, and called through its own batch engine."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any


def _offline_tldextract() -> None:
    import tldextract
    import tldextract.tldextract as module

    offline = tldextract.TLDExtract(suffix_list_urls=())
    module.TLD_EXTRACTOR = offline
    tldextract.extract = offline  # presidio's e-mail recognizer calls tldextract.extract


def presidio_engine(model: str | None) -> Any:
    """Stock Presidio over the named installed spaCy model or pipeline directory (None: a blank
    pipeline, no NER)."""
    from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider

    _offline_tldextract()
    blank = model is None
    if model is None:
        import spacy

        directory = Path(tempfile.mkdtemp(prefix="blank-en-"))
        spacy.blank("en").to_disk(directory)
        model = str(directory)
    config = {"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
    nlp_engine = NlpEngineProvider(nlp_configuration=config).create_engine()
    registry = RecognizerRegistry()
    registry.load_predefined_recognizers(nlp_engine=nlp_engine, languages=["en"])
    if blank:
        registry.remove_recognizer("SpacyRecognizer")
    return AnalyzerEngine(
        nlp_engine=nlp_engine,
        registry=registry,
        default_score_threshold=0.4,
        supported_languages=["en"],
    )


def presidio_results(
    engine: Any, texts: Sequence[str], *, batch_size: int = 256, processes: int = 1
) -> list[list[Any]]:
    """Presidio's own results (``RecognizerResult`` lists) through its BatchAnalyzerEngine."""
    from presidio_analyzer import BatchAnalyzerEngine

    batch = BatchAnalyzerEngine(analyzer_engine=engine)
    return list(
        batch.analyze_iterator(
            list(texts), language="en", batch_size=batch_size, n_process=processes
        )
    )
