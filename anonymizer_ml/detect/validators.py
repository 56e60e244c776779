"""Checksums and plausibility checks, run only on regex candidates (never on every row)."""

from __future__ import annotations

import functools
import ipaddress
import itertools
import re

import phonenumbers

_DIGITS = re.compile(r"\D")
_SPACE = re.compile(r"\s")


def luhn_ok(text: str) -> bool:
    """Payment card numbers: 13-19 digits passing the Luhn checksum."""
    digits = _DIGITS.sub("", text)
    if not 13 <= len(digits) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


_CARD_BRANDS: tuple[tuple[str, tuple[int, ...]], ...] = (
    (r"4", (13, 16, 19)),  # Visa
    (r"5[1-5]|2(?:2[2-9]|[3-6]\d|7[01]|720)", (16,)),  # Mastercard
    (r"3[47]", (15,)),  # American Express
    (r"6(?:011|5|4[4-9])", (16, 17, 18, 19)),  # Discover
    (r"35", (16, 17, 18, 19)),  # JCB
    (r"2131|1800", (15,)),  # JCB, 15-digit
    (r"3(?:0[0-5]|[689])", (14, 15, 16, 17, 18, 19)),  # Diners Club
)


_CARD_PREFIXES = tuple((re.compile(prefix), lengths) for prefix, lengths in _CARD_BRANDS)


def card_ok(text: str) -> bool:
    """A card number: a known issuer prefix, that issuer's length, and the Luhn checksum."""
    digits = _DIGITS.sub("", text)
    brand_fits = any(
        len(digits) in lengths and prefix.match(digits) for prefix, lengths in _CARD_PREFIXES
    )
    return brand_fits and luhn_ok(digits)


def iban_ok(text: str) -> bool:
    """IBAN: country code, check digits, and the ISO 13616 mod-97 check. ASCII only: Python's
    case-blind regex also matches letters like "İ" and the Kelvin sign "K" for I and K."""
    compact = _SPACE.sub("", text).upper()
    if not (15 <= len(compact) <= 34 and compact.isascii() and compact[:2].isalpha()):
        return False
    rearranged = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rearranged)
    return int(number) % 97 == 1


def ssn_ok(text: str) -> bool:
    """US SSN: area not 000, 666 or 9xx; group not 00; serial not 0000; not all one digit."""
    digits = _DIGITS.sub("", text)
    if len(digits) != 9 or len(set(digits)) == 1:
        return False
    area, group, serial = digits[:3], digits[3:5], digits[5:]
    return area not in ("000", "666") and area[0] != "9" and group != "00" and serial != "0000"


# (+1|1|001 and a separator, optional) NXX NXX XXXX, grouped 3-3-4 as people write them.
_NANP_SHAPE = re.compile(r"^(?:(?:\+1|1)[ .\-]?)?\(?\d{3}\)?[ .\-]?\d{3}[ .\-]\d{4}(?:\D|$)")


# Regions tried, after the default one, for national numbers (those starting with a 0).
PHONE_REGIONS = ("GB", "DE", "FR", "IT", "ES", "NL", "BE", "CH", "SE", "FI", "AU", "IN", "BR")


@functools.lru_cache(maxsize=65_536)
def phone_ok(text: str, region: str = "US") -> bool:
    """A number ``phonenumbers`` accepts as valid (in ``region`` or a common one), or NANP-shaped.

    ``00`` is read as the international prefix. A North American number whose area code and
    exchange both start with 2-9 is accepted even when its area code is unassigned: missing a
    phone number leaks it, and made-up numbers in real text still reach real people.
    """
    number = "+" + text.strip()[2:] if text.strip().startswith("00") else text
    digits = _DIGITS.sub("", number.split("x")[0].split("ext")[0])
    if not 7 <= len(digits) <= 15:  # cheaper than parsing: no phone number has fewer or more
        return False
    if _NANP_SHAPE.match(number.strip()):
        national = digits[-10:]
        if national[0] > "1" < national[3] and len(digits) in (10, 11):
            return len(digits) == 10 or digits[0] == "1"
    international = number.strip().startswith("+")
    # National numbers elsewhere start with the trunk prefix 0; without it, only ``region``.
    trunk = number.strip().lstrip("(").startswith("0")
    regions = (None,) if international else (region, *(PHONE_REGIONS if trunk else ()))
    for where in regions:
        if where is not None and not _may_be_valid_in(where, digits):
            continue
        try:
            candidate = phonenumbers.parse(number, where)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(candidate):
            return True
    return False


def _may_be_valid_in(region: str, digits: str) -> bool:
    """Whether a national number written with ``digits`` can be valid in ``region``: after the
    prefixes parsing may strip (national prefix, country code, national prefix), the rest has
    the shape every valid number there has (the region's general pattern) — or it starts with
    the international dialling prefix. A parse costs about 30 µs; most candidates (dates, ids,
    card numbers, another country's numbers) fail this first."""
    rule = _shape_rule(region)
    if rule is None:
        return True
    shape, leads, dialling = rule
    if dialling is not None and dialling.match(digits):
        return True
    return any(digits.startswith(lead) and shape.fullmatch(digits, len(lead)) for lead in leads)


@functools.cache
def _shape_rule(
    region: str,
) -> tuple[re.Pattern[str], tuple[str, ...], re.Pattern[str] | None] | None:
    """``region``'s general number pattern (a valid number matches it), the prefixes that
    parsing may strip and its international dialling prefix; None where parsing rewrites
    numbers by a rule (carrier codes in Brazil, a prefix pattern in Australia), so only a parse
    can tell."""
    meta = phonenumbers.PhoneMetadata.metadata_for_region(region)
    if meta is None or meta.general_desc is None or not meta.general_desc.national_number_pattern:
        return None
    # National prefixes: none, one, or a choice of fixed ones (Britain: "0|180020").
    nationals = (meta.national_prefix_for_parsing or meta.national_prefix or "").split("|")
    if meta.national_prefix_transform_rule or not all(n.isdigit() for n in nationals if n):
        return None
    country = str(meta.country_code)
    # Parsing may strip a national prefix, then the country code, then the national prefix —
    # once or, as leading zeros of the national number, twice ("49 00 201…" in Germany).
    optional = (("", *nationals), ("", country), ("", *nationals), ("", *nationals))
    leads = tuple(dict.fromkeys("".join(parts) for parts in itertools.product(*optional)))
    dialling = re.compile(meta.international_prefix) if meta.international_prefix else None
    return re.compile(meta.general_desc.national_number_pattern), leads, dialling


def phone_shaped(text: str) -> bool:
    """Seven to fifteen digits (extension aside): what a phone number next to its label holds."""
    return 7 <= len(_DIGITS.sub("", re.split(r"(?i)x|ext", text)[0])) <= 15


def ip_ok(text: str) -> bool:
    """A syntactically valid IPv4 or IPv6 address."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


_DETERMINERS = frozenset({"The", "A", "An", "This", "That", "These", "Its", "Our", "Their", "Both"})


def institution_ok(name: str) -> bool:
    """An institution's name says which one: a word of its own before the head word ("District
    Court", "Police Department") or an "of …" part ("Ministry of Justice") — not "the Court"."""
    words = name.split()
    while words and words[0] in _DETERMINERS:
        words = words[1:]
    return len(words) >= 2
