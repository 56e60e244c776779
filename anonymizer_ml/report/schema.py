"""The shipped JSON Schema of ``anonymizer report --json`` (for dashboards).

Regenerate after changing the model: ``python -c "from anonymizer_ml.report.schema import
write_schema; write_schema()"`` (a test fails while the shipped file and the model disagree).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from anonymizer_ml.lineage.schema import model_schema, read_schema_file, write_schema_file
from anonymizer_ml.report.figures import Report

SCHEMA_PATH = Path(__file__).with_name("schema") / "report-v1.schema.json"
SCHEMA_ID = "https://github.com/anonymizer/report/v1/schema.json"


def generated_schema() -> dict[str, Any]:
    """The schema as the model defines it now."""
    return model_schema(Report, SCHEMA_ID)


def shipped_schema() -> dict[str, Any]:
    """The schema file in the package."""
    return read_schema_file(SCHEMA_PATH)


def write_schema() -> None:
    """Write the generated schema over the shipped file."""
    write_schema_file(generated_schema(), SCHEMA_PATH)
