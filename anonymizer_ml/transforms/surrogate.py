"""surrogate: consistent, realistic fake values chosen by HMAC(key, value).

Each kind is a template of pool picks and digit runs; every pick uses its own 48-bit slice of the
value's HMAC, so one input always maps to one fake (across files and runs) and a different key
changes the mapping. It all runs as native Polars expressions (no Python per row).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache

import polars as pl

from anonymizer_ml.policy.models import SurrogateRule
from anonymizer_ml.transforms.base import BuildContext, Transform, TransformSpec, as_text, need
from anonymizer_ml.transforms.keyed import HEX_DIGITS, hmac_hex, hmac_slice_int
from anonymizer_ml.transforms.surrogate_pools import FAKER_VERSION, pool


@cache
def _pool_series(pool_name: str, lower: bool) -> pl.Series:
    """A pool as a Series, lower-cased by Polars itself when asked (the same strings that
    lower-casing each pick gave, without a pass per row)."""
    values = pl.Series(pool_name, pool(pool_name), dtype=pl.String)
    return values.str.to_lowercase() if lower else values


def _pick(mac: pl.Expr, index: int, pool_name: str, *, lower: bool = False) -> pl.Expr:
    # A gather from a literal pool streams in bounded memory; replace_strict with the same
    # mapping was measured at about 3x the peak memory per pick.
    values = _pool_series(pool_name, lower)
    position = hmac_slice_int(mac, index) % len(values)
    return pl.lit(values).gather(position)


@cache
def _digit_strings(width: int, low: int) -> pl.Series:
    """Every number in [low, 10**width) as ``width`` zero-padded digits, in order."""
    frame = pl.select(pl.int_range(low, 10**width, dtype=pl.Int64).cast(pl.String).str.zfill(width))
    return frame.to_series()


def _digits(mac: pl.Expr, index: int, width: int, low: int = 0) -> pl.Expr:
    # A gather from the padded strings: formatting each number was measured at 1.3x the cost.
    strings = _digit_strings(width, low)
    return pl.lit(strings).gather(hmac_slice_int(mac, index) % len(strings))


def _number(mac: pl.Expr, index: int, low: int, high: int) -> pl.Expr:
    """A decimal number in [low, high] without leading zeros."""
    return (hmac_slice_int(mac, index) % (high - low + 1) + low).cast(pl.String)


def _street(mac: pl.Expr) -> pl.Expr:
    return _number(mac, 0, 1, 99_999) + pl.lit(" ") + _pick(mac, 4, "street_name")


def _email_part(mac: pl.Expr, index: int, pool_name: str) -> pl.Expr:
    return _pick(mac, index, pool_name, lower=True)


def _name(m: pl.Expr) -> pl.Expr:
    return _pick(m, 0, "first_name") + pl.lit(" ") + _pick(m, 1, "last_name")


def _email(m: pl.Expr) -> pl.Expr:
    local = _email_part(m, 0, "first_name") + pl.lit(".") + _email_part(m, 1, "last_name")
    return local + _digits(m, 2, 2) + pl.lit("@") + _pick(m, 3, "email_domain")


def _user_name(m: pl.Expr) -> pl.Expr:
    local = _email_part(m, 0, "first_name") + pl.lit("_") + _email_part(m, 1, "last_name")
    return local + _digits(m, 2, 3)


def _phone(m: pl.Expr) -> pl.Expr:
    return pl.lit("(") + _number(m, 0, 200, 999) + pl.lit(") 555-") + _digits(m, 1, 4)


def _address(m: pl.Expr) -> pl.Expr:
    street, city = _street(m), _pick(m, 1, "city")
    state, zipcode = _pick(m, 2, "state_abbr"), _digits(m, 3, 5, low=1000)
    return street + pl.lit(", ") + city + pl.lit(", ") + state + pl.lit(" ") + zipcode


def _ssn(m: pl.Expr) -> pl.Expr:
    # Area numbers 900-999 are never issued, so a surrogate SSN cannot be a real person's.
    area = pl.lit("9") + _digits(m, 0, 2)
    return area + pl.lit("-") + _digits(m, 1, 2, low=1) + pl.lit("-") + _digits(m, 2, 4, low=1)


KINDS: dict[str, Callable[[pl.Expr], pl.Expr]] = {
    "name": _name,
    "first_name": lambda m: _pick(m, 0, "first_name"),
    "last_name": lambda m: _pick(m, 1, "last_name"),
    "email": _email,
    "user_name": _user_name,
    "phone": _phone,
    "street_address": _street,
    "address": _address,
    "city": lambda m: _pick(m, 1, "city"),
    "zipcode": lambda m: _digits(m, 3, 5, low=1000),
    "company": lambda m: _pick(m, 0, "company"),
    "country": lambda m: _pick(m, 0, "country"),
    "ssn": _ssn,
}
# Kinds whose every fake is lower-case already: the never-equal check lower-cases the input only.
LOWER_CASE_KINDS = frozenset({"email", "user_name", "phone", "zipcode", "ssn"})


def fake_values(kind: str, macs: pl.Series) -> pl.Series:
    """The fake of ``kind`` drawn from each hex MAC of ``macs`` (each MAC read as a column)."""
    return pl.DataFrame({"mac": macs}).select(KINDS[kind](pl.col("mac"))).to_series()


class Surrogate(Transform[SurrogateRule]):
    """Replace each value with a fake of the rule's kind, fixed by the value's keyed HMAC."""

    spec = TransformSpec("surrogate", f"1+faker{FAKER_VERSION}", True, True, False, True, False)

    def key_purpose(self, rule: SurrogateRule) -> str:
        """Surrogates use the keyset key named by the rule (``surrogate`` by default)."""
        return rule.key

    def check(
        self, rule: SurrogateRule, column: str, dtype: pl.DataType, schema: pl.Schema
    ) -> list[str]:
        """Any scalar, non-binary column can be replaced by surrogates (the output is text)."""
        return need(
            not dtype.is_nested() and dtype != pl.Binary,
            column,
            f"cannot surrogate a {dtype} column",
        )

    def expression(self, rule: SurrogateRule, ctx: BuildContext) -> pl.Expr:
        """The kind's template over the value's HMAC; nulls stay null.

        A fake that happens to equal its own input (ignoring case) is replaced by the fake drawn
        from the MAC rotated by half its length (independent slices), so a surrogate never
        reproduces the value it replaces (unless both draws do, about 1 in the pool size squared).
        The second draw reads the MAC only where the first hit its input (null elsewhere), so
        it costs next to nothing for the other rows. The MAC, the first draw and the MACs of
        the hits are staged (``BuildContext.stage``): each is computed once per value.
        """
        key = ctx.key(rule.key, "surrogate")
        text = as_text(pl.col(ctx.column), ctx.dtype)
        template = KINDS[rule.kind]
        mac = ctx.stage(hmac_hex(text, key))
        first = ctx.stage(template(mac))
        folded = first if rule.kind in LOWER_CASE_KINDS else first.str.to_lowercase()
        again = ctx.stage(pl.when(folded == text.str.to_lowercase()).then(mac))
        rotated = again.str.slice(HEX_DIGITS // 2) + again.str.slice(0, HEX_DIGITS // 2)
        return pl.coalesce(template(rotated), first)
