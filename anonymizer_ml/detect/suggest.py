"""A starting policy from column classes: safe defaults a person then reviews."""

from __future__ import annotations

import re
from typing import Any

import yaml

from anonymizer_ml.detect.classify import ColumnClass

_BY_KIND: dict[str, dict[str, Any]] = {
    "EMAIL_ADDRESS": {"action": "surrogate", "kind": "email"},
    "PHONE_NUMBER": {"action": "mask", "keep_last": 2},
    "US_SSN": {"action": "hash_token", "prefix": "ssn_"},
    "CREDIT_CARD": {"action": "mask", "keep_last": 4, "keep_separators": False},
    "IBAN_CODE": {"action": "hash_token", "prefix": "iban_"},
    "IP_ADDRESS": {"action": "hash_token", "prefix": "ip_"},
    "MAC_ADDRESS": {"action": "hash_token", "prefix": "mac_"},
    "URL": {"action": "redact"},
    "PERSON": {"action": "surrogate", "kind": "name"},
    "IDENTIFIER": {"action": "hash_token"},
    "STREET_ADDRESS": {"action": "surrogate", "kind": "street_address"},
    "ZIP_CODE": {"action": "generalize", "keep_prefix": 3},
    "ORGANIZATION": {"action": "hash_token"},
    "DATE_OF_BIRTH": {"action": "generalize", "date_part": "year"},
    "FREE_TEXT": {"action": "redact", "value": "[REDACTED]"},
}


def _rule(cls: ColumnClass) -> dict[str, Any] | str:
    """The suggestion for one column: ``keep`` only where no PII was found in its values."""
    if cls.kind == "LOCATION":
        if re.search(r"zip|postcode|postal", cls.column.lower()):
            return {"action": "generalize", "keep_prefix": 3}
        return "drop"
    if cls.kind in ("DATE_OF_BIRTH", "DATE_TIME"):
        if cls.dtype.startswith(("Date", "Datetime")):
            return {"action": "generalize", "date_part": "year"}
        return "drop"
    # Any other kind found (TITLE, NRP, AGE, …) is dropped: a suggestion never keeps PII.
    rule = _BY_KIND.get(cls.kind)
    if rule is not None:
        return dict(rule)  # a copy: shared objects would be written as YAML anchors
    return "keep" if cls.kind == "NONE" else "drop"


def suggest_policy(name: str, classes: list[ColumnClass]) -> str:
    """YAML for a policy covering every column (review it: unlisted columns are dropped)."""
    doc = {
        "name": name,
        "version": "0.1",
        "description": "Suggested by anonymizer scan; review every rule before use.",
        "unlisted_columns": "drop",
        "columns": {c.column: _rule(c) for c in classes},
    }
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)
