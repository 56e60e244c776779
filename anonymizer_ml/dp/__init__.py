"""Differential privacy for training on anonymised data (the ``dp`` extra: torch + opacus).

``make_private`` wraps Opacus's DP-SGD around a verified dataset and writes a signed privacy
receipt to its ledger; ``canaries`` plants and audits synthetic secrets. torch and opacus are
imported only when training starts, so this package imports without them.
"""

from anonymizer_ml.dp.budget import subject_level
from anonymizer_ml.dp.canaries import (
    CanarySet,
    exposure,
    exposure_by_repetitions,
    loss_threshold_tpr,
    plant,
    survival,
)
from anonymizer_ml.dp.engine import PrivateTraining, make_private
from anonymizer_ml.dp.ledger import receipts, spent

__all__ = [
    "CanarySet",
    "PrivateTraining",
    "exposure",
    "exposure_by_repetitions",
    "loss_threshold_tpr",
    "make_private",
    "plant",
    "receipts",
    "spent",
    "subject_level",
    "survival",
]
