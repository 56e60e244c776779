"""Settings of Polars' streaming engine for the runs that sink whole files.

Polars decodes several Parquet row groups ahead of the rest of the query. Behind a copy that
costs little, but behind a slower step (an HMAC, a surrogate, a cipher) the decoded row groups
pile up: on a 6 M-row file, one ``hash_token`` column and one kept text column peaked at 634 MiB
(1,121 MiB with every other column kept) against 447 MiB for a plain copy. With one row group
prefetched the first peaked at 298 MiB, and on 2 cores the wall time was within noise (the
decode of one row group is itself spread over the threads).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

PREFETCH_VARIABLE = "POLARS_ROW_GROUP_PREFETCH_SIZE"
PREFETCH_ROW_GROUPS = "1"

_LOCK = threading.Lock()
_HOLDERS: list[object] = []  # one entry per block that set the variable and still runs


@contextmanager
def bounded_prefetch() -> Iterator[None]:
    """Run the queries built and sunk inside with one row group decoded ahead.

    Polars reads the variable when a query starts, so it is set for the block only and the
    previous state comes back afterwards. A value the user set is left as it is.
    """
    holder = object()
    with _LOCK:
        owned = bool(_HOLDERS) or PREFETCH_VARIABLE not in os.environ
        if owned:
            os.environ[PREFETCH_VARIABLE] = PREFETCH_ROW_GROUPS
            _HOLDERS.append(holder)
    try:
        yield
    finally:
        if owned:
            with _LOCK:
                _HOLDERS.remove(holder)
                if not _HOLDERS:
                    os.environ.pop(PREFETCH_VARIABLE, None)
