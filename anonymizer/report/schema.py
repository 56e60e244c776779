"""The shipped JSON Schema of ``anonymizer report --json`` (for dashboards).

Regenerate after changing the model: ``python -c "from anonymizer.report.schema import
write_schema; write_schema()"`` (a test fails while the shipped file and the model disagree).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from anonymizer.report.figures import Report

SCHEMA_PATH = Path(__file__).with_name("schema") / "report-v1.schema.json"


def generated_schema() -> dict[str, Any]:
    """The schema as the model defines it now."""
    schema = Report.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://github.com/anonymizer/report/v1/schema.json"
    return schema


def shipped_schema() -> dict[str, Any]:
    """The schema file in the package."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def write_schema() -> None:
    """Write the generated schema over the shipped file."""
    SCHEMA_PATH.write_text(json.dumps(generated_schema(), indent=2, sort_keys=True) + "\n")
