"""anonymizer: make tabular and free-text data safe for ML training, and prove it."""

from anonymizer._version import __version__
from anonymizer.api import anonymize_frame, anonymize_lazy, anonymize_table, plan_for
from anonymizer.crypto.decrypt import decrypt_file, decrypt_frame
from anonymizer.crypto.field import FieldDecryptor, FieldEncryptor
from anonymizer.crypto.keyset import Keyset, generate_keyset, load_keyset, write_keyset
from anonymizer.detect.entities import detect_entities
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
from anonymizer.policy.compile import Plan
from anonymizer.policy.load import load_policy, parse_policy
from anonymizer.policy.models import Policy

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
