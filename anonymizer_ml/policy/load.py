"""Load a policy from YAML, reporting every problem with its file and line and a fix."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from anonymizer_ml.detect.entities import builtin_entity_types, unknown_entity_types
from anonymizer_ml.errors import PolicyError
from anonymizer_ml.policy.models import (
    ACTIONS,
    RULE_MODELS,
    HierarchySpec,
    LDiversitySpec,
    Policy,
    PrivacySection,
    TClosenessSpec,
)


def _duplicate_keys(node: yaml.Node, source: str) -> list[str]:
    """YAML silently keeps the last of two equal keys; a policy must not, so list them."""
    problems: list[str] = []
    if isinstance(node, yaml.MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            if key in seen:
                problems.append(
                    f"{source}:{line}: {key!r} is given twice (first on line {seen[key]}); "
                    "fix: keep one entry"
                )
            seen.setdefault(key, line)
            problems.extend(_duplicate_keys(value_node, source))
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            problems.extend(_duplicate_keys(item, source))
    return problems


def _line_of(root: yaml.Node | None, loc: Sequence[int | str]) -> int:
    """The 1-based line of the deepest YAML node on the path ``loc`` (skipping model tags)."""
    if root is None:
        return 1
    node, line = root, root.start_mark.line + 1
    for part in loc:
        child: yaml.Node | None = None
        if isinstance(node, yaml.MappingNode):
            for key_node, value_node in node.value:
                if str(key_node.value) == str(part):
                    child, line = value_node, key_node.start_mark.line + 1
                    break
        elif (
            isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value)
        ):
            child = node.value[part]
            line = child.start_mark.line + 1
        if child is not None:
            node = child
    return line


def _where(loc: Sequence[int | str]) -> str:
    parts = [str(p) for p in loc]
    if len(parts) >= 2 and parts[0] == "columns":
        rest = parts[2:]
        if rest and rest[0] in ACTIONS:  # pydantic names the chosen union member here
            rest = rest[1:]
        return f"column {parts[1]!r}" + (f", field {'.'.join(rest)!r}" if rest else "")
    return ".".join(parts) or "policy"


def _privacy_model(loc: Sequence[int | str]) -> type[BaseModel]:
    """The model a location inside the privacy section belongs to."""
    if len(loc) >= 4 and loc[1] == "quasi_identifiers":
        return HierarchySpec
    nested: dict[str, type[BaseModel]] = {
        "l_diversity": LDiversitySpec,
        "t_closeness": TClosenessSpec,
    }
    return nested.get(str(loc[1]) if len(loc) >= 3 else "", PrivacySection)


def _fix_for(error: ErrorDetails) -> str:
    kind, loc = error["type"], error["loc"]
    if kind == "union_tag_invalid":
        given = error.get("ctx", {}).get("tag", "?")
        return f"unknown action {given!r}; use one of: {', '.join(ACTIONS)}"
    if kind == "union_tag_not_found":
        return f"no action given; add 'action:' with one of: {', '.join(ACTIONS)}"
    if kind == "missing":
        return f"required field {str(loc[-1])!r} is missing; add it"
    if kind == "extra_forbidden":
        if len(loc) >= 4 and loc[0] == "columns" and str(loc[2]) in RULE_MODELS:
            allowed = sorted(RULE_MODELS[str(loc[2])].model_fields)
        elif loc[0] == "privacy":
            allowed = sorted(_privacy_model(loc).model_fields)
        else:
            allowed = sorted(Policy.model_fields)
        return f"unknown field {str(loc[-1])!r}; allowed here: {', '.join(allowed)}"
    message = error["msg"].removeprefix("Value error, ")
    return f"{message}; fix the value"


def _validation_problems(exc: ValidationError, root: yaml.Node | None, source: str) -> list[str]:
    return [
        f"{source}:{_line_of(root, err['loc'])}: {_where(err['loc'])}: {_fix_for(err)}"
        for err in exc.errors()
    ]


def _entity_problems(data: dict[Any, Any], root: yaml.Node | None, source: str) -> list[str]:
    """Operators for types no detector emits would never apply: refuse them with the fix.

    Read from the raw YAML so they are listed beside any other problem of the rule. Deny lists
    define their own types; a Presidio recognizer file's types are checked when the plan is
    compiled (the file is read then).
    """
    problems = []
    columns = data.get("columns")
    for column, rule in columns.items() if isinstance(columns, dict) else ():
        if not isinstance(rule, dict) or rule.get("action") != "detect" or rule.get("recognizers"):
            continue
        operators, deny = rule.get("operators"), rule.get("deny_lists")
        known = builtin_entity_types() | set(deny if isinstance(deny, dict) else ())
        for name in operators if isinstance(operators, dict) else ():
            for line in unknown_entity_types([str(name)], known):
                where = _line_of(root, ["columns", column, "operators", name])
                problems.append(f"{source}:{where}: column {column!r}, field 'operators': {line}")
    return problems


def parse_policy(text: str, source: str = "<policy>") -> Policy:
    """Parse policy YAML text; raise PolicyError listing every problem (file:line: what; fix)."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data: Any = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else 1
        problem = getattr(exc, "problem", None) or "invalid YAML"
        msg = f"{source}:{line}: malformed YAML ({problem}); fix the syntax on that line"
        raise PolicyError(msg) from None
    if not isinstance(data, dict):
        msg = f"{source}:1: a policy must be a YAML mapping with 'name' and 'columns'; fix the file"
        raise PolicyError(msg)
    problems = _duplicate_keys(root, source) if root is not None else []
    problems.extend(_entity_problems(data, root, source))
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems.extend(_validation_problems(exc, root, source))
        policy = None
    if problems or policy is None:
        raise PolicyError(f"{source}: {len(problems)} problem(s)", problems)
    return policy


def load_policy(path: Path) -> Policy:
    """Read and validate the policy file at ``path``."""
    if not path.is_file():
        raise PolicyError(f"{path}: policy file not found; check the path given to --policy")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(
            f"{path}: cannot read policy ({exc.__class__.__name__}); save it as UTF-8 text"
        ) from None
    return parse_policy(text, str(path)).read_from(path)


def policy_digest(policy: Policy) -> str:
    """SHA-256 of the policy's canonical JSON form (independent of YAML layout and comments)."""
    canonical = json.dumps(policy.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
