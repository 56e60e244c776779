"""anonymizer: make tabular and free-text data safe for ML training, and prove it.

The public names below are imported on first use (PEP 562), so ``import anonymizer_ml.hooks`` in
training code or one CLI command does not pay for the whole package (about 2 s of imports).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from anonymizer_ml._version import __version__
from anonymizer_ml.errors import (
    AnonymizerError,
    BudgetExceededError,
    DecryptionError,
    InputError,
    KeyringError,
    ManifestError,
    OutputError,
    PlanError,
    PolicyError,
    SchemaMismatchError,
)

if TYPE_CHECKING:
    from anonymizer_ml.api import anonymize_frame, anonymize_lazy, anonymize_table, plan_for
    from anonymizer_ml.crypto.decrypt import decrypt_file, decrypt_frame
    from anonymizer_ml.crypto.field import FieldDecryptor, FieldEncryptor
    from anonymizer_ml.crypto.keyset import Keyset, generate_keyset, load_keyset, write_keyset
    from anonymizer_ml.detect.entities import detect_entities
    from anonymizer_ml.policy.compile import Plan
    from anonymizer_ml.policy.load import load_policy, parse_policy
    from anonymizer_ml.policy.models import Policy

_LAZY = {
    "anonymize_frame": "anonymizer_ml.api",
    "anonymize_lazy": "anonymizer_ml.api",
    "anonymize_table": "anonymizer_ml.api",
    "plan_for": "anonymizer_ml.api",
    "decrypt_file": "anonymizer_ml.crypto.decrypt",
    "decrypt_frame": "anonymizer_ml.crypto.decrypt",
    "FieldDecryptor": "anonymizer_ml.crypto.field",
    "FieldEncryptor": "anonymizer_ml.crypto.field",
    "Keyset": "anonymizer_ml.crypto.keyset",
    "generate_keyset": "anonymizer_ml.crypto.keyset",
    "load_keyset": "anonymizer_ml.crypto.keyset",
    "write_keyset": "anonymizer_ml.crypto.keyset",
    "detect_entities": "anonymizer_ml.detect.entities",
    "Plan": "anonymizer_ml.policy.compile",
    "load_policy": "anonymizer_ml.policy.load",
    "parse_policy": "anonymizer_ml.policy.load",
    "Policy": "anonymizer_ml.policy.models",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used."""
    if name not in _LAZY:
        raise AttributeError(f"module 'anonymizer_ml' has no attribute {name!r}")
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


__all__ = [
    "AnonymizerError",
    "BudgetExceededError",
    "DecryptionError",
    "FieldDecryptor",
    "FieldEncryptor",
    "InputError",
    "KeyringError",
    "Keyset",
    "ManifestError",
    "OutputError",
    "Plan",
    "PlanError",
    "Policy",
    "PolicyError",
    "SchemaMismatchError",
    "__version__",
    "anonymize_frame",
    "anonymize_lazy",
    "anonymize_table",
    "decrypt_file",
    "decrypt_frame",
    "detect_entities",
    "generate_keyset",
    "load_keyset",
    "load_policy",
    "parse_policy",
    "plan_for",
    "write_keyset",
]
