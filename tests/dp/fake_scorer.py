"""A stand-in model for the exposure CLI test: it 'memorised' every SSN canary sentence."""

from __future__ import annotations

import json
import os


def losses(texts: list[str]) -> list[float]:
    """Loss 0 for the planted sentences named in $CANARY_TEXTS, 1 for anything else."""
    known = set(json.loads(os.environ["CANARY_TEXTS"]))
    return [0.0 if t in known else 1.0 for t in texts]
