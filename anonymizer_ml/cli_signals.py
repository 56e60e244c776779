"""SIGTERM, SIGHUP and SIGINT end a command cleanly, even while Polars is busy in native code.

Python runs a signal handler only between bytecodes, and a streaming sink can stay in Rust for
minutes: ``docker stop`` would SIGKILL us after ten seconds with a temporary file left behind.
So the signal's C-level handler only writes its number to a wakeup pipe, and a watcher thread
blocked on that pipe removes the registered temporary files (waiting for a commit in progress
to finish its renames), prints one line and exits with 128 + the signal number.
"""

from __future__ import annotations

import os
import signal
import threading

from anonymizer_ml import pending

HANDLED = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def _ignore(signum: int, frame: object) -> None:
    """The Python-level handler does nothing: the watcher thread acts on the wakeup byte."""


def _watch(read_fd: int) -> None:
    while True:
        data = os.read(read_fd, 1)
        if data and data[0] in {int(s) for s in HANDLED}:
            break
    signum = data[0]
    removed = pending.remove_all()
    name = signal.Signals(signum).name
    cleaned = f"{removed} temporary file(s) removed" if removed else "no temporary file left"
    line = f"error: stopped by {name}; {cleaned}, no output was half-written\n"
    os.write(2, line.encode())
    os._exit(128 + signum)


def _defaults_in_child() -> None:
    """A forked worker (spaCy's, multiprocessing's) has no watcher: give it the usual handlers,
    or it would ignore the SIGTERM its pool sends to stop it."""
    signal.set_wakeup_fd(-1)
    for signum in HANDLED:
        default = signal.default_int_handler if signum == signal.SIGINT else signal.SIG_DFL
        signal.signal(signum, default)


def exit_cleanly_on_signals() -> None:
    """Install the watcher (main thread only; call once, before any work starts)."""
    os.register_at_fork(after_in_child=_defaults_in_child)
    read_fd, write_fd = os.pipe()
    os.set_blocking(write_fd, False)
    signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
    for signum in HANDLED:
        signal.signal(signum, _ignore)
    threading.Thread(target=_watch, args=(read_fd,), name="signal-watcher", daemon=True).start()
