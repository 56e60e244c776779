"""Column transforms; the built-in ones are registered under their policy action names."""

from anonymizer_ml.transforms.base import (
    BuildContext,
    Transform,
    TransformSpec,
    get_transform,
    register_transform,
)
from anonymizer_ml.transforms.basic import Drop, Keep, Mask, Redact
from anonymizer_ml.transforms.date_shift import DateShift
from anonymizer_ml.transforms.encrypt import Encrypt
from anonymizer_ml.transforms.generalize import Generalize
from anonymizer_ml.transforms.surrogate import Surrogate
from anonymizer_ml.transforms.text import DetectText
from anonymizer_ml.transforms.tokens import HashToken

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
