"""kill -9 a process that prints one JSON object per committed sale, at a random moment after its
first line, and read back what it printed (the kill -9 tests of the commit path)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import time
from typing import Any

__all__ = ["kill_while_printing"]


def kill_while_printing(
    proc: subprocess.Popen[bytes], rng: random.Random, max_wait_s: float
) -> list[dict[str, Any]]:
    """Wait for `proc`'s first line (it is committing now), SIGKILL it within `max_wait_s`, and
    return every whole JSON line it printed; the last may be cut by the kill and is left out."""
    assert proc.stdout is not None
    first = proc.stdout.readline()
    assert first, "the process printed nothing before the kill"
    time.sleep(rng.uniform(0.0, max_wait_s))
    os.kill(proc.pid, signal.SIGKILL)
    rest = proc.stdout.read()
    proc.stdout.close()
    proc.wait()
    printed = []
    for line in (first + rest).decode().splitlines():
        try:
            printed.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # cut by the kill: it was not fully printed
    return printed
