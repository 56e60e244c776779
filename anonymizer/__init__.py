"""anonymizer: make tabular and free-text data safe for ML training, and prove it.

The public names below are imported on first use (PEP 562), so ``import anonymizer.hooks`` in
training code or one CLI command does not pay for the whole package (about 2 s of imports).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from anonymizer._version import __version__
from anonymizer.errors import (
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
    from anonymizer.api import anonymize_frame, anonymize_lazy, anonymize_table, plan_for
    from anonymizer.crypto.decrypt import decrypt_file, decrypt_frame
    from anonymizer.crypto.field import FieldDecryptor, FieldEncryptor
    from anonymizer.crypto.keyset import Keyset, generate_keyset, load_keyset, write_keyset
    from anonymizer.detect.entities import detect_entities
    from anonymizer.policy.compile import Plan
    from anonymizer.policy.load import load_policy, parse_policy
    from anonymizer.policy.models import Policy

_LAZY = {
    "anonymize_frame": "anonymizer.api",
    "anonymize_lazy": "anonymizer.api",
    "anonymize_table": "anonymizer.api",
    "plan_for": "anonymizer.api",
    "decrypt_file": "anonymizer.crypto.decrypt",
    "decrypt_frame": "anonymizer.crypto.decrypt",
    "FieldDecryptor": "anonymizer.crypto.field",
    "FieldEncryptor": "anonymizer.crypto.field",
    "Keyset": "anonymizer.crypto.keyset",
    "generate_keyset": "anonymizer.crypto.keyset",
    "load_keyset": "anonymizer.crypto.keyset",
    "write_keyset": "anonymizer.crypto.keyset",
    "detect_entities": "anonymizer.detect.entities",
    "Plan": "anonymizer.policy.compile",
    "load_policy": "anonymizer.policy.load",
    "parse_policy": "anonymizer.policy.load",
    "Policy": "anonymizer.policy.models",
}


def __getattr__(name: str) -> Any:
    """Import a public name's module the first time the name is used."""
    if name not in _LAZY:
        raise AttributeError(f"module 'anonymizer' has no attribute {name!r}")
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
