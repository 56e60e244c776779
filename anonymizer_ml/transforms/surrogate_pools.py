"""Value pools for surrogates, built once from Faker's en_US data with a fixed seed.

Pools are deduplicated and sorted so that a surrogate depends only on the key, the input value
and the pool contents — which are fixed for a given Faker release (recorded in the transform
version). Emails use the reserved example.* domains and phones the fictional 555 exchange, so a
surrogate can never reach a real mailbox or line.
"""

from __future__ import annotations

from functools import cache

import faker
from faker import Faker
from faker.providers.address.en_US import Provider as AddressProvider
from faker.providers.person.en_US import Provider as PersonProvider

POOL_SEED = 20_261_122
GENERATED_POOL_SIZE = 4_000
EMAIL_DOMAINS: tuple[str, ...] = ("example.com", "example.net", "example.org")
FAKER_VERSION: str = faker.VERSION


def _sorted_unique(values: list[str]) -> tuple[str, ...]:
    return tuple(sorted(set(values)))


def _generated(method: str) -> tuple[str, ...]:
    fake = Faker("en_US")
    fake.seed_instance(POOL_SEED)
    make = getattr(fake, method)
    return _sorted_unique([str(make()) for _ in range(GENERATED_POOL_SIZE)])


@cache
def pool(name: str) -> tuple[str, ...]:
    """The pool called ``name`` (first_name, last_name, street_name, city, …)."""
    builders = {
        "first_name": lambda: _sorted_unique(list(PersonProvider.first_names)),
        "last_name": lambda: _sorted_unique(list(PersonProvider.last_names)),
        "state_abbr": lambda: _sorted_unique(list(AddressProvider.states_abbr)),
        "country": lambda: _sorted_unique(list(AddressProvider.countries)),
        "email_domain": lambda: EMAIL_DOMAINS,
        "street_name": lambda: _generated("street_name"),
        "city": lambda: _generated("city"),
        "company": lambda: _generated("company"),
    }
    try:
        return builders[name]()
    except KeyError:
        raise ValueError(f"unknown surrogate pool {name!r}") from None
