"""Typed policy model (pydantic v2, frozen, no unknown fields).

A policy names, per column, one action and its parameters. Columns the policy does not name are
handled by ``unlisted_columns`` — dropped by default, because data that is not needed is the
safest data of all.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

SurrogateKind = Literal[
    "name",
    "first_name",
    "last_name",
    "email",
    "user_name",
    "phone",
    "street_address",
    "address",
    "city",
    "zipcode",
    "company",
    "country",
    "ssn",
]

DatePart = Literal["year", "quarter", "month"]


class _Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class DropRule(_Rule):
    """Remove the column from the output."""

    action: Literal["drop"]


class KeepRule(_Rule):
    """Copy the column unchanged."""

    action: Literal["keep"]


class RedactRule(_Rule):
    """Replace every non-null value with null, or with a constant text."""

    action: Literal["redact"]
    value: str | None = None


class MaskRule(_Rule):
    """Overwrite characters with ``char``, keeping the first/last n and, optionally, separators."""

    action: Literal["mask"]
    char: str = Field("*", min_length=1, max_length=1)
    keep_first: int = Field(0, ge=0)
    keep_last: int = Field(0, ge=0)
    keep_separators: bool = True
    separators: str = Field(" -.@()/+_:,", min_length=1)


class HashTokenRule(_Rule):
    """Keyed HMAC-SHA-256 token: ``prefix`` + the first ``length`` hex digits of the MAC."""

    action: Literal["hash_token"]
    key: str = Field("tokenize", min_length=1)
    prefix: str = ""
    length: int = Field(32, ge=16, le=64)


class SurrogateRule(_Rule):
    """A realistic fake value of ``kind``, chosen deterministically by HMAC(key, value)."""

    action: Literal["surrogate"]
    kind: SurrogateKind
    key: str = Field("surrogate", min_length=1)


class GeneralizeRule(_Rule):
    """Coarsen values: numeric buckets or edges, date truncation, or string prefix truncation.

    Exactly one mode: ``width`` (with ``origin``), ``edges``, ``date_part`` or ``keep_prefix``.
    ``bottom``/``top`` code the tails of a numeric mode (values below/at or above collapse).
    """

    action: Literal["generalize"]
    width: float | None = Field(None, gt=0)
    origin: float = 0.0
    edges: tuple[float, ...] | None = None
    bottom: float | None = None
    top: float | None = None
    date_part: DatePart | None = None
    keep_prefix: int | None = Field(None, ge=0)
    fill: str = Field("*", min_length=1, max_length=1)

    @field_validator("edges")
    @classmethod
    def _edges_increase(cls, edges: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if edges is not None and (
            len(edges) < 1 or any(b <= a for a, b in itertools.pairwise(edges))
        ):
            raise ValueError("edges must be a non-empty, strictly increasing list of numbers")
        return edges

    @model_validator(mode="after")
    def _one_mode(self) -> GeneralizeRule:
        modes = [
            name
            for name, value in (
                ("width", self.width),
                ("edges", self.edges),
                ("date_part", self.date_part),
                ("keep_prefix", self.keep_prefix),
            )
            if value is not None
        ]
        if len(modes) != 1:
            raise ValueError(
                "generalize needs exactly one of width, edges, date_part, keep_prefix "
                f"(got {', '.join(modes) or 'none'})"
            )
        if (self.top is not None or self.bottom is not None) and modes[0] not in ("width", "edges"):
            raise ValueError("top/bottom coding only applies to width or edges")
        if self.top is not None and self.bottom is not None and self.bottom >= self.top:
            raise ValueError("bottom must be below top")
        return self

    @property
    def mode(self) -> str:
        """Which of the four generalisation modes this rule uses."""
        if self.width is not None:
            return "width"
        if self.edges is not None:
            return "edges"
        if self.date_part is not None:
            return "date_part"
        return "keep_prefix"


class DateShiftRule(_Rule):
    """Shift dates by a per-subject offset in [-max_days, +max_days], keyed on ``subject``."""

    action: Literal["date_shift"]
    subject: str = Field(min_length=1)
    max_days: int = Field(ge=1, le=3650)
    key: str = Field("date_shift", min_length=1)


TextOperator = Literal["replace", "mask", "hash_token", "surrogate", "keep"]


class DetectRule(_Rule):
    """Find PII inside free text and transform each finding by its entity type.

    ``replace`` writes ``<TYPE>`` (or ``<TYPE_n>``, numbered consistently within one value when
    ``numbered``); ``mask`` stars it out; ``hash_token`` writes a keyed token; ``surrogate`` a
    consistent fake of the same kind (types without a surrogate kind fall back to a token).
    ``ner``: ``auto`` (the installed default spaCy model, else patterns only, with a warning),
    ``none``, the name of an installed spaCy model, or the path of a spaCy pipeline directory
    (``./models/en_core_web_md``); with ``ner_processes`` above 1, batches of more than 200k
    characters are shared among that many worker processes (the model loaded once in each,
    the same spans; 1 runs everything in this process). ``recognizers`` (a Presidio recognizer
    YAML file, relative to the working directory), ``deny_lists`` (entity → words) and
    ``allow_list`` (values never treated as PII) bring a Presidio configuration along.
    ``default`` applies to every type ``operators`` does not name; ``default: keep`` leaves
    those in the text, so it needs ``allow_keep: true`` as well (a typo in ``operators`` would
    otherwise keep that type silently).
    """

    action: Literal["detect"]
    operators: dict[str, TextOperator] = Field(default_factory=dict)
    ner: str = Field("auto", min_length=1)
    ner_processes: int = Field(1, ge=1, le=64)
    recognizers: str | None = Field(None, min_length=1)
    deny_lists: dict[str, list[str]] = Field(default_factory=dict)
    allow_list: list[str] = Field(default_factory=list)
    default: TextOperator = "replace"
    allow_keep: bool = False
    numbered: bool = False
    key: str = Field("tokenize", min_length=1)
    surrogate_key: str = Field("surrogate", min_length=1)

    @model_validator(mode="after")
    def _keep_by_default_is_confirmed(self) -> DetectRule:
        if self.default == "keep" and not self.allow_keep:
            raise ValueError(
                "default: keep leaves every type not named in operators in the text; add "
                "allow_keep: true to confirm, or use default: replace"
            )
        return self


class EncryptRule(_Rule):
    """AES-256-GCM per value (or AES-SIV when ``deterministic``), recoverable with the key."""

    action: Literal["encrypt"]
    key: str = Field("encrypt", min_length=1)
    deterministic: bool = False
    output: Literal["binary", "base64"] = "binary"
    row_key: str | None = None
    subject: str | None = None

    @model_validator(mode="after")
    def _subject_needs_random_mode(self) -> EncryptRule:
        if self.subject is not None and self.deterministic:
            raise ValueError("per-subject keys (subject) work with random mode only")
        return self


ColumnRule = Annotated[
    DropRule
    | KeepRule
    | RedactRule
    | MaskRule
    | HashTokenRule
    | SurrogateRule
    | GeneralizeRule
    | DateShiftRule
    | DetectRule
    | EncryptRule,
    Field(discriminator="action"),
]

RULE_MODELS: dict[str, type[_Rule]] = {
    "drop": DropRule,
    "keep": KeepRule,
    "redact": RedactRule,
    "mask": MaskRule,
    "hash_token": HashTokenRule,
    "surrogate": SurrogateRule,
    "generalize": GeneralizeRule,
    "date_shift": DateShiftRule,
    "encrypt": EncryptRule,
    "detect": DetectRule,
}
ACTIONS: tuple[str, ...] = tuple(RULE_MODELS)


class AtRest(BaseModel):
    """Parquet modular encryption for output columns that must be unreadable without the key."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    columns: tuple[str, ...] = Field(min_length=1)
    key: str = Field("encrypt", min_length=1)


class HierarchySpec(BaseModel):
    """How one quasi-identifier generalises: a file, or one declarative builder.

    ``file`` is an ARX CSV (relative paths are taken from the policy file's folder);
    ``intervals`` are numeric bin widths per level; ``dates`` truncation steps; ``prefix`` the
    number of characters masked from the right, one per level; ``order`` with ``group_sizes``
    joins consecutive runs of ordered values. None of them: a numeric QI split by Mondrian.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    file: str | None = Field(None, min_length=1)
    intervals: tuple[float, ...] | None = Field(None, min_length=1)
    origin: float = 0.0
    dates: tuple[Literal["month", "year", "decade"], ...] | None = Field(None, min_length=1)
    prefix: int | None = Field(None, ge=1)
    order: tuple[str, ...] | None = Field(None, min_length=2)
    group_sizes: tuple[int, ...] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _at_most_one(self) -> HierarchySpec:
        given = [
            name
            for name in ("file", "intervals", "dates", "prefix", "order")
            if getattr(self, name) is not None
        ]
        if len(given) > 1:
            raise ValueError(f"give one hierarchy, not {' and '.join(given)}")
        if (self.order is None) != (self.group_sizes is None):
            raise ValueError("order and group_sizes go together")
        for steps in (self.intervals, self.group_sizes):
            if steps and any(b % a for a, b in itertools.pairwise(steps)):
                raise ValueError("each width or group size must be a multiple of the one before")
        return self

    @property
    def given(self) -> bool:
        """Whether any hierarchy is named."""
        return any(
            getattr(self, name) is not None
            for name in ("file", "intervals", "dates", "prefix", "order")
        )


class LDiversitySpec(BaseModel):
    """ℓ-diversity of the sensitive column in every released class."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    l: int = Field(ge=1)  # noqa: E741 - the model's own name
    kind: Literal["distinct", "entropy", "recursive"] = "distinct"
    c: float = Field(1.0, gt=0)


class TClosenessSpec(BaseModel):
    """t-closeness of the sensitive column (earth mover's distance to the whole table)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    t: float = Field(ge=0, le=1)
    distance: Literal["auto", "equal", "ordered"] = "auto"


class PrivacySection(BaseModel):
    """k-anonymity (and ℓ / t) over quasi-identifiers, enforced before release."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    algorithm: Literal["full_domain", "mondrian"] = "full_domain"
    quasi_identifiers: dict[str, HierarchySpec] = Field(min_length=1)
    k: int = Field(ge=1)
    l_diversity: LDiversitySpec | None = None
    t_closeness: TClosenessSpec | None = None
    sensitive: str | None = Field(None, min_length=1)
    suppression_limit: float = Field(0.0, ge=0, le=1)
    suppression: Literal["drop", "star"] = "drop"
    metric: Literal["nu_entropy", "discernibility", "avg_class_size"] = "nu_entropy"

    @model_validator(mode="after")
    def _consistent(self) -> PrivacySection:
        if (self.l_diversity or self.t_closeness) and self.sensitive is None:
            raise ValueError("l_diversity and t_closeness need a 'sensitive' column")
        if self.sensitive in self.quasi_identifiers:
            raise ValueError(f"{self.sensitive!r} cannot be both sensitive and a QI")
        if self.algorithm == "mondrian" and self.suppression_limit:
            raise ValueError("mondrian supports k, l_diversity and t_closeness, not suppression")
        return self


class DPSection(BaseModel):
    """The privacy budget training may spend on this dataset (DP-SGD, ``anonymizer_ml.dp``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    max_epsilon: float = Field(gt=0)
    delta: float | None = Field(None, gt=0, lt=1)
    unit: Literal["record", "subject"] = "record"
    subject: str | None = Field(None, min_length=1)
    max_records_per_subject: int | None = Field(None, ge=1)

    @model_validator(mode="after")
    def _subject_named(self) -> DPSection:
        if self.unit == "subject" and self.subject is None:
            raise ValueError("unit 'subject' needs 'subject': the column naming each person")
        return self


class Policy(BaseModel):
    """A whole policy file: metadata, the unlisted-column rule and one rule per column."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    version: str = "1"
    owner: str | None = None
    description: str | None = None
    dataset: str | None = Field(None, min_length=1)
    unlisted_columns: Literal["drop", "keep", "error"] = "drop"
    columns: dict[str, ColumnRule] = Field(default_factory=dict)
    at_rest: AtRest | None = None
    privacy: PrivacySection | None = None
    dp: DPSection | None = None
    _files_dir: Path | None = PrivateAttr(default=None)

    @property
    def files_dir(self) -> Path:
        """Where relative file paths in the policy (hierarchies) are read from: the policy
        file's directory when it was loaded from a file, else the working directory."""
        return self._files_dir if self._files_dir is not None else Path.cwd()

    def read_from(self, path: Path) -> Policy:
        """This policy, noting that it was read from the file at ``path``."""
        self._files_dir = path.parent
        return self

    @model_validator(mode="after")
    def _qis_are_kept(self) -> Policy:
        if self.privacy is not None:
            for column in self.privacy.quasi_identifiers:
                rule = self.columns.get(column)
                if rule is not None and rule.action != "keep":
                    raise ValueError(
                        f"column {column!r} is a quasi-identifier, which the privacy section "
                        f"recodes; its columns rule must be 'keep' or absent, not '{rule.action}'"
                    )
        return self

    @property
    def dataset_id(self) -> str:
        """The id encrypted cells are bound to: ``dataset`` if set, else the policy name."""
        return self.dataset or self.name

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) else value

    @field_validator("columns", mode="before")
    @classmethod
    def _expand_shorthand(cls, value: Any) -> Any:
        """Allow ``column: drop`` as shorthand for ``column: {action: drop}``."""
        if isinstance(value, dict):
            return {
                col: {"action": rule} if isinstance(rule, str) else rule
                for col, rule in value.items()
            }
        return value
