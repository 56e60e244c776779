"""Re-encryption after a key rotation: decrypt each sealed column, seal it under the primary key.

Decryption is crypto's (``decrypt_file``); sealing again is the ``encrypt`` transform's, the same
one a run uses, so this lives above both and hands crypto the sealing step.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from anonymizer_ml.crypto.decrypt import Reseal, decrypt_file
from anonymizer_ml.crypto.keyset import Keyset
from anonymizer_ml.crypto.subjects import SubjectKeyStore
from anonymizer_ml.policy.models import EncryptRule, Policy
from anonymizer_ml.transforms import BuildContext, get_transform


def _resealing(policy: Policy, keyset: Keyset) -> Reseal:
    def reseal(
        frame: pl.LazyFrame, rules: dict[str, EncryptRule], subjects: SubjectKeyStore | None
    ) -> pl.LazyFrame:
        schema = frame.collect_schema()
        encrypt = get_transform("encrypt")
        expressions = []
        for column, rule in rules.items():
            ctx = BuildContext(column, schema[column], schema, keyset, policy.dataset_id, subjects)
            expression = encrypt.expression(rule, ctx)
            assert expression is not None  # encrypt always writes its column
            expressions.append(expression.alias(column))
        return frame.with_columns(expressions)

    return reseal


def reencrypt_file(
    policy: Policy,
    keyset: Keyset,
    columns: list[str],
    source: Path,
    target: Path,
    *,
    subjects: SubjectKeyStore | None = None,
) -> dict[str, int]:
    """Rewrite ``source`` to ``target`` with ``columns`` (and every at-rest column) sealed under
    the keyset's primary keys; returns the erased subjects' null cells per column."""
    reseal = _resealing(policy, keyset)
    return decrypt_file(policy, keyset, columns, source, target, reseal=reseal, subjects=subjects)
