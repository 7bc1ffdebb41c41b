"""`make bench`: run every benchmark module, each printing its figures and ratios.

Each benchmark measures its own baseline in the same run (raw sqlite3 commit, raw pyscard
transmit, raw pyzbar decode, raw signature verification, …) and prints ratios against it, so a
slow or busy machine moves both sides. `python -m bench core qr` runs only those; options after
the names go to each of them (`python -m bench fleet --only processes`).
"""

from __future__ import annotations

import importlib
import sys
import time

MODULES = (
    "core",
    "card",
    "ecard",
    "qr",
    "sync",
    "bundle",
    "ui",
    "trace",
    "trace_hub",
    "his",
    "fleet",
)


def main(argv: list[str]) -> int:
    split = next((i for i, arg in enumerate(argv) if arg.startswith("-")), len(argv))
    chosen, options = argv[:split] or list(MODULES), argv[split:]
    failed = []
    for name in chosen:
        try:
            module = importlib.import_module(f"bench.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"bench.{name}":
                print(f"== bench.{name}: not present")
                continue
            raise
        print(f"== bench.{name}", flush=True)
        started = time.perf_counter()
        code = module.main(options)
        print(f"== bench.{name}: {time.perf_counter() - started:.1f} s, exit {code}", flush=True)
        if code:
            failed.append(name)
    if failed:
        print(f"benchmarks that missed a target or failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
