"""The crypto pool's worker process: reads (kernel, job, array), answers (ok, result).

Started by ``anonymizer_ml.crypto.pool`` as ``python -c`` with this package on its path; it serves
one request at a time until its stdin closes (the parent exited or stopped the pool).
"""

from __future__ import annotations

import sys
from typing import cast

from anonymizer_ml.crypto.pool import KERNELS, receive, send


def main() -> None:
    """Serve requests on stdin/stdout until stdin closes."""
    requests, replies = sys.stdin.buffer, sys.stdout.buffer
    while True:
        try:
            kernel, job, values = cast(tuple[str, object, object], receive(requests))
        except EOFError:
            return
        try:
            reply: tuple[bool, object] = (True, KERNELS[kernel](job, values))
        except Exception as error:
            reply = (False, error)
        send(replies, reply)


if __name__ == "__main__":
    main()
