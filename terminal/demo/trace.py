"""Demo traceability codes: what the demo scanner types for a drug's package (trace-codes.md).

Fresh 20-digit codes with the common issuer's 8 prefix, random so that no two demo runs (or two
demo terminals of one institution) type the same package twice.
"""

from __future__ import annotations

import secrets

__all__ = ["fresh_demo_trace_code"]


def fresh_demo_trace_code() -> str:
    """A new 20-digit code: `8` and 19 random digits."""
    return f"8{secrets.randbelow(10**19):019d}"
