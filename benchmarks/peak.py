"""Run a Python module (``-m``) or code (``-c``) and record its own peak RSS.

Usage: python -m benchmarks.peak OUT_FILE (-m MODULE | -c CODE) [ARGS...]

Why not ``wait4``/``getrusage``: Linux seeds a child's ``ru_maxrss`` with its parent's RSS at
exec time, so a large parent (a test runner, a generator) inflates every child's figure. The
``VmHWM`` line of ``/proc/self/status`` belongs to the exec'd program alone.
"""

from __future__ import annotations

import runpy
import sys
from pathlib import Path


def vm_hwm_kib() -> int:
    """This process's peak resident set size in KiB (Linux)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("VmHWM not available (not Linux?)")


def main() -> None:
    out, mode, target, *args = sys.argv[1:]
    code = 0
    try:
        if mode == "-m":
            sys.argv = [target, *args]
            runpy.run_module(target, run_name="__main__", alter_sys=True)
        else:
            sys.argv = ["-c", *args]
            exec(compile(target, "<benchmark>", "exec"), {"__name__": "__main__"})
    except SystemExit as exit_:
        code = exit_.code if isinstance(exit_.code, int) else (0 if exit_.code is None else 1)
    Path(out).write_text(str(vm_hwm_kib()))
    sys.exit(code)


if __name__ == "__main__":
    main()
