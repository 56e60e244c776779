"""hash_token, surrogate and date_shift: keyed, deterministic, and checked against stdlib HMAC."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from datetime import date, datetime
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anonymizer_ml.crypto.keyset import Key, Keyset, generate_keyset
from anonymizer_ml.errors import KeyringError
from anonymizer_ml.policy.models import HashTokenRule
from anonymizer_ml.transforms.date_shift import offset_days
from anonymizer_ml.transforms.keyed import hmac_hex, reference_hmac_hex
from anonymizer_ml.transforms.surrogate import KINDS, LOWER_CASE_KINDS, _digits, fake_values
from anonymizer_ml.transforms.surrogate_pools import EMAIL_DOMAINS, pool
from anonymizer_ml.transforms.tokens import token_value
from tests.conftest import apply_rule

NAMES = pl.DataFrame({"v": ["alice", "bob", "alice", None, "Émilie", ""]})


def test_reference_hmac_is_stdlib_hmac_sha256_under_the_hex_key(keyset: Keyset) -> None:
    key = keyset.for_purpose("tokenize")
    expected = hmac.new(key.material.hex().encode(), b"alice", hashlib.sha256).hexdigest()
    assert reference_hmac_hex("alice", key) == expected


def test_token_matches_reference_and_is_deterministic(keyset: Keyset) -> None:
    out = apply_rule(NAMES, "v", "{action: hash_token, prefix: 'u_', length: 20}", keyset).to_list()
    rule = HashTokenRule(action="hash_token", prefix="u_", length=20)
    key = keyset.for_purpose("tokenize")
    assert out[0] == token_value("alice", rule, key)
    assert out[0] == out[2]
    assert out[3] is None
    assert out[4] == token_value("Émilie", rule, key)
    assert all(len(t) == 22 and t.startswith("u_") for t in out if t is not None)
    assert len({t for t in out if t is not None}) == 4


@settings(max_examples=100, deadline=None)
@given(values=st.lists(st.text(max_size=30), min_size=1, max_size=30))
def test_native_hmac_equals_stdlib_for_any_text(values: list[str]) -> None:
    keyset = _PROPERTY_KEYSET
    out = apply_rule(
        pl.DataFrame({"v": values}, schema={"v": pl.String}),
        "v",
        "{action: hash_token, length: 64}",
        keyset,
    ).to_list()
    key = keyset.for_purpose("tokenize")
    assert out == [reference_hmac_hex(v, key) for v in values]


_PROPERTY_KEYSET = generate_keyset()


def test_token_of_integers_uses_their_decimal_text(keyset: Keyset) -> None:
    frame = pl.DataFrame({"v": [100001, None]})
    out = apply_rule(frame, "v", "{action: hash_token}", keyset).to_list()
    assert out[0] == reference_hmac_hex("100001", keyset.for_purpose("tokenize"))[:32]
    assert out[1] is None


def test_another_key_changes_every_token(keyset: Keyset) -> None:
    frame = pl.DataFrame({"v": [f"user{i}" for i in range(500)]})
    a = apply_rule(frame, "v", "{action: hash_token}", keyset)
    b = apply_rule(frame, "v", "{action: hash_token}", generate_keyset())
    assert (a != b).all()


def test_keyed_action_without_keyset_is_a_clear_error() -> None:
    with pytest.raises(KeyringError, match="needs a keyset"):
        apply_rule(NAMES, "v", "{action: hash_token}", None)


def test_keyset_without_the_purpose_is_a_clear_error() -> None:
    with pytest.raises(KeyringError, match="no key for purpose 'tokenize'"):
        apply_rule(NAMES, "v", "{action: hash_token}", generate_keyset(["surrogate"]))


SHAPES = {
    "name": r"[A-Z][a-z]+ [A-Z][a-z]+",
    "first_name": r"[A-Z][a-z]+",
    "last_name": r"[A-Z][a-z]+",
    "email": r"[a-z]+\.[a-z]+\d\d@example\.(com|net|org)",
    "user_name": r"[a-z]+_[a-z]+\d{3}",
    "phone": r"\([2-9]\d\d\) 555-\d{4}",
    "zipcode": r"\d{5}",
    "ssn": r"9\d\d-\d\d-\d{4}",
    "address": r".+, .+, [A-Z]{2} \d{5}",
}


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_surrogate_kinds_have_the_right_shape(kind: str, keyset: Keyset) -> None:
    frame = pl.DataFrame({"v": [f"person {i}" for i in range(300)] + [None]})
    out = apply_rule(frame, "v", f"{{action: surrogate, kind: {kind}}}", keyset)
    assert out[-1] is None
    values = out.drop_nulls().to_list()
    assert len(set(values)) > 150, "surrogates should spread over the pool"
    if kind in SHAPES:
        assert all(re.fullmatch(SHAPES[kind], v) for v in values), values[:5]
    if kind == "street_address":
        assert all(re.fullmatch(r"[1-9]\d* .+", v) for v in values)
        assert {v.split(" ", 1)[1] for v in values} <= set(pool("street_name"))
    if kind in ("city", "company", "country"):
        assert set(values) <= set(pool(kind))
    if kind == "email":
        assert {v.split("@")[1] for v in values} <= set(EMAIL_DOMAINS)


def test_surrogates_are_consistent_and_keyed(keyset: Keyset) -> None:
    out = apply_rule(NAMES, "v", "{action: surrogate, kind: name}", keyset).to_list()
    assert out[0] == out[2] and out[0] != out[1]
    other = apply_rule(NAMES, "v", "{action: surrogate, kind: name}", generate_keyset()).to_list()
    assert other[0] != out[0]


def test_surrogate_never_returns_its_own_input(keyset: Keyset) -> None:
    # Feed the pool itself: some inputs are bound to hit themselves on the first draw.
    cities = list(pool("city"))
    frame = pl.DataFrame({"v": cities})
    out = apply_rule(frame, "v", "{action: surrogate, kind: city}", keyset).to_list()
    assert all(o != i for o, i in zip(out, cities, strict=True))


def test_date_shift_is_bounded_consistent_and_matches_reference(keyset: Keyset) -> None:
    subjects = [f"s{i % 50}" for i in range(400)]
    days = [date(2020, 1, 1 + i % 28) for i in range(400)]
    frame = pl.DataFrame({"subject": subjects, "d": days})
    out = apply_rule(frame, "d", "{action: date_shift, subject: subject, max_days: 10}", keyset)
    shift = (out - frame["d"]).dt.total_days()
    assert shift.abs().max() <= 10  # type: ignore[operator]
    key = keyset.for_purpose("date_shift")
    expected = [offset_days(s, 10, key) for s in subjects]
    assert shift.to_list() == expected
    per_subject = (
        pl.DataFrame({"s": subjects, "shift": shift}).group_by("s").agg(pl.col("shift").n_unique())
    )
    assert per_subject["shift"].max() == 1
    assert len(set(expected)) > 5


def test_date_shift_datetime_and_null_subject(keyset: Keyset) -> None:
    frame = pl.DataFrame(
        {"s": ["a", None], "t": [datetime(2021, 5, 1, 12, 30), datetime(2021, 5, 1, 12, 30)]}
    )
    out = apply_rule(frame, "t", "{action: date_shift, subject: s, max_days: 3}", keyset)
    assert out.dtype == frame["t"].dtype
    assert out[1] is None
    assert out[0].time() == datetime(2021, 5, 1, 12, 30).time()


# Surrogates of fixed inputs under a fixed, test-only key, as the transform made them before
# the MAC was staged once per value (commit 458fccd): the same key must keep the same fakes.
GOLDEN = Path(__file__).with_name("surrogate_golden.json")
GOLDEN_KEY = Key("surrogate-golden", "surrogate", "2026-01-01T00:00:00Z", bytes(range(32)))
GOLDEN_INPUTS = ["alice", "Bob Smith", "", "Émilie Dupont", "Martinique", "Bridget", None]


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_surrogates_equal_the_golden_table(kind: str) -> None:
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))[kind]
    frame = pl.DataFrame({"v": GOLDEN_INPUTS})
    rule = f"{{action: surrogate, kind: {kind}}}"
    assert apply_rule(frame, "v", rule, Keyset(keys=(GOLDEN_KEY,))).to_list() == expected


def test_the_golden_table_covers_the_second_draw() -> None:
    # Under the golden key these two inputs draw themselves first: their fakes are second draws.
    for kind, value in (("country", "Martinique"), ("first_name", "Bridget")):
        mac = pl.select(hmac_hex(pl.lit(pl.Series([value])), GOLDEN_KEY)).to_series()
        first = fake_values(kind, mac).item()
        assert first == value
        released = json.loads(GOLDEN.read_text(encoding="utf-8"))[kind]
        assert released[GOLDEN_INPUTS.index(value)] != value


@pytest.mark.parametrize("kind", sorted(LOWER_CASE_KINDS))
def test_lower_case_kinds_only_make_lower_case_fakes(kind: str) -> None:
    # The never-equal check lower-cases only the input for these kinds: this must hold.
    macs = pl.select(
        hmac_hex(pl.lit(pl.Series([f"value {i}" for i in range(3_000)])), GOLDEN_KEY)
    ).to_series()
    fakes = fake_values(kind, macs)
    assert fakes.null_count() == 0
    assert (fakes == fakes.str.to_lowercase()).all()


@pytest.mark.parametrize(("width", "low"), [(2, 0), (3, 0), (4, 0), (4, 1), (5, 1000)])
def test_digit_runs_are_the_drawn_number_zero_padded(width: int, low: int) -> None:
    macs = pl.select(hmac_hex(pl.lit(pl.Series([f"n{i}" for i in range(2_000)])), GOLDEN_KEY))
    drawn = macs.select(_digits(pl.col(macs.columns[0]), 2, width, low)).to_series().to_list()
    span = 10**width - low
    expected = [
        str(int(mac[24:36], 16) % span + low).zfill(width) for mac in macs.to_series().to_list()
    ]
    assert drawn == expected
