"""The shipped JSON Schema of the run-manifest predicate (and the helpers other shipped schemas
use: the report's).

Regenerate after changing the model: ``python -c "from anonymizer_ml.lineage.schema import
write_schema; write_schema()"`` (a test fails while the shipped file and the model disagree).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from anonymizer_ml.lineage.manifest import RunManifest

SCHEMA_PATH = Path(__file__).with_name("run-manifest-v1.schema.json")
SCHEMA_ID = "https://github.com/anonymizer/predicates/run/v1/schema.json"


def model_schema(model: type[BaseModel], schema_id: str) -> dict[str, Any]:
    """A model's JSON Schema (draft 2020-12) under ``schema_id``."""
    schema = model.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = schema_id
    return schema


def read_schema_file(path: Path) -> dict[str, Any]:
    """A shipped schema file."""
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def write_schema_file(schema: dict[str, Any], path: Path) -> None:
    """Write ``schema`` as the shipped file at ``path`` (sorted, indented)."""
    path.write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")


def generated_schema() -> dict[str, Any]:
    """The schema as the model defines it now."""
    return model_schema(RunManifest, SCHEMA_ID)


def shipped_schema() -> dict[str, Any]:
    """The schema file in the package (what verifiers outside Python use)."""
    return read_schema_file(SCHEMA_PATH)


def write_schema() -> None:
    """Write the generated schema over the shipped file."""
    write_schema_file(generated_schema(), SCHEMA_PATH)
