"""Column transforms; the built-in ones are registered under their policy action names."""

from anonymizer.transforms.base import (
    BuildContext,
    Transform,
    TransformSpec,
    get_transform,
    register_transform,
)
from anonymizer.transforms.basic import Drop, Keep, Mask, Redact
from anonymizer.transforms.date_shift import DateShift
from anonymizer.transforms.encrypt import Encrypt
from anonymizer.transforms.generalize import Generalize
from anonymizer.transforms.surrogate import Surrogate
from anonymizer.transforms.text import DetectText
from anonymizer.transforms.tokens import HashToken

for _transform in (
    Drop(),
    Keep(),
    Redact(),
    Mask(),
    HashToken(),
    Surrogate(),
    Generalize(),
    DateShift(),
    Encrypt(),
    DetectText(),
):
    register_transform(_transform.spec.name, _transform)  # type: ignore[arg-type]

__all__ = [
    "BuildContext",
    "Transform",
    "TransformSpec",
    "get_transform",
    "register_transform",
]
